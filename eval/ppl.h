/* ppl.h - perplexity: the token-weighted mean next-token loss over a
 * token stream, in windows of the model's sequence length. */
#ifndef BONSAI_EVAL_PPL_H
#define BONSAI_EVAL_PPL_H

#include <stdint.h>

#include "loglik.h"

typedef struct {
	double loss_sum;   /* sum of -log p over the tokens counted */
	uint64_t tokens;   /* tokens predicted (each window's first has no context) */
	uint64_t windows;
} ppl_result;

/* Reads n tokens from index i of the stream into out. */
typedef void (*ppl_read_fn)(void *ctx, uint64_t i, uint32_t *out, size_t n);

/* Windows of seq_len + 1 tokens that overlap by one: tokens 1..seq_len of
 * each are predicted from those before them in the window, so every token
 * but the stream's first is counted once (up to max_tokens, 0 = all).
 * m->batch_tokens sets how many windows go into one forward pass. */
void ppl_run(const loglik_model *m, ppl_read_fn read, void *rctx, uint64_t n_stream,
	     int seq_len, uint64_t max_tokens, ppl_result *r,
	     void (*on_batch)(void *arg, const ppl_result *r), void *arg);

#endif
