/* lm_gpu.c - eval_lm on the GPU: the model as an inference-only
 * gemma3_gpu (lib/cuda/gemma3_gpu.h), scored there so that no logits
 * come back to the host. Without BONSAI_CUDA (no nvcc at build time) it
 * only says so. */
#include "lm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifdef BONSAI_CUDA
#include "cuda/gemma3_gpu.h"

int eval_gpu_probe(char *why, size_t n)
{
	return gemma3_gpu_probe(why, n);
}

static void gpu_close(void *lm)
{
	eval_lm_gpu_close(lm);
}

/* The model's parameters as the GPU code wants them: a vocabulary that is
 * a multiple of 8, the embedding padded with zero rows (which scoring and
 * generation leave out). c gets the padded config; *owned what to free. */
static const float *gpu_params(eval_lm *lm, gemma3_config *c, float **owned)
{
	*c = *lm->cfg;
	*owned = NULL;
	int V = c->vocab_size, Vp = (V + 7) / 8 * 8;
	size_t d = (size_t)c->hidden_size, P = gemma3_num_params(lm->cfg);
	const float *params = gemma3_model_params(lm->model);
	if (Vp == V)
		return params;
	c->vocab_size = Vp;
	size_t Pp = gemma3_num_params(c), emb = (size_t)V * d, pad = (size_t)(Vp - V) * d;
	if (Pp != P + pad)
		die("internal error: the embedding is not the first tensor of the layout");
	float *padded = xmalloc(Pp * sizeof *padded);
	memcpy(padded, params, emb * sizeof *padded);
	memset(padded + emb, 0, pad * sizeof *padded);
	memcpy(padded + emb + pad, params + emb, (P - emb) * sizeof *padded);
	return *owned = padded;
}

/* max_T > 0 with max_tokens < 0: a decoder of max_T positions */
static int gpu_open(eval_lm *lm, long max_tokens, int max_T, char *err, size_t n)
{
	char why[512];
	if (!gemma3_gpu_probe(why, sizeof why)) {
		snprintf(err, n, "no usable GPU: %s", why);
		return -1;
	}
	eval_lm_gpu_close(lm);
	gemma3_config c;
	float *owned;
	const float *params = gpu_params(lm, &c, &owned);
	gemma3_gpu *g = max_tokens < 0 ? gemma3_gpu_create_decoder(&c, max_T, err, n)
				       : gemma3_gpu_create_infer(&c, max_tokens, max_T, err, n);
	if (!g) {
		free(owned);
		return -1;
	}
	gemma3_gpu_set_params(g, params, NULL, NULL);
	free(owned);
	snprintf(lm->gpu_name, sizeof lm->gpu_name, "%s", gemma3_gpu_device_name(g));
	lm->gpu = g;
	lm->gpu_close = gpu_close;
	lm->gpu_vocab = c.vocab_size;
	return 0;
}

int eval_lm_gpu_open(eval_lm *lm, long max_tokens, int max_T, char *err, size_t n)
{
	return gpu_open(lm, max_tokens, max_T, err, n);
}

int eval_lm_gpu_open_decoder(eval_lm *lm, int max_T, char *err, size_t n)
{
	return gpu_open(lm, -1, max_T, err, n);
}

void eval_lm_gpu_decode(eval_lm *lm, const int32_t *tokens, int n, int pos, float *logits)
{
	size_t V = (size_t)lm->cfg->vocab_size, Vp = (size_t)lm->gpu_vocab;
	if (Vp == V) {
		gemma3_gpu_decode(lm->gpu, tokens, n, pos, logits);
		return;
	}
	if (!lm->gpu_logits)
		lm->gpu_logits = xmalloc(Vp * sizeof *lm->gpu_logits);
	gemma3_gpu_decode(lm->gpu, tokens, n, pos, lm->gpu_logits);
	memcpy(logits, lm->gpu_logits, V * sizeof *logits);
}

void eval_lm_gpu_close(eval_lm *lm)
{
	if (lm->gpu)
		gemma3_gpu_free(lm->gpu);
	free(lm->gpu_lp);
	free(lm->gpu_greedy);
	free(lm->gpu_logits);
	lm->gpu_logits = NULL;
	lm->gpu = NULL;
	lm->gpu_lp = NULL;
	lm->gpu_greedy = NULL;
	lm->gpu_cap = 0;
}

void eval_lm_logprobs(void *arg, const int32_t *tokens, const int32_t *targets, int B, int T,
		      double *lp, int *greedy)
{
	eval_lm *lm = arg;
	size_t N = (size_t)B * T;
	if (N > lm->gpu_cap) {
		lm->gpu_cap = N;
		lm->gpu_lp = xreallocarray(lm->gpu_lp, N, sizeof *lm->gpu_lp);
		lm->gpu_greedy = xreallocarray(lm->gpu_greedy, N, sizeof *lm->gpu_greedy);
	}
	gemma3_gpu_logprobs(lm->gpu, tokens, targets, B, T, lm->cfg->vocab_size, lm->gpu_lp,
			     lm->gpu_greedy);
	for (size_t i = 0; i < N; i++) {
		lp[i] = lm->gpu_lp[i];
		if (greedy)
			greedy[i] = lm->gpu_greedy[i];
	}
}

#else

int eval_gpu_probe(char *why, size_t n)
{
	snprintf(why, n, "built without CUDA (nvcc was not found at build time)");
	return 0;
}

int eval_lm_gpu_open(eval_lm *lm, long max_tokens, int max_T, char *err, size_t n)
{
	(void)lm; (void)max_tokens; (void)max_T;
	snprintf(err, n, "built without CUDA (nvcc was not found at build time)");
	return -1;
}

int eval_lm_gpu_open_decoder(eval_lm *lm, int max_T, char *err, size_t n)
{
	(void)lm; (void)max_T;
	snprintf(err, n, "built without CUDA (nvcc was not found at build time)");
	return -1;
}

void eval_lm_gpu_close(eval_lm *lm)
{
	(void)lm;
}

void eval_lm_gpu_decode(eval_lm *lm, const int32_t *tokens, int n, int pos, float *logits)
{
	(void)lm; (void)tokens; (void)n; (void)pos; (void)logits;
	die("internal error: no GPU in this build");
}

void eval_lm_logprobs(void *lm, const int32_t *tokens, const int32_t *targets, int B, int T,
		      double *lp, int *greedy)
{
	(void)lm; (void)tokens; (void)targets; (void)B; (void)T; (void)lp; (void)greedy;
	die("internal error: no GPU in this build");
}

#endif
