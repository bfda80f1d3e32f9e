TOOLS += bonsai-train
bonsai-train_SRCS := $(wildcard train/*.c)
# --device cuda: the GPU model of lib/cuda/ (when nvcc exists)
bonsai-train_CUDA := 1
bonsai-train_LIBS := $(MPI_LIBS)
ifneq ($(HAVE_CUDA),)
$(BUILD)/train/%.o: CFLAGS += -DBONSAI_CUDA
endif
# Unit tests that use the trainer's objects.
TRAIN_CORE_OBJS := $(BUILD)/train/adamw.o $(BUILD)/train/cpu_backend.o
TEST_test_train_gradcheck_OBJS := $(TRAIN_CORE_OBJS)
TEST_test_train_gradcheck_LIBS := $(MPI_LIBS)
TEST_test_train_dist_OBJS := $(BUILD)/train/data.o
TEST_test_train_dist_LIBS := $(MPI_LIBS)
TEST_test_train_microbatch_OBJS := $(BUILD)/train/microbatch.o

