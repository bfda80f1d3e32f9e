/* sample.c - see sample.h. */
#include "sample.h"

#include <math.h>
#include <stdlib.h>

#include "cli.h"
#include "hash.h"

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

static void put_replacement(buf_t *out) { buf_append(out, "\xEF\xBF\xBD", 3); }

/* Whether c may follow the bytes u->pend[0..n) (the ranges of RFC 3629). */
static int continues(const utf8_stream *u, unsigned char c)
{
	if (c < 0x80 || c > 0xBF)
		return 0;
	if (u->n == 1) {
		unsigned char l = u->pend[0];
		if (l == 0xE0) return c >= 0xA0;
		if (l == 0xED) return c <= 0x9F;
		if (l == 0xF0) return c >= 0x90;
		if (l == 0xF4) return c <= 0x8F;
	}
	return 1;
}

void utf8_stream_feed(utf8_stream *u, const char *p, size_t n, buf_t *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (u->n > 0) {
			if (continues(u, c)) {
				u->pend[u->n++] = c;
				if (u->n == u->need) {
					buf_append(out, u->pend, (size_t)u->n);
					u->n = 0;
				}
				continue;
			}
			/* the pending bytes are a maximal ill-formed subpart */
			put_replacement(out);
			u->n = 0;
		}
		if (c < 0x80) {
			buf_putc(out, (char)c);
		} else if (c >= 0xC2 && c <= 0xF4) {
			u->pend[0] = c;
			u->n = 1;
			u->need = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		} else {
			put_replacement(out);
		}
	}
}

void utf8_stream_finish(utf8_stream *u, buf_t *out)
{
	if (u->n > 0)
		put_replacement(out);
	u->n = 0;
}
