/* cuda_backend.c - the backend interface over lib/cuda/gemma3_gpu.h.
 * Without BONSAI_CUDA (no nvcc at build time) it only reports that. */
#include "backend.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef BONSAI_CUDA
#include "cuda/gemma3_gpu.h"

static gemma3_gpu *G(backend *b) { return b->impl; }

static void set_params(backend *b, const float *p, const float *m, const float *v)
{
	gemma3_gpu_set_params(G(b), p, m, v);
}
static void get_params(backend *b, float *p, float *m, float *v)
{
	gemma3_gpu_get_params(G(b), p, m, v);
}
static void set_decay_mask(backend *b, const unsigned char *mask)
{
	gemma3_gpu_set_decay_mask(G(b), mask);
}
static void zero_grad(backend *b) { gemma3_gpu_zero_grad(G(b)); }
static double fwd_bwd(backend *b, const int32_t *in, const int32_t *tg, float grad_scale)
{
	return gemma3_gpu_fwd_bwd(G(b), in, tg, grad_scale);
}
static double eval_loss(backend *b, const int32_t *in, const int32_t *tg)
{
	return gemma3_gpu_eval_loss(G(b), in, tg);
}
static void logits(backend *b, const int32_t *in, float *out) { gemma3_gpu_logits(G(b), in, out); }
static void get_grads(backend *b, float *g) { gemma3_gpu_get_grads(G(b), g); }
static double grad_norm(backend *b) { return gemma3_gpu_grad_norm(G(b)); }
static void adamw(backend *b, double lr, double b1, double b2, double eps, double wd,
		  float clip_scale, long step)
{
	gemma3_gpu_adamw(G(b), (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, clip_scale,
			  (int)step);
}
static void cuda_free(backend *b)
{
	gemma3_gpu_free(G(b));
	free(b);
}

int cuda_backend_available(void)
{
	char why[256];
	return gemma3_gpu_probe(why, sizeof why);
}

backend *cuda_backend_new(const gemma3_config *c, int B, int T, int recompute, char *err,
			  size_t errlen)
{
	char why[512];
	if (!gemma3_gpu_probe(why, sizeof why)) {
		snprintf(err, errlen, "no usable GPU: %s", why);
		return NULL;
	}
	gemma3_gpu *g = gemma3_gpu_create(c, B, T, recompute, err, errlen);
	if (!g)
		return NULL;
	backend *b = xcalloc(1, sizeof *b);
	snprintf(b->device, sizeof b->device, "%s", gemma3_gpu_device_name(g));
	b->impl = g;
	b->set_params = set_params;
	b->get_params = get_params;
	b->set_decay_mask = set_decay_mask;
	b->zero_grad = zero_grad;
	b->fwd_bwd = fwd_bwd;
	b->eval_loss = eval_loss;
	b->logits = logits;
	b->get_grads = get_grads;
	b->grad_norm = grad_norm;
	b->adamw = adamw;
	b->free = cuda_free;
	return b;
}

#else

int cuda_backend_available(void) { return 0; }

backend *cuda_backend_new(const gemma3_config *c, int B, int T, int recompute, char *err,
			  size_t errlen)
{
	(void)c; (void)B; (void)T; (void)recompute;
	snprintf(err, errlen, "--device cuda: built without CUDA (nvcc was not found at build time)");
	return NULL;
}

#endif
