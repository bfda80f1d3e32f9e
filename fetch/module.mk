# bonsai-fetch: parquet (local, URL, Hugging Face dataset) to JSON Lines;
# --eval: the evaluation sets bonsai-eval reads.
TOOLS += bonsai-fetch
bonsai-fetch_SRCS := $(wildcard fetch/*.c)
bonsai-fetch_LIBS := -lcurl -lsnappy -lz

# Unit tests that link the parquet reader's objects.
FETCH_PQ_OBJS := $(BUILD)/fetch/thrift.o $(BUILD)/fetch/pq_meta.o $(BUILD)/fetch/pq_decode.o \
	$(BUILD)/fetch/pq_read.o $(BUILD)/fetch/pq_codec.o $(BUILD)/fetch/pq_json.o
TEST_test_fetch_decode_OBJS := $(FETCH_PQ_OBJS)
TEST_test_fetch_decode_LIBS := -lsnappy -lz
TEST_test_fetch_fixtures_OBJS := $(FETCH_PQ_OBJS)
TEST_test_fetch_fixtures_LIBS := -lsnappy -lz
TEST_test_fetch_synth_OBJS := $(FETCH_PQ_OBJS)
TEST_test_fetch_synth_LIBS := -lsnappy -lz
TEST_test_fetch_sha256_OBJS := $(BUILD)/fetch/sha256.o
TEST_test_fetch_zip_OBJS := $(BUILD)/fetch/zipread.o
TEST_test_fetch_zip_LIBS := -lz

# libFuzzer target for the parquet reader (clang only; not part of `all`):
#   make fuzz-fetch && build/fuzz/fuzz_fetch_parquet CORPUS_DIR
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -std=c11 -D_DEFAULT_SOURCE -Ilib -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
.PHONY: fuzz-fetch
fuzz-fetch: $(BUILD)/fuzz/fuzz_fetch_parquet
$(BUILD)/fuzz/fuzz_fetch_parquet: tests/fuzz/fuzz_fetch_parquet.c fetch/thrift.c fetch/pq_meta.c fetch/pq_decode.c \
		fetch/pq_read.c fetch/pq_codec.c fetch/pq_json.c lib/cli.c lib/buf.c lib/json.c lib/utf8.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -lsnappy -lz -lzstd -lm

# libFuzzer target for the zip reader (bonsai-fetch --eval's ARC archive):
#   make fuzz-fetch-zip && build/fuzz/fuzz_fetch_zip CORPUS_DIR
.PHONY: fuzz-fetch-zip
fuzz-fetch-zip: $(BUILD)/fuzz/fuzz_fetch_zip
$(BUILD)/fuzz/fuzz_fetch_zip: tests/fuzz/fuzz_fetch_zip.c fetch/zipread.c lib/cli.c lib/buf.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -lz -lm
