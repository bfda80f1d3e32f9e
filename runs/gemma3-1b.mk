# gemma3-1b: Gemma 3 1B's shapes (the gemma3-1b preset, its 262k tokenizer)
# trained from scratch on FineWeb-Edu sample-10BT for 20B tokens.
# Gemma 3's tokenizer.json: the test data's copy, or TOKENIZER=PATH.
DATASET      = HuggingFaceFW/fineweb-edu
CONFIG       = sample-10BT
TOKENIZER    = $(SHARED)/fixtures/tokenizers/gemma3/tokenizer.json
MODEL        = gemma3-1b
TOKENS       = 2e10
BATCH_TOKENS = 1048576
SEQ          = 2048
LR           = 3e-4
WARMUP       = 1000
EVAL_EVERY   = 500
EVAL_TOKENS  = 4M
SAVE_EVERY   = 500
BURST_STEPS  = 3
# Training documents that hold an item of TASKS are dropped (DECONTAMINATE,
# default: TASKS; the sets are fetched before filtering).
