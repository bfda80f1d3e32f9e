/* cuda_backend.c - the backend interface over train/cuda/gpu_trainer.h.
 * Without BONSAI_CUDA (no nvcc at build time) it only reports that. */
#include "backend.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef BONSAI_CUDA
#include "cuda/gpu_trainer.h"

static gpu_trainer *G(backend *b) { return b->impl; }

static void set_params(backend *b, const float *p, const float *m, const float *v)
{
	gpu_trainer_set_params(G(b), p, m, v);
}
static void get_params(backend *b, float *p, float *m, float *v)
{
	gpu_trainer_get_params(G(b), p, m, v);
}
static void set_decay_mask(backend *b, const unsigned char *mask)
{
	gpu_trainer_set_decay_mask(G(b), mask);
}
static void zero_grad(backend *b) { gpu_trainer_zero_grad(G(b)); }
static double fwd_bwd(backend *b, const int32_t *in, const int32_t *tg, float grad_scale)
{
	return gpu_trainer_fwd_bwd(G(b), in, tg, grad_scale);
}
static double eval_loss(backend *b, const int32_t *in, const int32_t *tg)
{
	return gpu_trainer_eval_loss(G(b), in, tg);
}
static void logits(backend *b, const int32_t *in, float *out) { gpu_trainer_logits(G(b), in, out); }
static void get_grads(backend *b, float *g) { gpu_trainer_get_grads(G(b), g); }
static double grad_norm(backend *b) { return gpu_trainer_grad_norm(G(b)); }
static void adamw(backend *b, double lr, double b1, double b2, double eps, double wd,
		  float clip_scale, long step)
{
	gpu_trainer_adamw(G(b), (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, clip_scale,
			  (int)step);
}
static void cuda_free(backend *b)
{
	gpu_trainer_free(G(b));
	free(b);
}

int cuda_backend_available(void)
{
	char why[256];
	return gpu_trainer_probe(why, sizeof why);
}

backend *cuda_backend_new(const gemma3_config *c, int B, int T, int recompute, char *err,
			  size_t errlen)
{
	char why[512];
	if (!gpu_trainer_probe(why, sizeof why)) {
		snprintf(err, errlen, "no usable GPU: %s", why);
		return NULL;
	}
	gpu_trainer *g = gpu_trainer_create(c, B, T, recompute, err, errlen);
	if (!g)
		return NULL;
	backend *b = xcalloc(1, sizeof *b);
	snprintf(b->device, sizeof b->device, "%s", gpu_trainer_device_name(g));
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
