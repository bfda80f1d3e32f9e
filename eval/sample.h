/* sample.h - choosing the next token (temperature, top-k, top-p) with a
 * seeded generator, and writing UTF-8 text that arrives split across
 * tokens. */
#ifndef BONSAI_EVAL_SAMPLE_H
#define BONSAI_EVAL_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* xoshiro256**, seeded through splitmix64. */
typedef struct {
	uint64_t s[4];
} rng_t;
void rng_seed(rng_t *r, uint64_t seed);
uint64_t rng_next(rng_t *r);
double rng_uniform(rng_t *r); /* [0, 1) */

typedef struct {
	float temperature; /* 0 = greedy (argmax) */
	int top_k;         /* 0 = off */
	float top_p;       /* 1 = off */
} sampler_opts;

typedef struct {
	int *idx;
	double *p;
	int cap;
} sampler;

/* The token chosen from logits [V]: softmax(logits / temperature), keeping
 * the top_k most likely, then the fewest most likely whose probability
 * sums to top_p (renormalised), as Hugging Face's warpers do. */
int sample_token(sampler *s, const float *logits, int V, const sampler_opts *o, rng_t *r);
void sampler_free(sampler *s);

/* Bytes in, well-formed UTF-8 out: a sequence split across tokens is held
 * back until complete; ill-formed bytes become U+FFFD (one per maximal
 * ill-formed subpart, by utf8_decode in lib/utf8.h, as Python's "replace"
 * does). */
typedef struct {
	unsigned char pend[4]; /* the start of a sequence held back */
	int n;
} utf8_stream;
void utf8_stream_feed(utf8_stream *u, const char *p, size_t n, buf_t *out);
/* Ends the text: a sequence left incomplete becomes U+FFFD. */
void utf8_stream_finish(utf8_stream *u, buf_t *out);

#endif
