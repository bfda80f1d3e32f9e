# fuzz.mk - the libFuzzer targets tests/fuzz/fuzz_*.c (clang only; not part
# of `all`), included by the top Makefile:
#   make fuzz                    builds every target into build/fuzz/
#   make fuzz-run FUZZ_TIME=30   runs each for 30 seconds (default 60) on its
#                                corpus, build/fuzz/corpus/NAME (seeded from
#                                ../shared where the target has seeds)
#   build/fuzz/fuzz_shard -max_total_time=30 build/fuzz/corpus/fuzz_shard
#                                one by hand (any libFuzzer option)
# lib/ and the tools' sources they need are compiled again with the
# sanitizers into build/fuzz/obj/.

FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_CFLAGS := -g -O1 -std=c11 -D_DEFAULT_SOURCE -Ilib \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_DIR)/%)

# What each target links besides lib/ (its tool's sources and libraries).
FUZZ_fuzz_fetch_parquet_SRCS := fetch/thrift.c fetch/pq_meta.c fetch/pq_decode.c fetch/pq_read.c \
	fetch/pq_codec.c fetch/pq_json.c
FUZZ_fuzz_fetch_parquet_LIBS := $(FETCH_PQ_LIBS)
FUZZ_fuzz_fetch_zip_SRCS := fetch/zipread.c
FUZZ_fuzz_fetch_zip_LIBS := -lz
FUZZ_fuzz_filter_SRCS := filter/hygiene.c filter/dedup.c filter/minhash.c
# The options a target needs in fuzz-run, and seed folders (when present).
FUZZ_SHARED ?= ../shared
FUZZ_fuzz_fetch_parquet_SEEDS := $(wildcard $(FUZZ_SHARED)/fixtures/parquet-testing)
FUZZ_fuzz_tokenize_RUN := -max_len=4096
# fuzz_tokenize's seed for its .tiktoken mode: r50k_base's 256 bytes and
# first merges.
FUZZ_TIKTOKEN := $(FUZZ_SHARED)/fixtures/tokenizers/tiktoken/r50k_base.tiktoken
FUZZ_fuzz_tokenize_SEEDS := $(if $(wildcard $(FUZZ_TIKTOKEN)),$(FUZZ_DIR)/seeds/fuzz_tokenize)
$(FUZZ_DIR)/seeds/fuzz_tokenize:
	@rm -rf $@.tmp && mkdir -p $@.tmp
	{ printf '\005'; head -300 $(FUZZ_TIKTOKEN); } > $@.tmp/tiktoken
	mv $@.tmp $@
FUZZ_fuzz_eval_RUN := -max_len=4096
# fuzz_eval's seeds: a few records of each official file behind the byte
# that picks its reader, and two ready-made items.
FUZZ_EVAL_FIX := $(FUZZ_SHARED)/fixtures/eval
FUZZ_EVAL_FILES := $(FUZZ_EVAL_FIX)/piqa/valid.jsonl $(FUZZ_EVAL_FIX)/piqa/valid-labels.lst \
	$(FUZZ_EVAL_FIX)/arc_easy/ARC-Easy-Dev.jsonl $(FUZZ_EVAL_FIX)/hellaswag/hellaswag_val_full.txt.bz2
FUZZ_fuzz_eval_SEEDS := $(if $(filter 4,$(words $(wildcard $(FUZZ_EVAL_FILES)))),$(FUZZ_DIR)/seeds/fuzz_eval)
$(FUZZ_DIR)/seeds/fuzz_eval:
	@rm -rf $@.tmp && mkdir -p $@.tmp
	{ printf '\000'; head -3 $(FUZZ_EVAL_FIX)/piqa/valid.jsonl; printf '\377'; \
	  head -3 $(FUZZ_EVAL_FIX)/piqa/valid-labels.lst; } > $@.tmp/piqa
	{ printf '\001'; head -2 $(FUZZ_EVAL_FIX)/arc_easy/ARC-Easy-Dev.jsonl; } > $@.tmp/arc
	bzcat $(FUZZ_EVAL_FIX)/hellaswag/hellaswag_val_full.txt.bz2 > $@.tmp/hellaswag.txt
	{ printf '\002'; head -12 $@.tmp/hellaswag.txt; } > $@.tmp/hellaswag && rm $@.tmp/hellaswag.txt
	printf '\003{"task":"t","context":"Q: 2+2?\\nA:","choices":["4","5"],"gold":0}\n{"query":"x","choices":["a","b"],"gold":"0","id":"7"}\n' \
		> $@.tmp/generic
	mv $@.tmp $@
FUZZ_fuzz_filter_RUN := -max_len=4096

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

FUZZ_LIB := $(FUZZ_DIR)/libbonsai.a
$(FUZZ_LIB): $(LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
	@rm -f $@
	$(AR) rcs $@ $^

define FUZZ_template
$(FUZZ_DIR)/$(1): $(FUZZ_DIR)/obj/tests/fuzz/$(1).o $$(FUZZ_$(1)_SRCS:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $$@ $$^ $$(FUZZ_$(1)_LIBS) $(LDLIBS)
endef
$(foreach f,$(FUZZ_SRCS:tests/fuzz/%.c=%),$(eval $(call FUZZ_template,$(f))))

.PHONY: fuzz fuzz-run
ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
fuzz: $(FUZZ_BINS)
else
fuzz:
	@echo "make fuzz: $(FUZZ_CC) not found; the fuzz targets need clang (apt-get install clang)"
endif

fuzz-run: fuzz $(FUZZ_fuzz_eval_SEEDS) $(FUZZ_fuzz_tokenize_SEEDS)
	@$(foreach f,$(FUZZ_BINS:$(FUZZ_DIR)/%=%),mkdir -p $(FUZZ_DIR)/corpus/$(f) && \
		echo "== $(f), $(FUZZ_TIME) s" && \
		$(FUZZ_$(f)_ENV) $(FUZZ_DIR)/$(f) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/$(f)- $(FUZZ_$(f)_RUN) \
		$(FUZZ_DIR)/corpus/$(f) $(FUZZ_$(f)_SEEDS) && ) true
