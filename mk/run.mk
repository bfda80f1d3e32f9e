# run.mk - `make run RUN=NAME`: one experiment from parquet to a report,
# each stage a file under RUN_DIR, included by the top Makefile for the run
# targets only. The run's settings come from runs/NAME.mk; any of them can
# be overridden on the command line (make run RUN=seed TOKENS=2e9).
#
# Every stage writes its exact command line into RUN_DIR/settings/STAGE
# when it differs from what is there: that file is the stage's
# prerequisite, so a changed setting redoes that stage and those after it,
# and nothing else. mk/stage.sh runs each
# command and records it with its wall time in RUN_DIR/repro/.
# A stage that is redone replaces its outputs: its tools get -f.

RUN_FILE := runs/$(RUN).mk
ifeq ($(wildcard $(RUN_FILE)),)
$(error RUN=$(RUN): no $(RUN_FILE); the runs are: $(basename $(notdir $(wildcard runs/*.mk))))
endif

# ---- defaults: a run file sets what it needs ----
# the test data: $BONSAI_SHARED, as for the tests, else ../shared
SHARED      ?= $(or $(BONSAI_SHARED),../shared)
RUN_DIR     ?= runs-out/$(RUN)
# the data: a Hub dataset (DATASET, CONFIG, REVISION; the first FILES of its
# parquet files, all when empty) or local parquet files (PARQUET)
DATASET     ?= HuggingFaceFW/fineweb-edu
CONFIG      ?= sample-10BT
REVISION    ?= main
FILES       ?=
PARQUET     ?=
COLUMNS     ?= id,url,text,score,int_score,language_score
FETCH_CACHE ?=
# a folder laid out as the Hub's files of DATASET, served on 127.0.0.1
# through HF_ENDPOINT while fetching (mk/hub-mirror.sh); empty: the real Hub
HUB_MIRROR  ?=
# bonsai-filter's rules, applied to each parquet file's documents
FILTER      ?= --min-chars 300 --dedup
# the benchmarks whose items the filter drops documents for (bonsai-filter
# --decontaminate, its SETS): by default the eval TASKS, names alone in
# EVAL_DIR, after fetching EVAL_SETS; empty: no decontamination
DECONTAMINATE ?= $(call in_eval_dir,$(TASKS))
# bpe:SIZE trains our BPE on the first TOKENIZER_SAMPLE filtered files (all
# when empty); anything else is a tokenizer.json or .tiktoken path
TOKENIZER   ?= bpe:32768
TOKENIZER_SAMPLE ?=
ENCODE_OPTS ?=
SHARD_OPTS  ?= --val-fraction 0.005
# training: TOKENS is the budget, STEPS = TOKENS / BATCH_TOKENS unless set
# (mk/numbers.awk, which refuses what is not a number of tokens)
MODEL       ?= seed
TOKENS      ?= 1e9
BATCH_TOKENS ?= 524288
SEQ         ?= 1024
MICRO_BATCH ?=
LR          ?= 3e-4
MIN_LR_RATIO ?= 0.1
WARMUP      ?= 1000
SCHEDULE    ?= cosine
SEED        ?= 1
EVAL_EVERY  ?= 500
EVAL_TOKENS ?= 1M
SAVE_EVERY  ?= 1000
TRAIN_OPTS  ?=
# processes on this host, one a GPU (bonsai-train --gpus; with DEVICE=cpu,
# CPU processes); empty: one
GPUS        ?=
# steps measured before training to print the estimated hours (0: none)
BURST_STEPS ?= 0
# seconds a make run waits for its folder's lock when the make that held it
# has ended (killed) and its other processes have not yet let go of it
LOCK_WAIT   ?= 60
# cpu or cuda; default: $BONSAI_DEVICE, else cuda when built with it and a GPU answers
DEVICE      ?= $(or $(BONSAI_DEVICE),$(if $(and $(HAVE_CUDA),$(shell nvidia-smi -L 2>/dev/null)),cuda,cpu))
# evaluation: perplexity on the val shards, then zero-shot TASKS (bonsai-eval
# tasks' LIST); EVAL_SETS are fetched first with bonsai-fetch --eval
PPL_SEQ     ?= $(SEQ)
PPL_OPTS    ?=
TASKS       ?= piqa,hellaswag,arc_easy
EVAL_SETS   ?= piqa,hellaswag,arc_easy
EVAL_DIR    ?=
TASK_OPTS   ?=
# peak dense bf16 FLOP/s of one GPU for the MFU (empty: from its name)
PEAK_FLOPS  ?=

include $(RUN_FILE)

# OpenMP threads sleep at barriers instead of spinning: much faster on a
# busy machine (bonsai-train(1), ENVIRONMENT).
export OMP_WAIT_POLICY ?= passive

# LIST with each task named alone (not NAME=PATH or a .jsonl file) as
# NAME=EVAL_DIR/NAME when EVAL_DIR is set, so the filter reads the sets the
# eval reads.
comma := ,
empty :=
space := $(empty) $(empty)
in_eval_dir = $(if $(EVAL_DIR),$(subst $(space),$(comma),$(foreach t,$(subst $(comma),$(space),$(1)),$(if $(or $(findstring =,$(t)),$(filter %.jsonl,$(t))),$(t),$(t)=$(EVAL_DIR)/$(t)))),$(1))

# counts a typo would turn into another run without a word (FILES=abc
# lists every file, BURST_STEPS=abc measures none)
whole = $(if $(shell printf '%s' '$($(1))' | grep -x '[0-9][0-9]*'),,$(error $(1)=$($(1)) is not a whole number$(2)))
$(if $(FILES),$(call whole,FILES, of files (empty: all of them)))
$(if $(filter 0,$(FILES)),$(error FILES=0 names no file (empty: all of them)))
$(call whole,BURST_STEPS)
# the burst's rate leaves out its first step (its time holds the start-up)
$(if $(filter 1,$(BURST_STEPS)),$(error BURST_STEPS=1 times no step after the first, whose time holds the start-up: 0 for no burst, or 2 and more))
# in_range TEXT MIN MAX [whole]: TEXT is a number (mk/numbers.awk) from MIN
# to MAX
in_range = $(shell awk -v range=1 -v s='$(1)' -v min=$(2) -v max=$(3) -v whole=$(4) -f mk/numbers.awk && echo 1)
$(if $(PEAK_FLOPS),$(if $(call in_range,$(PEAK_FLOPS),1,1e30),,$(error PEAK_FLOPS=$(PEAK_FLOPS) is not a number of FLOP/s (such as 989e12))))
$(if $(TOKENIZER_SAMPLE),$(call whole,TOKENIZER_SAMPLE, of files (empty: all of them)))
# a TOKENIZER that names nothing stopped the run only after the fetch and
# the filter
ifneq ($(filter bpe:%,$(TOKENIZER)),)
$(if $(call in_range,$(TOKENIZER:bpe:%=%),257,16777216,1),,$(error TOKENIZER=$(TOKENIZER): bpe:SIZE wants a vocabulary size from 257 to 16M, such as bpe:32768))
endif
$(if $(GPUS),$(call whole,GPUS, of processes (empty: one)))
$(if $(filter 0,$(GPUS)),$(error GPUS=0 names no process (empty: one)))
ifeq ($(origin STEPS),undefined)
STEPS := $(shell awk -v tokens='$(TOKENS)' -v batch='$(BATCH_TOKENS)' -f mk/numbers.awk)
$(if $(filter bad:,$(firstword $(STEPS))),$(error $(wordlist 2,$(words $(STEPS)),$(STEPS))))
endif

D := $(RUN_DIR)
# make splits file names at spaces: a run cannot live, or read its data,
# under a path that has one
$(foreach v,RUN_DIR SHARED,$(if $(word 2,$($(v))),$(error $(v) "$($(v))" has a space in it, which make cannot handle in file names: pick a folder without one)))
# One make run at a time in a run folder (two would remove each other's
# temporary files and write the same outputs): the make that was started
# runs its goals in a make of its own that holds the folder's lock
# (mk/runlock.sh), and a second make run of the folder is refused. Only a
# make that holds it makes a stage, files.mk included; a dry run (make -n,
# -q) writes nothing and takes no lock.
dry_run := $(strip $(foreach f,n q,$(findstring $(f),$(filter-out --%,$(firstword -$(MAKEFLAGS))))))
locked := $(or $(dry_run),$(filter $(abspath $(D)),$(BONSAI_RUN_LOCK)))
STAGE = sh mk/stage.sh $(D)
# a stage whose command's standard output is its target
STAGE_OUT = sh mk/stage.sh -o $(D)
SERVE = $(if $(and $(HUB_MIRROR),$(if $(PARQUET),,1)),sh mk/hub-mirror.sh $(HUB_MIRROR) $(DATASET) $(CONFIG) --)

# ---- the settings stamps ----
# A stamp that differs gets a rule that is always out of date and writes
# it, run by make like any recipe: make -n and make -q then report the
# stage as to be redone without writing anything. (Written as make read
# this file, a dry run with another setting left its stamps behind, so
# the next plain make run redid those stages.) The text is quoted for the
# shell, and its $ doubled for make.
# The run's own files are written {RUN_DIR}/FILE: a run folder moved or
# copied to another RUN_DIR is up to date there (with the folder in the
# stamps, every stage was redone, training included). A stamp written
# with the folder itself, as before, is still taken.
streq = $(and $(findstring x$(1),x$(2)),$(findstring x$(2),x$(1)))
in_run = $(patsubst $(D)/%,{RUN_DIR}/%,$(1))
define stamp_rule
stamp_new_$(1) := 1
$(D)/settings/$(1): run-stamp-differs
	@mkdir -p $(D)/settings
	@printf '%s\n' '$(subst $$,$$$$,$(subst ','\'',$(1): $(call in_run,$(2))))' > $(D)/settings/$(1)
endef
stamp_is = $(call streq,$(strip $(file <$(D)/settings/$(1))),$(strip $(1): $(2)))
set_stamp = $(if $(or $(call stamp_is,$(1),$(call in_run,$(2))),$(call stamp_is,$(1),$(2))),,$(stamp_rule))
.PHONY: run-stamp-differs

FETCH_ARGS = $(if $(FETCH_CACHE),--cache $(FETCH_CACHE)) --columns $(COLUMNS)
ifneq ($(PARQUET),)
LIST_CMD :=
FETCH_CMD = bin/bonsai-fetch -q $(FETCH_ARGS)
else
LIST_CMD = bin/bonsai-fetch -q --list $(DATASET) --config $(CONFIG) --revision $(REVISION)
FETCH_CMD = bin/bonsai-fetch -q $(DATASET) --config $(CONFIG) --revision $(REVISION) $(FETCH_ARGS)
endif
$(eval $(call set_stamp,list,$(LIST_CMD) $(PARQUET) | head -n $(or $(FILES),all)))
$(eval $(call set_stamp,fetch,$(FETCH_CMD)))
FILTER_CMD = bin/bonsai-filter -q $(FILTER) $(if $(DECONTAMINATE),--decontaminate $(DECONTAMINATE))
$(eval $(call set_stamp,filter,$(FILTER_CMD)))
# A .tiktoken keeps its name, which picks the pattern of r50k_base,
# cl100k_base and o200k_base, and the .json beside it that gives another
# one its pattern (copied as tokenizer.tiktoken, r50k_base.tiktoken was
# refused: no pattern).
TOK_FILE := $(D)/tokenizer/$(if $(filter %.tiktoken,$(TOKENIZER)),$(notdir $(TOKENIZER)),tokenizer.json)
TOK_SRC := $(if $(filter bpe:%,$(TOKENIZER)),,$(TOKENIZER) $(if $(filter %.tiktoken,$(TOKENIZER)),$(wildcard $(TOKENIZER:.tiktoken=.json))))
$(eval $(call set_stamp,tokenizer,$(TOKENIZER) $(TOKENIZER_SAMPLE)))
$(eval $(call set_stamp,encode,bin/bonsai-tokenize encode -q -t $(TOK_FILE) $(ENCODE_OPTS)))
# The shard folder keeps the tokenizer (bonsai-train carries it into the
# run).
SHARD_TOK = -t $(TOK_FILE)
$(eval $(call set_stamp,shards,bin/bonsai-shard -q --force $(SHARD_OPTS) $(SHARD_TOK)))
TRAIN_CMD = bin/bonsai-train --data $(D)/shards --model $(MODEL) -o $(D)/train --steps $(STEPS) \
	--batch-tokens $(BATCH_TOKENS) --seq $(SEQ) $(if $(MICRO_BATCH),--micro-batch $(MICRO_BATCH)) \
	--lr $(LR) --min-lr-ratio $(MIN_LR_RATIO) --warmup $(WARMUP) --schedule $(SCHEDULE) \
	--seed $(SEED) --eval-every $(EVAL_EVERY) --eval-tokens $(EVAL_TOKENS) \
	--save-every $(SAVE_EVERY) --device $(DEVICE) $(if $(GPUS),--gpus $(GPUS)) $(TRAIN_OPTS)
$(eval $(call set_stamp,train,$(TRAIN_CMD)))
EVAL_SETS_CMD = bin/bonsai-fetch -q --eval $(EVAL_SETS) $(if $(EVAL_DIR),--eval-dir $(EVAL_DIR))
$(eval $(call set_stamp,evalsets,$(if $(EVAL_SETS),$(EVAL_SETS_CMD))))
PPL_CMD = bin/bonsai-eval ppl -q -m $(D)/train --data $(D)/shards --seq-len $(PPL_SEQ) \
	--device $(DEVICE) $(PPL_OPTS)
$(eval $(call set_stamp,ppl,$(PPL_CMD)))
# TASKS= empty: no zero-shot evaluation (its stamp is empty, which the
# report reads as "none asked for")
TASKS_CMD = $(if $(TASKS),bin/bonsai-eval tasks $(TASKS) -q -m $(D)/train -t $(TOK_FILE) \
	$(if $(EVAL_DIR),--eval-dir $(EVAL_DIR)) --device $(DEVICE) $(TASK_OPTS))
TASKS_JSON = $(if $(TASKS),$(D)/eval/tasks.json)
$(eval $(call set_stamp,tasks,$(TASKS_CMD)))
$(eval $(call set_stamp,report,$(PEAK_FLOPS)))

# Local inputs are looked for when their stage is to be made (its output
# missing or its setting changed), not for a finished run whose files
# have moved since: its report can still be made.
to_make = $(or $(stamp_new_$(1)),$(if $(wildcard $(2)),,1))
$(if $(call to_make,list,$(D)/files.tsv),$(foreach f,$(PARQUET),$(if $(wildcard $(f)),,$(error PARQUET: $(f): no such file))))
$(if $(and $(TOK_SRC),$(call to_make,tokenizer,$(TOK_FILE))),$(if $(wildcard $(TOKENIZER)),,$(error TOKENIZER=$(TOKENIZER): no such file (bpe:SIZE, or a tokenizer.json or .tiktoken file))))

RUN_TOOLS := $(BINS)

# A stage whose recipe fails after its tool wrote the target (the
# tokenizer's info, the shards' verify) leaves no target that looks made.
.DELETE_ON_ERROR:

# make run checks its training and evaluation commands before it fetches
# (bonsai-train --check, bonsai-eval --check): a misspelt MODEL or task, a
# batch that does not divide, or DEVICE=cuda without a GPU stops it in a
# second, not after the data is made or the model trained. The stages made
# one at a time do not ask (data may be made where no GPU is).
$(D)/repro/checks.txt: $(D)/settings/train $(D)/settings/ppl $(D)/settings/tasks | $(RUN_TOOLS)
	@mkdir -p $(dir $@)
	{ $(TRAIN_CMD) --check && $(PPL_CMD) --check $(if $(TASKS),&& $(TASKS_CMD) --check); } > $@.tmp || \
		{ rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@
CHECKS = $(if $(filter run,$(MAKECMDGOALS)),$(D)/repro/checks.txt)

# ---- the parquet files: listed once, then one target per file ----
# files.tsv: name, path (in the dataset or on disk), size, sha256. Local
# files (PARQUET) are prerequisites while they are there: one replaced is
# hashed and fetched again.
$(D)/files.tsv: $(D)/settings/list $(wildcard $(PARQUET)) | $(RUN_TOOLS)
	$(STAGE_OUT) list $@ sh mk/list-files.sh "$(FILES)" "$(PARQUET)" $(SERVE) $(LIST_CMD)
# A dry run (make -n, -q) would still remake an included makefile, and
# with it the list stage and its stamp: it is offered no rule for it, nor
# is the make that takes the run folder's lock (its own make does it).
# Its rules say $(D), not the folder, for a run moved to another RUN_DIR;
# written whole or not at all (an empty one, newer than files.tsv, was a
# run of no files).
ifneq ($(and $(locked),$(if $(dry_run),,1)),)
$(D)/files.mk: $(D)/files.tsv
	awk -F'\t' -v loc='$(if $(PARQUET),1)' -v d='$$(D)' '{ n = n " " $$1 } loc { print d "/docs/" $$1 ".jsonl: $$(wildcard " $$2 ")" } END { print "NAMES :=" n }' $< > $@.tmp
	@mv $@.tmp $@
# Included as a must: the list failing stops make there, not later with "No
# rule to make target files.tsv" (nor, files.mk failing, a run of no files).
include $(D)/files.mk
else
-include $(D)/files.mk
endif

DOCS   := $(NAMES:%=$(D)/docs/%.jsonl)
CLEAN  := $(NAMES:%=$(D)/clean/%.jsonl)
STREAMS := $(NAMES:%=$(D)/tokens/%.ts)

source_of = $(shell awk -F'\t' '$$1 == "$(1)" { print $$2 }' $(D)/files.tsv)
$(D)/docs/%.jsonl: $(D)/settings/fetch | $(D)/files.tsv $(RUN_TOOLS) $(CHECKS)
	@mkdir -p $(dir $@)
	$(STAGE) fetch $@ $(SERVE) $(FETCH_CMD) $(if $(PARQUET),$(call source_of,$*),--file $(notdir $(call source_of,$*))) -f -o $@

# With DECONTAMINATE, after the eval sets are fetched (once, before any file
# is filtered).
$(D)/clean/%.jsonl: $(D)/docs/%.jsonl $(D)/settings/filter $(if $(DECONTAMINATE),$(D)/evalsets.sha256) | $(RUN_TOOLS)
	@mkdir -p $(dir $@)
	$(STAGE) filter $@ $(FILTER_CMD) --stats $(D)/clean/$*.stats.json -f -o $@ $<

TOK_SAMPLE = $(if $(TOKENIZER_SAMPLE),$(wordlist 1,$(TOKENIZER_SAMPLE),$(CLEAN)),$(CLEAN))
# A given tokenizer is copied again when its file changes.
$(TOK_FILE): $(D)/settings/tokenizer $(if $(filter bpe:%,$(TOKENIZER)),$(TOK_SAMPLE) $(D)/files.tsv,$(wildcard $(TOK_SRC))) | $(RUN_TOOLS)
	@mkdir -p $(dir $@)
	$(if $(filter bpe:%,$(TOKENIZER)),\
	$(STAGE) tokenizer $@ bin/bonsai-tokenize train -q --vocab-size $(TOKENIZER:bpe:%=%) -f -o $@ $(TOK_SAMPLE),\
	$(if $(filter %.tiktoken,$(TOKENIZER)),\
	$(STAGE) tokenizer $@ cp -f $(TOK_SRC) $(dir $@),\
	$(STAGE) tokenizer $@ cp -f $(TOKENIZER) $@))
# A stage of its own, so that a run stopped after the tokenizer was made
# makes the info alone next time (a second line of the tokenizer's recipe
# was never made again once the tokenizer was there); a tokenizer it cannot
# read goes too (-u), not taken for made.
$(D)/tokenizer/info.json: $(TOK_FILE) | $(RUN_TOOLS)
	sh mk/stage.sh -o -u $< $(D) tokenizer $@ bin/bonsai-tokenize info $<

$(D)/tokens/%.ts: $(D)/clean/%.jsonl $(TOK_FILE) $(D)/tokenizer/info.json $(D)/settings/encode | $(RUN_TOOLS)
	@mkdir -p $(dir $@)
	$(STAGE) tokenize $@ bin/bonsai-tokenize encode -q -t $(TOK_FILE) $(ENCODE_OPTS) -f -o $@ $<

$(D)/shards/manifest: $(STREAMS) $(D)/files.tsv $(D)/settings/shards | $(RUN_TOOLS)
	$(STAGE) shards $@ bin/bonsai-shard -q --force $(SHARD_OPTS) $(SHARD_TOK) -o $(D)/shards $(STREAMS)
# The shards checked, a stage of its own as the tokenizer's info is; shards
# that fail it are made again.
$(D)/repro/shards-verify.txt: $(D)/shards/manifest | $(RUN_TOOLS)
	sh mk/stage.sh -o -u $< $(D) shards $@ bin/bonsai-shard verify $(D)/shards

# Resumes from the newest checkpoint when the settings and the shards are the
# ones it was started with; otherwise starts over (mk/train.sh).
$(D)/train/checkpoint.sha256: $(D)/shards/manifest $(D)/repro/shards-verify.txt $(D)/settings/train | $(RUN_TOOLS)
	$(STAGE) train $@ sh mk/train.sh $(D) $(BURST_STEPS) $(TRAIN_CMD)

$(D)/evalsets.sha256: $(D)/settings/evalsets | $(RUN_TOOLS) $(CHECKS)
	$(STAGE_OUT) evalsets $@ $(if $(EVAL_SETS),$(EVAL_SETS_CMD),true)

$(D)/eval/ppl.json: $(D)/train/checkpoint.sha256 $(D)/settings/ppl | $(RUN_TOOLS)
	@mkdir -p $(dir $@)
	$(STAGE) ppl $@ $(PPL_CMD) -f -o $@

$(D)/eval/tasks.json: $(D)/train/checkpoint.sha256 $(D)/evalsets.sha256 $(D)/settings/tasks | $(RUN_TOOLS)
	@mkdir -p $(dir $@)
	$(STAGE) tasks $@ $(TASKS_CMD) --samples $(D)/eval/tasks-samples.jsonl -f -o $@

# The commit, the tools' versions and the machine, when the tools change.
$(D)/repro/environment.txt: $(RUN_TOOLS)
	sh mk/environment.sh > $@.tmp
	@mv $@.tmp $@

# The plots, when the tree has bonsai-plot (plot/module.mk); without it the
# report says there is none.
PLOTS := $(if $(filter bonsai-plot,$(TOOLS)),$(D)/plots/training.svg)
$(D)/plots/training.svg: $(D)/train/checkpoint.sha256 | $(RUN_TOOLS)
	@mkdir -p $(dir $@)
	$(STAGE) plot $@ bin/bonsai-plot $(D)/train/metrics.jsonl -f -o $@

REPORT_INPUTS := $(D)/eval/ppl.json $(TASKS_JSON) $(D)/repro/environment.txt $(PLOTS) \
	$(D)/settings/report $(D)/settings/tasks
REPORT_CMD = bin/bonsai-report $(if $(PEAK_FLOPS),--peak-flops $(PEAK_FLOPS)) $(D)
$(D)/report.md: $(REPORT_INPUTS) | $(RUN_TOOLS)
	$(STAGE) report $@ $(REPORT_CMD) -f -o $@
$(D)/report.html: $(REPORT_INPUTS) | $(RUN_TOOLS)
	$(STAGE) report $@ $(REPORT_CMD) --html -f -o $@

.PHONY: run fetch filter tokenizer shards train eval report run-locked
ifneq ($(locked),)
run demo: report
fetch: $(DOCS)
filter: $(CLEAN)
tokenizer: $(TOK_FILE) $(D)/tokenizer/info.json
shards: $(D)/shards/manifest $(D)/repro/shards-verify.txt
train: $(D)/train/checkpoint.sha256
eval: $(D)/eval/ppl.json $(TASKS_JSON)
report: $(D)/report.md $(D)/report.html
else
# the make that was started: its goals in a make of their own under the
# folder's lock, once the tools are built
run_goals := $(filter $(RUN_GOALS) demo,$(MAKECMDGOALS))
# A folder that another make run holds is refused here, its message the
# only one: refused in the recipe, it was followed by make's own
# "*** [run-locked] Error 1", as if the makefile had failed. runlock.sh
# checks again as it takes the lock (another run may start in between).
run_in_use := $(if $(run_goals),$(shell LOCK_WAIT=$(LOCK_WAIT) sh mk/runlock.sh --check $(D)))
$(if $(run_in_use),$(error $(run_in_use)))
$(run_goals): run-locked ;
run-locked: | $(RUN_TOOLS)
	@exec env LOCK_WAIT=$(LOCK_WAIT) sh mk/runlock.sh $(D) $(MAKE) --no-print-directory $(run_goals) RUN=$(RUN) BONSAI_RUN_LOCK=$(abspath $(D))
endif
