/* data.c - see data.h. */
#include "data.h"
#include "cli.h"
#include "hash.h"

#include <stdlib.h>

/* Fisher-Yates from a generator seeded by (seed, epoch). */
static void shuffle(loader *l)
{
	uint64_t st = l->seed * 0xD1B54A32D192ED03ull + l->epoch + 1;
	for (uint64_t i = 0; i < l->n_windows; i++)
		l->order[i] = i;
	for (uint64_t i = l->n_windows; i > 1; i--) {
		uint64_t j = splitmix64(&st) % i, t = l->order[i - 1];
		l->order[i - 1] = l->order[j];
		l->order[j] = t;
	}
}

loader *loader_new(const shardset *s, int T, uint64_t seed)
{
	loader *l = xcalloc(1, sizeof *l);
	l->s = s;
	l->T = T;
	l->seed = seed;
	l->n_windows = s->n_tokens > 0 ? (s->n_tokens - 1) / (uint64_t)T : 0;
	if (l->n_windows == 0)
		die("the train split has %llu tokens: too few for one window of %d+1",
		    (unsigned long long)s->n_tokens, T);
	l->order = xreallocarray(NULL, l->n_windows, sizeof *l->order);
	l->buf = xmalloc(((size_t)T + 1) * sizeof *l->buf);
	shuffle(l);
	return l;
}

void loader_seek(loader *l, uint64_t epoch, uint64_t index)
{
	if (index > l->n_windows)
		die("data position %llu past the %llu windows of the train split (were the shards changed?)",
		    (unsigned long long)index, (unsigned long long)l->n_windows);
	if (epoch != l->epoch) {
		l->epoch = epoch;
		shuffle(l);
	}
	l->index = index;
}

void window_read(const shardset *s, int T, uint64_t w, int32_t *in, int32_t *tg, uint32_t *buf)
{
	shardset_read(s, w * (uint64_t)T, buf, (size_t)T + 1);
	for (int t = 0; t < T; t++) {
		in[t] = (int32_t)buf[t];
		tg[t] = (int32_t)buf[t + 1];
	}
}

void loader_next(loader *l, int B, int32_t *in, int32_t *tg)
{
	for (int b = 0; b < B; b++) {
		if (l->index == l->n_windows)
			loader_seek(l, l->epoch + 1, 0);
		window_read(l->s, l->T, l->order[l->index++], in + (size_t)b * l->T,
			    tg + (size_t)b * l->T, l->buf);
	}
}

void loader_skip(loader *l, uint64_t n)
{
	while (n) {
		if (l->index == l->n_windows)
			loader_seek(l, l->epoch + 1, 0);
		uint64_t k = l->n_windows - l->index < n ? l->n_windows - l->index : n;
		l->index += k;
		n -= k;
	}
}

void loader_free(loader *l)
{
	if (!l)
		return;
	free(l->order);
	free(l->buf);
	free(l);
}
