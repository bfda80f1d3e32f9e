/* lm.h - a language model for evaluation and generation: a Gemma 3
 * checkpoint or exported directory, its tokenizer, and the BOS and EOS ids
 * to use. Shared by bonsai-eval and bonsai-generate. */
#ifndef BONSAI_EVAL_LM_H
#define BONSAI_EVAL_LM_H

#include <stdint.h>

#include "gemma3.h"
#include "loglik.h"
#include "tokenizer.h"

typedef struct {
	gemma3_model *model;
	const gemma3_config *cfg;
	tokenizer *tok;     /* NULL when not asked for */
	char *tok_path;
	int32_t bos, eos;   /* -1 = none */
	gemma3_acts *acts;  /* the last forward pass's, reused while B and T stay */
	void *gpu;          /* a gemma3_gpu after eval_lm_gpu_open, else NULL */
	void (*gpu_close)(void *lm); /* frees it (lm_gpu.c is bonsai-eval's only) */
	float *gpu_lp;      /* eval_lm_logprobs' buffers */
	unsigned char *gpu_greedy;
	size_t gpu_cap;
	int gpu_vocab;      /* the GPU model's vocabulary (padded to a multiple of 8) */
	float *gpu_logits;  /* eval_lm_gpu_decode's, when the vocabulary is padded */
	char gpu_name[160];
} eval_lm;

/* Opens the model at model_path and, when tok_path is given or need_tok is
 * set, the tokenizer (tok_path, else tokenizer.json or tokenizer.tiktoken
 * next to the model). bos_override: -2 = the model's BOS, -1 = none, else
 * that id. Dies with a message on error. */
void eval_lm_open(eval_lm *lm, const char *model_path, const char *tok_path, int need_tok,
		  int32_t bos_override);
void eval_lm_close(eval_lm *lm);

/* loglik.h's callbacks bound to lm. */
size_t eval_lm_encode(void *lm, const char *text, size_t len, uint32_t **ids, size_t *n,
		      size_t *cap);
const float *eval_lm_logits(void *lm, const int32_t *tokens, int B, int T);

/* 1 when this build has CUDA and a usable GPU is present; else 0 with the
 * reason in why. */
int eval_gpu_probe(char *why, size_t n);
/* Puts the model on the GPU (bf16 weights, forward passes only) for passes
 * of up to max_tokens tokens in rows of up to max_T; eval_lm_logprobs then
 * scores there. Returns 0, or -1 with the reason in err (no GPU, a build
 * without CUDA, a model the GPU code does not take, out of memory). */
int eval_lm_gpu_open(eval_lm *lm, long max_tokens, int max_T, char *err, size_t n);
/* Puts the model on the GPU as a decoder with a KV cache of max_T
 * positions (bonsai-generate); 0, or -1 with the reason in err, as
 * eval_lm_gpu_open. */
int eval_lm_gpu_open_decoder(eval_lm *lm, int max_T, char *err, size_t n);
/* gemma3_gpu_decode on that decoder: tokens[0 .. n) at positions pos ..;
 * logits gets the last one's, the model's vocab_size of them. */
void eval_lm_gpu_decode(eval_lm *lm, const int32_t *tokens, int n, int pos, float *logits);
/* Frees the GPU model (eval_lm_close does too). */
void eval_lm_gpu_close(eval_lm *lm);
/* loglik.h's logprobs_fn on the GPU (after eval_lm_gpu_open). */
void eval_lm_logprobs(void *lm, const int32_t *tokens, const int32_t *targets, int B, int T,
		      double *lp, int *greedy);
/* Tokens per forward pass on the GPU when the user gave none. */
#define EVAL_GPU_BATCH_TOKENS 32768

/* What a bonsai-train checkpoint (model_path a run directory or a
 * checkpoint file) says of its training: the sequence length (0 when
 * model_path is not a checkpoint, or it does not say) and the tokenizer
 * fingerprint of its shards (0 when unknown). */
int eval_train_seq(const char *model_path, uint64_t *fingerprint);

/* Tokens per forward pass when the user gave none: about 32 MiB of logits,
 * at most 8192 tokens. */
long eval_default_batch_tokens(int vocab);

#endif
