/* lm_gpu.c - eval_lm on the GPU: the model as an inference-only
 * gpu_trainer (train/cuda/gpu_trainer.h), scored there so that no logits
 * come back to the host. Without BONSAI_CUDA (no nvcc at build time) it
 * only says so. */
#include "lm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifdef BONSAI_CUDA
#include "../train/cuda/gpu_trainer.h"

int eval_gpu_probe(char *why, size_t n)
{
	return gpu_trainer_probe(why, n);
}

static void gpu_close(void *lm)
{
	eval_lm_gpu_close(lm);
}

int eval_lm_gpu_open(eval_lm *lm, long max_tokens, int max_T, char *err, size_t n)
{
	char why[512];
	if (!gpu_trainer_probe(why, sizeof why)) {
		snprintf(err, n, "no usable GPU: %s", why);
		return -1;
	}
	eval_lm_gpu_close(lm);
	/* The GPU code wants a vocabulary that is a multiple of 8: pad the
	 * embedding with zero rows, which the scoring leaves out. */
	gemma3_config c = *lm->cfg;
	int V = c.vocab_size, Vp = (V + 7) / 8 * 8;
	size_t d = (size_t)c.hidden_size, P = gemma3_num_params(lm->cfg);
	const float *params = gemma3_model_params(lm->model);
	float *padded = NULL;
	if (Vp != V) {
		c.vocab_size = Vp;
		size_t Pp = gemma3_num_params(&c), emb = (size_t)V * d, pad = (size_t)(Vp - V) * d;
		if (Pp != P + pad)
			die("internal error: the embedding is not the first tensor of the layout");
		padded = xmalloc(Pp * sizeof *padded);
		memcpy(padded, params, emb * sizeof *padded);
		memset(padded + emb, 0, pad * sizeof *padded);
		memcpy(padded + emb + pad, params + emb, (P - emb) * sizeof *padded);
		params = padded;
	}
	gpu_trainer *g = gpu_trainer_create_infer(&c, max_tokens, max_T, err, n);
	if (!g) {
		free(padded);
		return -1;
	}
	gpu_trainer_set_params(g, params, NULL, NULL);
	free(padded);
	snprintf(lm->gpu_name, sizeof lm->gpu_name, "%s", gpu_trainer_device_name(g));
	lm->gpu = g;
	lm->gpu_close = gpu_close;
	return 0;
}

void eval_lm_gpu_close(eval_lm *lm)
{
	if (lm->gpu)
		gpu_trainer_free(lm->gpu);
	free(lm->gpu_lp);
	free(lm->gpu_greedy);
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
	gpu_trainer_logprobs(lm->gpu, tokens, targets, B, T, lm->cfg->vocab_size, lm->gpu_lp,
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

void eval_lm_gpu_close(eval_lm *lm)
{
	(void)lm;
}

void eval_lm_logprobs(void *lm, const int32_t *tokens, const int32_t *targets, int B, int T,
		      double *lp, int *greedy)
{
	(void)lm; (void)tokens; (void)targets; (void)B; (void)T; (void)lp; (void)greedy;
	die("internal error: no GPU in this build");
}

#endif
