# demo: the whole chain on the test data in ../shared, sized for 2 CPU cores
# (a few minutes; the GPU when there is one). FineWeb-Edu's two fixture
# files, fetched through a Hub mirror on 127.0.0.1 -> filtered -> our own
# 4096-token BPE -> shards -> a tiny Gemma 3 (1.3M parameters) trained from
# scratch -> perplexity and zero-shot PIQA, HellaSwag, ARC-Easy (200 items
# each) -> report. `make demo` runs it.
HUB_MIRROR   = $(SHARED)/fixtures/fineweb-edu
FETCH_CACHE  = $(RUN_DIR)/cache
FILTER       = --min-chars 300 --dedup
TOKENIZER    = bpe:4096
SHARD_OPTS   = --tokens-per-shard 4M --val-fraction 0.02
MODEL        = tiny
TOKENS       = 122880
BATCH_TOKENS = 2048
SEQ          = 128
LR           = 3e-3
WARMUP       = 10
EVAL_EVERY   = 20
EVAL_TOKENS  = 16384
SAVE_EVERY   = 20
E = $(SHARED)/fixtures/eval
TASKS        = piqa=$(E)/piqa,hellaswag=$(E)/hellaswag/hellaswag_val_full.txt.bz2,arc_easy=$(E)/arc_easy
# training documents that hold an item of these sets are dropped
DECONTAMINATE = $(TASKS)
EVAL_SETS    =
TASK_OPTS    = --limit 200
PPL_OPTS     = --max-tokens 32k
