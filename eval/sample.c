/* sample.c - see sample.h. */
#include "sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hash.h"
#include "utf8.h"

void rng_seed(rng_t *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(rng_t *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double rng_uniform(rng_t *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* qsort has no context argument: the logits being sorted. */
static const float *g_logits;

static int by_logit_desc(const void *a, const void *b)
{
	int i = *(const int *)a, j = *(const int *)b;
	if (g_logits[i] != g_logits[j])
		return g_logits[i] > g_logits[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

int sample_token(sampler *s, const float *logits, int V, const sampler_opts *o, rng_t *r)
{
	if (o->temperature <= 0 || o->top_k == 1) {
		int best = 0;
		for (int v = 1; v < V; v++)
			if (logits[v] > logits[best])
				best = v;
		return best;
	}
	if (s->cap < V) {
		s->idx = xreallocarray(s->idx, (size_t)V, sizeof *s->idx);
		s->p = xreallocarray(s->p, (size_t)V, sizeof *s->p);
		s->cap = V;
	}
	int n = V;
	for (int v = 0; v < V; v++)
		s->idx[v] = v;
	if ((o->top_k > 0 && o->top_k < V) || o->top_p < 1) {
		g_logits = logits;
		qsort(s->idx, (size_t)V, sizeof *s->idx, by_logit_desc);
		if (o->top_k > 0 && o->top_k < V)
			n = o->top_k;
	}
	/* softmax over the kept tokens at this temperature */
	float mx = logits[s->idx[0]];
	for (int i = 1; i < n; i++)
		if (logits[s->idx[i]] > mx)
			mx = logits[s->idx[i]];
	double sum = 0;
	for (int i = 0; i < n; i++) {
		s->p[i] = exp(((double)logits[s->idx[i]] - mx) / o->temperature);
		sum += s->p[i];
	}
	if (o->top_p < 1) {
		/* keep a token while the mass before it is below top_p */
		double cum = 0;
		int keep = 0;
		while (keep < n && (keep == 0 || cum < o->top_p * sum)) {
			cum += s->p[keep];
			keep++;
		}
		n = keep;
		sum = cum;
	}
	double u = rng_uniform(r) * sum, acc = 0;
	for (int i = 0; i < n; i++) {
		acc += s->p[i];
		if (u < acc)
			return s->idx[i];
	}
	return s->idx[n - 1];
}

void sampler_free(sampler *s)
{
	free(s->idx);
	free(s->p);
	s->idx = NULL;
	s->p = NULL;
	s->cap = 0;
}

void utf8_stream_feed(utf8_stream *u, const char *p, size_t n, buf_t *out)
{
	size_t i = 0;
	/* First complete (or give up on) the sequence held back last time. */
	while (u->n > 0 && i < n) {
		int32_t cp;
		u->pend[u->n++] = (unsigned char)p[i++];
		size_t k = utf8_decode((const char *)u->pend, (size_t)u->n, &cp);
		if (cp == UTF8_TRUNCATED)
			continue;
		if (cp >= 0) {
			buf_append(out, u->pend, k);
		} else {
			/* the held bytes were a maximal subpart; the new byte that
			 * broke them is read again below */
			buf_append(out, UTF8_REPLACEMENT, 3);
			i -= (size_t)u->n - k;
		}
		u->n = 0;
	}
	while (i < n) {
		int32_t cp;
		size_t k = utf8_decode(p + i, n - i, &cp);
		if (cp == UTF8_TRUNCATED) {
			memcpy(u->pend, p + i, k);
			u->n = (int)k;
		} else if (cp >= 0) {
			buf_append(out, p + i, k);
		} else {
			buf_append(out, UTF8_REPLACEMENT, 3);
		}
		i += k;
	}
}

void utf8_stream_finish(utf8_stream *u, buf_t *out)
{
	if (u->n > 0)
		buf_append(out, UTF8_REPLACEMENT, 3);
	u->n = 0;
}
