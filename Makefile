# Bonsai: build every tool into bin/, run the tests with prove.
#
# Each tool's folder has a module.mk that appends to TOOLS and sets
# <tool>_SRCS and <tool>_LIBS; the rules below build all of them the same way.
# lib/*.c is compiled once into build/libbonsai.a and linked into every tool.
# C unit tests are tests/unit/test_*.c, each built into build/tests/ and run
# by prove next to the shell tests tests/*.t. With nvcc, lib/cuda/*.cu (the
# model on the GPU) is built into build/libbonsai_cuda.a for the tools that
# use the GPU; `make check-cuda` builds and runs the GPU checks (below).

PREFIX   ?= /usr/local
CC       ?= cc
NVCC     ?= $(shell command -v nvcc 2>/dev/null)
BUILD    ?= build
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
SAN      ?=
CFLAGS   += -std=c11 -Wall -Wextra -fopenmp -D_DEFAULT_SOURCE -Ilib $(SAN)
LDFLAGS  += -fopenmp $(SAN)
# libbonsai.a needs zstd, zlib and bz2 (compressed inputs, the eval sets),
# utf8proc (the tokenizer, NFC) and pcre2 (patterns of other tokenizers)
LDLIBS   += -lzstd -lz -lutf8proc -lpcre2-8 -lbz2 -lm -lpthread
# Machine code for sm_80 (A100, also run by 8.6/8.9 cards) and sm_90a (H100,
# H200: the wgmma kernels), and compute_80 PTX, which the driver compiles
# at first use for a card neither runs (Blackwell and later), where the
# attention launchers fall back from the wgmma kernels to tile64's.
NVCCFLAGS ?= -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_80,code=compute_80 -Ilib
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_LIBS ?= -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublasLt -lcublas -lcudart -lstdc++

# Set to 1 when nvcc is found: tools then also compile their .cu sources.
HAVE_CUDA := $(if $(NVCC),1,)

# Open MPI's compiler wrapper, when installed (libopenmpi-dev): the
# trainer's data parallelism can then run under mpirun. MPICC= builds
# without it.
MPICC     ?= $(shell command -v mpicc 2>/dev/null)
MPI_CFLAGS := $(if $(MPICC),-DBONSAI_MPI $(shell $(MPICC) --showme:compile))
MPI_LIBS   := $(if $(MPICC),$(shell $(MPICC) --showme:link))
TEST_test_lib_dist_LIBS := $(MPI_LIBS)

# A unit test that makes allocations fail (tests/unit/failalloc.h) links
# with TEST_<name>_LIBS := $(FAILALLOC_LIBS).
FAILALLOC_LIBS := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=reallocarray,--wrap=strdup,--wrap=strndup
TEST_test_lib_buf_LIBS := $(FAILALLOC_LIBS)
TEST_test_lib_nomem_data_LIBS := $(FAILALLOC_LIBS)
TEST_test_lib_nomem_model_LIBS := $(FAILALLOC_LIBS)
TEST_test_lib_nomem_tok_LIBS := $(FAILALLOC_LIBS)
# ... and tests/cli-nomem.t preloads this into whole tools
FAILALLOC_SO := $(BUILD)/tests/preload/failalloc.so

# plain `make` builds the tools and tests, whatever targets the modules define first
.DEFAULT_GOAL := all

TOOLS :=
include $(sort $(wildcard */module.mk))

LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB_A    := $(BUILD)/libbonsai.a

