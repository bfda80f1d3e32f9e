# bonsai-fetch: parquet (local, URL, Hugging Face dataset) to JSON Lines;
# --eval: the evaluation sets bonsai-eval reads.
TOOLS += bonsai-fetch
bonsai-fetch_SRCS := $(wildcard fetch/*.c)
# the parquet codecs' libraries, for the tool and whatever links its reader
FETCH_PQ_LIBS := -lsnappy -lz -llz4 -lbrotlidec
bonsai-fetch_LIBS := -lcurl -lcrypto $(FETCH_PQ_LIBS)

# Unit tests that link the parquet reader's objects.
FETCH_PQ_OBJS := $(BUILD)/fetch/thrift.o $(BUILD)/fetch/pq_meta.o $(BUILD)/fetch/pq_decode.o \
	$(BUILD)/fetch/pq_read.o $(BUILD)/fetch/pq_codec.o $(BUILD)/fetch/pq_json.o
TEST_test_fetch_decode_OBJS := $(FETCH_PQ_OBJS)
TEST_test_fetch_decode_LIBS := $(FETCH_PQ_LIBS)
TEST_test_fetch_fixtures_OBJS := $(FETCH_PQ_OBJS)
TEST_test_fetch_fixtures_LIBS := $(FETCH_PQ_LIBS)
TEST_test_fetch_synth_OBJS := $(FETCH_PQ_OBJS)
TEST_test_fetch_synth_LIBS := $(FETCH_PQ_LIBS)
TEST_test_fetch_digest_OBJS := $(BUILD)/fetch/digest.o
TEST_test_fetch_digest_LIBS := -lcrypto
TEST_test_fetch_zip_OBJS := $(BUILD)/fetch/zipread.o
TEST_test_fetch_zip_LIBS := -lz

# tests/tools/mkparquet: parquet files with any codec the reader takes
TOOL_mkparquet_LIBS := -lsnappy -lz -llz4 -lbrotlienc
