# small: the 129M `small` Gemma 3 preset on the first 2 files of FineWeb-Edu
# sample-10BT with our own 32k BPE, 1B tokens; a run that fits a few GPU
# hours. Eval: PIQA, HellaSwag, ARC-Easy, full sets.
DATASET      = HuggingFaceFW/fineweb-edu
CONFIG       = sample-10BT
FILES        = 2
TOKENIZER    = bpe:32768
TOKENIZER_SAMPLE = 1
MODEL        = small
TOKENS       = 1e9
BATCH_TOKENS = 524288
SEQ          = 1024
LR           = 1e-3
WARMUP       = 200
EVAL_EVERY   = 200
EVAL_TOKENS  = 2M
SAVE_EVERY   = 500
BURST_STEPS  = 5
# Training documents that hold an item of TASKS are dropped (DECONTAMINATE,
# default: TASKS; the sets are fetched before filtering).
