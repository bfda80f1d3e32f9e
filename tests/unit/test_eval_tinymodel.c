/* test_eval_tinymodel.c - bonsai-eval's scoring and perplexity loops on a
 * real Gemma 3 forward pass whose answers can be computed by hand: every
 * layer weight is zero, so each layer adds nothing to the residual stream,
 * and the embedding row of token t is a * e_t. The hidden state of token t
 * is then a*sqrt(d)*e_t, the final norm makes it a*sqrt(d)/sqrt(a^2+eps)*e_t,
 * and the tied head gives the logit L = a^2*sqrt(d)/sqrt(a^2+eps) to t
 * itself and 0 to every other token: log p(next = t) = L - log(e^L + V-1),
 * log p(next != t) = -log(e^L + V-1), at any position, through any window. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#include "gemma3.h"
#include "../../eval/lm.h"
#include "../../eval/loglik.h"
#include "../../eval/ppl.h"

#define V 16
static const double A = 0.2; /* L is about 2.3 */

static uint32_t stream[300];
static void read_stream(void *ctx, uint64_t i, uint32_t *out, size_t n)
{
	(void)ctx;
	memcpy(out, stream + i, n * sizeof *out);
}

int main(void)
{
#ifdef _OPENMP
	/* many tiny parallel regions: one thread is faster on a busy machine */
	omp_set_num_threads(1);
#endif
	gemma3_config c;
	char err[256];
	if (gemma3_config_load("tiny", V, &c, err, sizeof err) < 0) {
		printf("# %s\n", err);
		return 1;
	}
	c.final_logit_softcapping = 0;
	c.attn_logit_softcapping = 0;
	c.max_position_embeddings = 64;
	size_t np = gemma3_num_params(&c);
	float *params = calloc(np, sizeof *params);
	gemma3_ptrs P;
	gemma3_ptrs_set(&c, params, &P);
	for (int t = 0; t < V; t++)
		P.embed[(size_t)t * c.hidden_size + t] = (float)A;
	gemma3_model *m = gemma3_model_new(&c, params, err, sizeof err);
	if (!m) {
		printf("# %s\n", err);
		return 1;
	}

	double d = c.hidden_size, eps = c.rms_norm_eps;
	double L = A * A * sqrt(d) / sqrt(A * A + eps);
	double lse = log(exp(L) + (V - 1));
	double same = L - lse, other = -lse;

	eval_lm lm = {0};
	lm.model = m;
	lm.cfg = gemma3_model_config(m);
	loglik_model lmod = {eval_lm_logits, &lm, V, 64, 64, 0, NULL, 0};

	/* [BOS=0] context 3 | continuation 5 5 5: 3->5 differs, then 5->5 twice */
	int32_t t1[] = {0, 3, 5, 5, 5};
	/* a continuation that repeats the context's last token: greedy */
	int32_t t2[] = {0, 7, 7, 7};
	/* longer than max_length 64 once BOS is in: the left end goes */
	int32_t t3[70];
	for (int i = 0; i < 70; i++)
		t3[i] = i < 60 ? (i % 5) + 1 : 9;
	loglik_request reqs[3] = {{t1, 5, 1, 3}, {t2, 4, 1, 2}, {t3, 70, 59, 10}};
	for (long bt = 1; bt <= 512; bt *= 512) {
		lmod.batch_tokens = bt;
		loglik_result r[3];
		loglik_run(&lmod, reqs, 3, r, NULL, NULL);
		ok(fabs(r[0].logprob - (other + 2 * same)) < 1e-5, "batch %ld: 3 -> 5 5 5 scores %.6f (hand: %.6f)",
		   bt, r[0].logprob, other + 2 * same);
		ok(!r[0].is_greedy, "batch %ld: 3 -> 5 is not greedy", bt);
		ok(fabs(r[1].logprob - 2 * same) < 1e-5 && r[1].is_greedy,
		   "batch %ld: 7 -> 7 7 scores 2 x %.6f and is greedy", bt, same);
		ok(fabs(r[2].logprob - (other + 9 * same)) < 1e-4,
		   "batch %ld: a 70-token request, truncated on the left, scores %.6f (hand: %.6f)", bt,
		   r[2].logprob, other + 9 * same);
	}

	/* the KV-cache decoder (bonsai-generate's path) gives the same logits */
	gemma3_kv *kv = gemma3_kv_new(m, 8, err, sizeof err);
	float logits[V];
	ok(kv && !gemma3_decode_step(m, kv, 0, logits, err, sizeof err) &&
	   !gemma3_decode_step(m, kv, 11, logits, err, sizeof err), "decoder runs: %s", kv ? "" : err);
	int best = 0;
	for (int v = 1; v < V; v++)
		if (logits[v] > logits[best])
			best = v;
	ok(best == 11 && fabs(logits[11] - L) < 1e-4 && fabs(logits[4]) < 1e-5,
	   "decoder: after token 11 the logits are L = %.6f at 11 and 0 elsewhere", L);
	gemma3_kv_free(kv);

	/* perplexity over a stream with 40 repeats among 199 predictions */
	int N = 200, n_same = 0;
	for (int i = 0; i < N; i++) {
		stream[i] = (uint32_t)(i % 5 == 4 ? stream[i - 1] : (uint32_t)((i * 7) % V));
		if (i > 0 && stream[i] == stream[i - 1])
			n_same++;
	}
	double want = -(n_same * same + (N - 1 - n_same) * other) / (N - 1);
	int seqs[3] = {5, 17, 64};
	for (int s = 0; s < 3; s++) {
		lmod.batch_tokens = 128;
		ppl_result r;
		ppl_run(&lmod, read_stream, NULL, (uint64_t)N, seqs[s], 0, &r, NULL, NULL);
		ok(r.tokens == (uint64_t)N - 1 && fabs(r.loss_sum / r.tokens - want) < 1e-5,
		   "ppl, windows of %d: loss %.6f (hand: %.6f, %d repeats)", seqs[s],
		   r.loss_sum / r.tokens, want, n_same);
	}
	gemma3_acts_free(lm.acts);
	gemma3_model_free(m);
	free(params);
	return done_testing();
}
