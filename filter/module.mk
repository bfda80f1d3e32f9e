TOOLS += bonsai-filter
bonsai-filter_SRCS := $(wildcard filter/*.c)
# Unit tests that link the filter's own objects (not main.o).
TEST_test_filter_hygiene_OBJS := $(BUILD)/filter/hygiene.o
TEST_test_filter_dedup_OBJS := $(BUILD)/filter/dedup.o $(BUILD)/filter/minhash.o
TEST_test_filter_decontam_OBJS := $(BUILD)/filter/decontam.o $(BUILD)/filter/ngram.o \
	$(BUILD)/filter/gramtable.o
