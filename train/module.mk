TOOLS += bonsai-train
bonsai-train_SRCS := $(wildcard train/*.c)
# --device cuda: the GPU model of lib/cuda/ (when nvcc exists)
bonsai-train_CUDA := 1
ifneq ($(HAVE_CUDA),)
$(BUILD)/train/%.o: CFLAGS += -DBONSAI_CUDA
endif
# Unit tests that use the trainer's objects.
TRAIN_CORE_OBJS := $(BUILD)/train/backward.o $(BUILD)/train/adamw.o $(BUILD)/train/cpu_backend.o
TEST_test_train_gradcheck_OBJS := $(TRAIN_CORE_OBJS)

# The hot files of the CPU model: -O3 (more vectorisation; no change in
# floating-point semantics) and no FMA contraction, so that the results are
# the same bits in the AVX2 and the plain versions and for any thread count.
HOT_G3_OBJS := $(BUILD)/lib/gemma3_matmul.o $(BUILD)/lib/gemma3_forward.o $(BUILD)/train/backward.o
$(HOT_G3_OBJS): CFLAGS += -O3 -ffp-contract=off
