TOOLS += bonsai-filter
bonsai-filter_SRCS := $(wildcard filter/*.c)
# the eval sets (--decontaminate) are read by lib/evaltasks.c, as bonsai-eval reads them
bonsai-filter_LIBS := -lbz2
LDLIBS += -lutf8proc
# Unit tests that link the filter's own objects (not main.o).
TEST_test_filter_hygiene_OBJS := $(BUILD)/filter/hygiene.o
TEST_test_filter_dedup_OBJS := $(BUILD)/filter/dedup.o $(BUILD)/filter/minhash.o
TEST_test_filter_decontam_OBJS := $(BUILD)/filter/decontam.o $(BUILD)/filter/ngram.o \
	$(BUILD)/filter/gramtable.o
TEST_test_filter_decontam_LIBS := -lbz2