# The Gemma 3 model on the GPU (lib/cuda/), built when nvcc is found into
# build/libbonsai_cuda.a; a tool that sets <tool>_CUDA := 1 links it and the
# CUDA libraries (and compiles its own GPU glue with -DBONSAI_CUDA).
CUDA_LIB_SRCS := $(sort $(wildcard lib/cuda/*.cu))
CUDA_LIB_OBJS := $(CUDA_LIB_SRCS:%.cu=$(BUILD)/%.cu.o)
CUDA_LIB_A    := $(BUILD)/libbonsai_cuda.a

# The hot files of the CPU model (forward, backward, matrix products): -O3
# (more vectorisation; no change in floating-point semantics) and no FMA
# contraction, so that the results are the same bits in the AVX2 and the
# plain versions and for any thread count.
HOT_G3_OBJS := $(BUILD)/lib/gemma3_matmul.o $(BUILD)/lib/gemma3_forward.o $(BUILD)/lib/gemma3_backward.o
$(HOT_G3_OBJS): CFLAGS += -O3 -ffp-contract=off

# make fuzz, make fuzz-run: the libFuzzer targets (clang)
include tests/fuzz/fuzz.mk

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# Small programs the shell tests use to make inputs (not installed).
TEST_TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TEST_TOOLS := $(TEST_TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)

BINS := $(TOOLS:%=bin/%)

.PHONY: all test check check-asan demo install uninstall clean man-lint
all: $(BINS) $(UNIT_BINS) $(TEST_TOOLS) $(FAILALLOC_SO)

# Before anything is compiled, the Debian packages of mk/packages are there:
# mk/deps.sh installs the missing ones (or says how). The stamp spares later
# builds the check; a changed list checks again.
DEPS_OK := $(BUILD)/deps.ok
$(DEPS_OK): mk/packages mk/deps.sh
	@mkdir -p $(dir $@)
	@sh mk/deps.sh
	@touch $@

$(BUILD)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.cu.o: %.cu | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/lib/dist_mpi.o: CFLAGS += $(MPI_CFLAGS)
# NCCL is looked for first where the CUDA Toolkit of the build keeps it.
$(BUILD)/lib/nccl.o: CFLAGS += $(if $(HAVE_CUDA),-DBONSAI_CUDA_LIB='"$(CUDA_HOME)/lib64"')

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(CUDA_LIB_A): $(CUDA_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

define TOOL_template
$(1)_OBJS := $$($(1)_SRCS:%.c=$$(BUILD)/%.o)
$(1)_GPU_A := $$(if $$(HAVE_CUDA),$$(if $$($(1)_CUDA),$$(CUDA_LIB_A)))
bin/$(1): $$($(1)_OBJS) $$($(1)_GPU_A) $$(LIB_A)
	@mkdir -p bin
	$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) $$($(1)_GPU_A) $$(LIB_A) $$($(1)_LIBS) $$(if $$($(1)_GPU_A),$$(CUDA_LIBS)) $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call TOOL_template,$(t))))

# Objects compiled one way with nvcc and another without (-DBONSAI_CUDA)
# depend on a file that holds that choice and is rewritten only when it
# changes, so `make NVCC=` followed by `make` rebuilds them with CUDA; the
# GPU library's objects depend on it too, with NVCCFLAGS in the choice, so
# that `make NVCCFLAGS=...` (code for another card) rebuilds them.
CUDA_CHOICE := $(BUILD)/cuda-choice
CUDA_CHOICE_TEXT := $(if $(HAVE_CUDA),cuda $(CUDA_HOME) $(NVCCFLAGS),none)
ifneq ($(strip $(file <$(CUDA_CHOICE))),$(strip $(CUDA_CHOICE_TEXT)))
$(shell mkdir -p $(BUILD) && printf '%s\n' '$(CUDA_CHOICE_TEXT)' > $(CUDA_CHOICE))
endif
$(filter $(BUILD)/train/%.o,$(bonsai-train_OBJS)) $(BUILD)/eval/lm_gpu.o $(BUILD)/lib/nccl.o: $(CUDA_CHOICE)
$(CUDA_LIB_OBJS): $(CUDA_CHOICE)
# The same for MPI: `make MPICC=` and then `make` rebuild the MPI transport.
MPI_CHOICE := $(BUILD)/mpi-choice
MPI_CHOICE_TEXT := $(if $(MPICC),mpi $(MPI_CFLAGS),none)
ifneq ($(strip $(file <$(MPI_CHOICE))),$(strip $(MPI_CHOICE_TEXT)))
$(shell mkdir -p $(BUILD) && printf '%s\n' '$(MPI_CHOICE_TEXT)' > $(MPI_CHOICE))
endif
$(BUILD)/lib/dist_mpi.o: $(MPI_CHOICE)

# A unit test may link a tool's objects too: TEST_<name>_OBJS in module.mk.
# -MMD: a change to any header it includes (tap.h, failalloc.h, lib/*.h)
# rebuilds it, as for the objects; so does a change to this recipe.
$(BUILD)/tests/%: tests/unit/%.c $(LIB_A) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -Itests/unit $(LDFLAGS) -o $@ $< $(TEST_$*_OBJS) $(LIB_A) $(TEST_$*_LIBS) $(LDLIBS)

$(FAILALLOC_SO): tests/preload/failalloc.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -Wall -Wextra -fPIC -shared -o $@ $< -ldl

# A test tool may need more libraries: TOOL_<name>_LIBS in module.mk.
$(BUILD)/tests/tools/%: tests/tools/%.c $(LIB_A) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(LIB_A) $(TOOL_$*_LIBS) $(LDLIBS)

$(foreach t,$(UNIT_BINS),$(eval $(t): $(TEST_$(notdir $(t))_OBJS)))

# The shell tests find the build folder (and so the test tools) through BUILD.
# They compare against CPU references with fp32 tolerances, so the tools run
# on the CPU even where a GPU is present (tests/cuda/ checks the GPU).
# make test T="tests/shard-errors.t build/tests/test_lib_shard": only those, verbose.
test: all
	BUILD=$(BUILD) BONSAI_DEVICE=cpu prove -f $(if $(T),-v $(T),$(UNIT_BINS) $(sort $(wildcard tests/*.t)))

check: test

# The same tests, built with AddressSanitizer and UBSan into build-asan/.
# bin/ is shared with the normal build, so its tools are relinked before and after.
ASAN_VARS = BUILD=build-asan OPT="-O1 -fno-omit-frame-pointer" NVCC= \
	SAN="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all"
check-asan:
	$(MAKE) clean-bins
	ASAN_OPTIONS=detect_leaks=1 $(MAKE) $(ASAN_VARS) test
	$(MAKE) clean-bins

# `make -s print-NVCCFLAGS`: a variable's value, for scripts (bench/ptx_compare.sh)
print-%:
	@echo '$($*)'

# The GPU checks (tests/cuda/): built with the flags above by `make
# cuda-checks`; `make check-cuda` builds them and the tools and runs them
# through prove where nvidia-smi finds a GPU (else says so and stops, exit
# 0). The kernel checks against double references, the fixture check of
# the model, bonsai-train and bonsai-eval on the GPU (eval_gpu.sh needs
# `tests/cuda/eval_gpu.sh stage` first, else it skips), gpu_bench for
# bench/cuda_bench.sh and fp8_products (cuBLASLt's fp8 products timed).
CUDA_CHECK_DIR := $(BUILD)/tests/cuda
CUDA_CHECKS := $(CUDA_CHECK_DIR)/check_kernels $(CUDA_CHECK_DIR)/check_logprob \
	$(CUDA_CHECK_DIR)/gpu_verify $(BUILD)/bench/gpu_bench $(BUILD)/bench/fp8_products
CUDA_HEADERS := $(wildcard lib/cuda/*.cuh lib/cuda/*.h) tests/cuda/check_util.cuh
.PHONY: cuda-checks check-cuda
cuda-checks: $(if $(HAVE_CUDA),$(CUDA_CHECKS),no-nvcc)
$(CUDA_CHECK_DIR)/check_kernels: tests/cuda/check_kernels.cu $(CUDA_HEADERS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -o $@ $< -L$(CUDA_HOME)/lib64 -Xlinker -rpath,$(CUDA_HOME)/lib64 -lcublasLt
$(CUDA_CHECK_DIR)/check_logprob: tests/cuda/check_logprob.cu $(CUDA_HEADERS) \
		$(BUILD)/eval/loglik.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -Ieval -o $@ $< $(BUILD)/eval/loglik.o \
		$(LIB_A) -lgomp -lutf8proc $(LDLIBS)
$(CUDA_CHECK_DIR)/gpu_verify $(BUILD)/bench/gpu_bench: $(BUILD)/%: %.c $(CUDA_LIB_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -Ilib/cuda $(LDFLAGS) -o $@ $< $(CUDA_LIB_A) $(LIB_A) $(CUDA_LIBS) $(LDLIBS)
$(BUILD)/bench/fp8_products: bench/fp8_products.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -o $@ $< -L$(CUDA_HOME)/lib64 -Xlinker -rpath,$(CUDA_HOME)/lib64 -lcublasLt
check-cuda: all cuda-checks
	@if ! nvidia-smi -L > /dev/null 2>&1; then \
		echo "check-cuda: no NVIDIA GPU here (nvidia-smi finds none); the checks are built in $(CUDA_CHECK_DIR), not run"; \
	else \
		BUILD=$(BUILD) prove -v $(filter-out %/gpu_bench %/fp8_products,$(CUDA_CHECKS)) tests/cuda/*.sh; \
	fi
.PHONY: no-nvcc
no-nvcc:
	@echo "nvcc not found: the GPU checks need the CUDA Toolkit (NVCC=path/to/nvcc)"; exit 1

.PHONY: clean-bins
clean-bins:
	rm -f $(BINS)

# make run RUN=NAME: the experiment of runs/NAME.mk, stage by stage into
# runs-out/NAME/ (mk/run.mk). The demo is the run on the test data.
RUN_GOALS := run fetch filter tokenizer shards train eval report
# make demo is make run RUN=demo, made by this make: a make of its own,
# refused, added its "*** [demo] Error 2" to the run's refusal
ifneq ($(filter demo,$(MAKECMDGOALS)),)
override RUN := demo
endif
ifneq ($(filter $(RUN_GOALS) demo,$(MAKECMDGOALS)),)
ifeq ($(RUN),)
$(error give the run: make $(firstword $(filter $(RUN_GOALS),$(MAKECMDGOALS))) RUN=NAME, NAME one of: $(basename $(notdir $(wildcard runs/*.mk))))
endif
include mk/run.mk
endif

man-lint:
	mandoc -Tlint -W warning man/man1/*.1 man/man5/*.5 man/man7/*.7

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/man5/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 man/man7/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/

# Removes what install put there (by name: other files under PREFIX stay).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(BINS))) \
		$(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/%,$(wildcard man/man1/*.1 man/man5/*.5 man/man7/*.7))

clean:
	rm -rf build build-asan bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
