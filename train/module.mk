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
