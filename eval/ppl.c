/* ppl.c - see ppl.h. */
#include "ppl.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

void ppl_run(const loglik_model *m, ppl_read_fn read, void *rctx, uint64_t n_stream,
	     int seq_len, uint64_t max_tokens, ppl_result *r,
	     void (*on_batch)(void *arg, const ppl_result *r), void *arg)
{
	memset(r, 0, sizeof *r);
	uint64_t total = n_stream > 0 ? n_stream - 1 : 0; /* predictable tokens */
	if (max_tokens > 0 && max_tokens < total)
		total = max_tokens;
	int T = seq_len;
	long B = m->batch_tokens / T;
	if (B < 1)
		B = 1;
	if (m->max_batch > 0 && B > m->max_batch)
		B = m->max_batch;
	int32_t *tokens = xmalloc((size_t)B * T * sizeof *tokens);
	int32_t *targets = xmalloc((size_t)B * T * sizeof *targets);
	uint32_t *win = xmalloc(((size_t)T + 1) * sizeof *win);
	double *lp = xmalloc((size_t)B * T * sizeof *lp);
	uint64_t pos = 0; /* next window starts here */
	while (r->tokens < total) {
		/* up to B windows; the last one may be short, and is then
		 * padded (padding is never a target) */
		long b = 0;
		uint64_t counted = r->tokens;
		int Tb = 0;
		while (b < B && counted < total) {
			uint64_t left = total - counted;
			int len = left < (uint64_t)T ? (int)left : T;
			read(rctx, pos, win, (size_t)len + 1);
			for (int t = 0; t < T; t++) {
				tokens[b * T + t] = t < len ? (int32_t)win[t] : (int32_t)win[0];
				targets[b * T + t] = t < len ? (int32_t)win[t + 1] : -1;
			}
			if (len > Tb)
				Tb = len;
			pos += (uint64_t)len;
			counted += (uint64_t)len;
			b++;
		}
		/* a single short window runs at its own length (row 0 of the
		 * [B,T] layout is its first Tr tokens either way) */
		int Tr = b == 1 ? Tb : T;
		long rows = b * Tr;
		if (m->logprobs) {
			/* rows of Tr: targets' layout too (Tr < T only when b == 1) */
			m->logprobs(m->ctx, tokens, targets, (int)b, Tr, lp, NULL);
		} else {
			const float *logits = m->logits(m->ctx, tokens, (int)b, Tr);
			#pragma omp parallel for schedule(static)
			for (long i = 0; i < rows; i++) {
				long w = i / Tr, t = i % Tr;
				int32_t tgt = targets[w * T + t];
				lp[i] = tgt < 0 ? 0 : log_softmax_at(logits + (size_t)i * m->vocab,
								     m->vocab, tgt, NULL);
			}
		}
		for (long i = 0; i < rows; i++) {
			long w = i / Tr, t = i % Tr;
			if (targets[w * T + t] >= 0) {
				r->loss_sum -= lp[i];
				r->tokens++;
			}
		}
		r->windows += (uint64_t)b;
		if (on_batch)
			on_batch(arg, r);
		cli_check_interrupt();
	}
	free(tokens);
	free(targets);
	free(win);
	free(lp);
}
