/* cpu_backend.c - the reference backend: lib/gemma3_forward.c and
 * gemma3_backward.c in fp32 with OpenMP. Deterministic: the same inputs give the
 * same bits whatever the thread count (every reduction has a fixed order
 * per output element). Data parallel, each rank keeps the AdamW moments
 * of its slice [lo, hi) of the parameters only (ZeRO-1); one process is the
 * slice [0, n). */
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
	size_t n, lo, hi;
	dist *d;              /* NULL: one process */
	float *params, *grads;
	float *m, *v;         /* [hi - lo] */
	gemma3_param_info *table;
	int n_tensors;
	unsigned char *decay;
	gemma3_acts *acts;
	grad_scratch *scratch;
	double *norm_parts;   /* grad_norm's chunk sums, made once with the rest */
} cpu;

/* Values a grad_norm chunk sums. */
#define NORM_CHUNK ((size_t)1 << 16)

static void set_params(backend *b, const float *p, const float *m, const float *v)
{
	cpu *s = b->impl;
	size_t k = s->hi - s->lo;
	memcpy(s->params, p, s->n * sizeof(float));
	if (m)
		memcpy(s->m, m + s->lo, k * sizeof(float));
	else
		memset(s->m, 0, k * sizeof(float));
	if (v)
		memcpy(s->v, v + s->lo, k * sizeof(float));
	else
		memset(s->v, 0, k * sizeof(float));
}

/* Every rank's slice of the moments into the whole array out. */
static void gather_slices(cpu *s, const float *mine, float *out)
{
	memcpy(out + s->lo, mine, (s->hi - s->lo) * sizeof(float));
	if (s->d && dist_allgather(s->d, out, s->n))
		die("%s", dist_error(s->d));
}

static void get_params(backend *b, float *p, float *m, float *v)
{
	cpu *s = b->impl;
	if (p)
		memcpy(p, s->params, s->n * sizeof(float));
	if (m)
		gather_slices(s, s->m, m);
	if (v)
		gather_slices(s, s->v, v);
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

/* The forward pass and its loss over in and tg; dies on an error. */
static void forward_loss(cpu *s, const int32_t *in, const int32_t *tg, double *loss, long *cnt)
{
	char err[512];
	if (gemma3_forward(&s->c, s->params, s->acts, in, err, sizeof err) ||
	    gemma3_loss(&s->c, s->acts, tg, loss, cnt, err, sizeof err))
		die("%s", err);
}

static double fwd_bwd(backend *b, const int32_t *in, const int32_t *tg, float grad_scale)
{
	cpu *s = b->impl;
	long cnt;
	double loss;
	char err[512];
	forward_loss(s, in, tg, &loss, &cnt);
	if (!cnt)
		return NAN;
	if (gemma3_backward(&s->c, s->params, s->acts, in, tg, grad_scale / (float)cnt, s->grads,
			    s->scratch, err, sizeof err))
		die("%s", err);
	return loss;
}

static double eval_loss(backend *b, const int32_t *in, const int32_t *tg)
{
	cpu *s = b->impl;
	long cnt;
	double loss;
	forward_loss(s, in, tg, &loss, &cnt);
	return cnt ? loss : NAN;
}

static void logits(backend *b, const int32_t *in, float *out)
{
	cpu *s = b->impl;
	char err[512];
	if (gemma3_forward(&s->c, s->params, s->acts, in, err, sizeof err))
		die("%s", err);
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
	/* Fixed-size chunks summed in order: the same bits for any thread
	 * count; then the ranks' sums of squares of their slices. */
	const float *g = s->grads + s->lo;
	size_t n = s->hi - s->lo, chunk = NORM_CHUNK, nch = (n + chunk - 1) / chunk;
	double *part = s->norm_parts;
#pragma omp parallel for schedule(static)
	for (size_t k = 0; k < nch; k++) {
		double a = 0;
		size_t end = (k + 1) * chunk < n ? (k + 1) * chunk : n;
		for (size_t i = k * chunk; i < end; i++)
			a += (double)g[i] * g[i];
		part[k] = a;
	}
	for (size_t k = 0; k < nch; k++)
		ss += part[k];
	if (s->d && dist_allreduce_sum(s->d, &ss, 1))
		die("%s", dist_error(s->d));
	return sqrt(ss);
}

static void adamw(backend *b, double lr, double b1, double b2, double eps, double wd,
		  float clip_scale, long step)
{
	cpu *s = b->impl;
	adamw_hparams h = { lr, b1, b2, eps };
	for (int i = 0; i < s->n_tensors; i++) {
		/* the part of tensor i in this rank's slice */
		size_t a = s->table[i].offset, e = a + s->table[i].numel;
		a = a > s->lo ? a : s->lo;
		e = e < s->hi ? e : s->hi;
		if (a >= e)
			continue;
		adamw_update(s->params + a, s->grads + a, s->m + (a - s->lo), s->v + (a - s->lo), e - a,
			     &h, s->decay[i] ? wd : 0.0, step, clip_scale);
	}
	if (s->d && dist_allgather(s->d, s->params, s->n))
		die("%s", dist_error(s->d));
}

static void set_dist(backend *b, dist *d)
{
	cpu *s = b->impl;
	s->d = d;
	dist_slice(s->n, dist_world(d), dist_rank(d), &s->lo, &s->hi);
	free(s->m);
	free(s->v);
	s->m = xcalloc(s->hi - s->lo + 1, sizeof(float));
	s->v = xcalloc(s->hi - s->lo + 1, sizeof(float));
}

static void sync_grads(backend *b)
{
	cpu *s = b->impl;
	if (s->d && dist_reduce_scatter(s->d, s->grads, s->n))
		die("%s", dist_error(s->d));
}

static size_t optimizer_bytes(backend *b)
{
	cpu *s = b->impl;
	return 2 * (s->hi - s->lo) * sizeof(float);
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
	free(s->norm_parts);
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
	s->hi = s->n;
	s->params = xcalloc(s->n, sizeof(float));
	s->grads = xcalloc(s->n, sizeof(float));
	s->m = xcalloc(s->n, sizeof(float));
	s->v = xcalloc(s->n, sizeof(float));
	s->norm_parts = xcalloc(s->n / NORM_CHUNK + 1, sizeof *s->norm_parts);
	char err[512];
	s->n_tensors = gemma3_param_table(c, &s->table, err, sizeof err);
	if (s->n_tensors < 0)
		die("%s", err);
	s->decay = xmalloc(s->n_tensors);
	memset(s->decay, 1, s->n_tensors);
	if (!(s->acts = gemma3_acts_new(c, B, T, 1, err, sizeof err)) ||
	    !(s->scratch = grad_scratch_new(c, B, T, err, sizeof err)))
		die("%s; a smaller --micro-batch (or --seq) needs less", err);
	backend *b = xcalloc(1, sizeof *b);
	int threads = omp_get_max_threads();
	snprintf(b->device, sizeof b->device, "cpu, %d thread%s", threads, threads == 1 ? "" : "s");
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
	b->set_dist = set_dist;
	b->sync_grads = sync_grads;
	b->optimizer_bytes = optimizer_bytes;
	b->free = cpu_free;
	return b;
}
