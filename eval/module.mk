# bonsai-eval: perplexity and zero-shot tasks; bonsai-generate: sampling.
# Both run the model on the CPU (lib/gemma3_forward.c) or, through
# eval/lm_gpu.c, on the GPU (lib/cuda/, linked when nvcc exists).
EVAL_COMMON := eval/lm.c eval/lm_gpu.c eval/loglik.c
TOOLS += bonsai-eval bonsai-generate
bonsai-eval_SRCS := eval/eval_main.c eval/score.c eval/ppl.c $(EVAL_COMMON)
bonsai-eval_CUDA := 1
bonsai-generate_SRCS := eval/generate_main.c eval/sample.c $(EVAL_COMMON)
bonsai-generate_CUDA := 1

# The GPU glue is compiled in only when nvcc exists.
ifneq ($(HAVE_CUDA),)
$(BUILD)/eval/lm_gpu.o: CFLAGS += -DBONSAI_CUDA
endif

# unit tests that use the eval objects
EVAL_TEST_OBJS := $(BUILD)/eval/score.o $(BUILD)/eval/loglik.o $(BUILD)/eval/ppl.o $(BUILD)/eval/sample.o
TEST_test_eval_prompt_OBJS := $(EVAL_TEST_OBJS)
TEST_test_eval_score_OBJS := $(EVAL_TEST_OBJS)
TEST_test_eval_sample_OBJS := $(EVAL_TEST_OBJS)
TEST_test_eval_tinymodel_OBJS := $(EVAL_TEST_OBJS) $(BUILD)/eval/lm.o
