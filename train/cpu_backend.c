/* cpu_backend.c - the reference backend: lib/gemma3_forward.c and
 * gemma3_backward.c in fp32 with OpenMP. Deterministic: the same inputs give the
 * same bits whatever the thread count (every reduction has a fixed order
 * per output element). */
#include "adamw.h"
#include "backend.h"
#include "gemma3.h"
#include "cli.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	gemma3_config c;
	int B, T;
	size_t n;
	float *params, *grads, *m, *v;
	gemma3_param_info *table;
	int n_tensors;
	unsigned char *decay;
	gemma3_acts *acts;
	grad_scratch *scratch;
} cpu;

static void set_params(backend *b, const float *p, const float *m, const float *v)
{
	cpu *s = b->impl;
	memcpy(s->params, p, s->n * sizeof(float));
	if (m)
		memcpy(s->m, m, s->n * sizeof(float));
	else
		memset(s->m, 0, s->n * sizeof(float));
	if (v)
		memcpy(s->v, v, s->n * sizeof(float));
	else
		memset(s->v, 0, s->n * sizeof(float));
}

static void get_params(backend *b, float *p, float *m, float *v)
{
	cpu *s = b->impl;
	if (p)
		memcpy(p, s->params, s->n * sizeof(float));
	if (m)
		memcpy(m, s->m, s->n * sizeof(float));
	if (v)
		memcpy(v, s->v, s->n * sizeof(float));
}

static void set_decay_mask(backend *b, const unsigned char *mask)
{
	cpu *s = b->impl;
	for (int i = 0; i < s->n_tensors; i++)
		s->decay[i] = mask ? mask[i] : 1;
}

static void zero_grad(backend *b)
{
	cpu *s = b->impl;
	memset(s->grads, 0, s->n * sizeof(float));
}

static double fwd_bwd(backend *b, const int32_t *in, const int32_t *tg, float grad_scale)
{
	cpu *s = b->impl;
	long cnt;
	gemma3_forward(&s->c, s->params, s->acts, in);
	double loss = gemma3_loss(&s->c, s->acts, tg, &cnt);
	if (!cnt)
		return NAN;
	gemma3_backward(&s->c, s->params, s->acts, in, tg, grad_scale / (float)cnt, s->grads, s->scratch);
	return loss;
}

static double eval_loss(backend *b, const int32_t *in, const int32_t *tg)
{
	cpu *s = b->impl;
	long cnt;
	gemma3_forward(&s->c, s->params, s->acts, in);
	double loss = gemma3_loss(&s->c, s->acts, tg, &cnt);
	return cnt ? loss : NAN;
}

static void logits(backend *b, const int32_t *in, float *out)
{
	cpu *s = b->impl;
	gemma3_forward(&s->c, s->params, s->acts, in);
	memcpy(out, s->acts->logits, (size_t)s->B * s->T * s->c.vocab_size * sizeof(float));
}

static void get_grads(backend *b, float *g)
{
	cpu *s = b->impl;
	memcpy(g, s->grads, s->n * sizeof(float));
}

static double grad_norm(backend *b)
{
	cpu *s = b->impl;
	double ss = 0;
	/* Fixed-size chunks summed in order: the same bits for any thread count. */
	size_t chunk = 1 << 16, nch = (s->n + chunk - 1) / chunk;
	double *part = xcalloc(nch, sizeof *part);
#pragma omp parallel for schedule(static)
	for (size_t k = 0; k < nch; k++) {
		double a = 0;
		size_t end = (k + 1) * chunk < s->n ? (k + 1) * chunk : s->n;
		for (size_t i = k * chunk; i < end; i++)
			a += (double)s->grads[i] * s->grads[i];
		part[k] = a;
	}
	for (size_t k = 0; k < nch; k++)
		ss += part[k];
	free(part);
	return sqrt(ss);
}

static void adamw(backend *b, double lr, double b1, double b2, double eps, double wd,
		  float clip_scale, long step)
{
	cpu *s = b->impl;
	adamw_hparams h = { lr, b1, b2, eps };
	for (int i = 0; i < s->n_tensors; i++) {
		size_t o = s->table[i].offset;
		adamw_update(s->params + o, s->grads + o, s->m + o, s->v + o, s->table[i].numel, &h,
			     s->decay[i] ? wd : 0.0, step, clip_scale);
	}
}

static void cpu_free(backend *b)
{
	cpu *s = b->impl;
	free(s->params);
	free(s->grads);
	free(s->m);
	free(s->v);
	free(s->table);
	free(s->decay);
	gemma3_acts_free(s->acts);
	grad_scratch_free(s->scratch);
	free(s);
	free(b);
}

backend *cpu_backend_new(const gemma3_config *c, int B, int T)
{
	cpu *s = xcalloc(1, sizeof *s);
	s->c = *c;
	s->B = B;
	s->T = T;
	s->n = gemma3_num_params(c);
	s->params = xcalloc(s->n, sizeof(float));
	s->grads = xcalloc(s->n, sizeof(float));
	s->m = xcalloc(s->n, sizeof(float));
	s->v = xcalloc(s->n, sizeof(float));
	s->n_tensors = gemma3_param_table(c, &s->table);
	s->decay = xmalloc(s->n_tensors);
	memset(s->decay, 1, s->n_tensors);
	s->acts = gemma3_acts_new(c, B, T, 1);
	s->scratch = grad_scratch_new(c, B, T);
	backend *b = xcalloc(1, sizeof *b);
	snprintf(b->device, sizeof b->device, "cpu, %d threads", omp_get_max_threads());
	b->impl = s;
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
	b->free = cpu_free;
	return b;
}
