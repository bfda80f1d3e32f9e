TOOLS += bonsai-train
bonsai-train_SRCS := $(wildcard train/*.c)
bonsai-train_CU_SRCS := $(wildcard train/cuda/*.cu)
bonsai-train_CU_LIBS := $(CUDA_LIBS)

# The CUDA backend is compiled in only when nvcc exists.
ifneq ($(HAVE_CUDA),)
ifneq ($(bonsai-train_CU_SRCS),)
$(BUILD)/train/%.o: CFLAGS += -DBONSAI_CUDA
endif
endif

# Unit tests that use the trainer's objects.
TRAIN_CORE_OBJS := $(BUILD)/train/backward.o $(BUILD)/train/adamw.o $(BUILD)/train/cpu_backend.o
TEST_test_train_gradcheck_OBJS := $(TRAIN_CORE_OBJS)

# The hot files of the CPU model: -O3 (more vectorisation; no change in
# floating-point semantics) and no FMA contraction, so that the results are
# the same bits in the AVX2 and the plain versions and for any thread count.
HOT_G3_OBJS := $(BUILD)/lib/gemma3_matmul.o $(BUILD)/lib/gemma3_forward.o $(BUILD)/train/backward.o
$(HOT_G3_OBJS): CFLAGS += -O3 -ffp-contract=off
