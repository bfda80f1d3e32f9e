# seed: the seed's experiment. FineWeb-Edu sample-10BT from the Hub, the
# length and dedup rules, Gemma 3's 262k tokenizer, the 0.42B Gemma 3
# `seed` preset (d 768, 26 layers, 12 query / 3 KV heads, head dim 64, ff
# 3072) for 20,000 steps of 0.5M tokens, then validation loss and
# perplexity and zero-shot PIQA, HellaSwag and ARC-Easy on the full sets.
# The training documents that hold one of their items are dropped.
# A short burst before training prints the budget and the hours it needs.
# Gemma 3's tokenizer.json: the test data's copy, or TOKENIZER=PATH.
DATASET      = HuggingFaceFW/fineweb-edu
CONFIG       = sample-10BT
FILTER       = --min-chars 300 --dedup
TOKENIZER    = $(SHARED)/fixtures/tokenizers/gemma3/tokenizer.json
SHARD_OPTS   = --val-fraction 0.005
MODEL        = seed
TOKENS       = 1.048576e10
BATCH_TOKENS = 524288
SEQ          = 1024
LR           = 3e-4
WARMUP       = 1000
EVAL_EVERY   = 500
EVAL_TOKENS  = 4M
SAVE_EVERY   = 1000
BURST_STEPS  = 5
TASKS        = piqa,hellaswag,arc_easy
EVAL_SETS    = piqa,hellaswag,arc_easy
# training documents that hold an item of TASKS are dropped (the sets are
# fetched before filtering); DECONTAMINATE= keeps them
DECONTAMINATE = $(call in_eval_dir,$(TASKS))
