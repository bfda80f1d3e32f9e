/* train_bpe.c - the BPE trainer. Every distinct word is a list of symbols
 * with a count; each pair of adjacent symbols has a total count and a list
 * of the words it occurs in. A max-heap with lazy entries picks the best
 * pair; merging it rewrites only the words on its list, adjusting the
 * counts of the pairs around each occurrence. */
#include "train.h"
#include "cli.h"
#include "bpe.h"
#include "tokenizer_maps.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	uint32_t a, b;
	int64_t count;
	uint32_t *words; /* may hold a word twice or a word no longer with the pair */
	uint32_t n_words, cap_words;
} pair_info;

typedef struct {
	u64map index;    /* (a << 32 | b) -> pair number */
	pair_info *p;
	size_t n, cap;
	size_t hn, hcap;
	struct heap_entry { int64_t count; uint32_t a, b; } *h;
	/* the pairs that gained in this merge, each once */
	size_t *new_pairs, n_new, cap_new;
	size_t *touched, touched_at_size;
} trainer;

static void touch(trainer *T, size_t np, size_t m)
{
	if (np >= T->touched_at_size) {
		size_t n = T->cap > np ? T->cap : np + 1;
		T->touched = xreallocarray(T->touched, n, sizeof *T->touched);
		for (size_t i = T->touched_at_size; i < n; i++)
			T->touched[i] = SIZE_MAX;
		T->touched_at_size = n;
	}
	if (T->touched[np] == m)
		return;
	T->touched[np] = m;
	if (T->n_new == T->cap_new) {
		T->cap_new = T->cap_new ? 2 * T->cap_new : 256;
		T->new_pairs = xreallocarray(T->new_pairs, T->cap_new, sizeof *T->new_pairs);
	}
	T->new_pairs[T->n_new++] = np;
}

static size_t pair_of(trainer *T, uint32_t a, uint32_t b)
{
	uint64_t v;
	if (u64map_get(&T->index, bpe_pair_key(a, b), &v))
		return (size_t)v;
	if (T->n == T->cap) {
		T->cap = T->cap ? 2 * T->cap : 1024;
		T->p = xreallocarray(T->p, T->cap, sizeof *T->p);
	}
	pair_info *p = &T->p[T->n];
	memset(p, 0, sizeof *p);
	p->a = a;
	p->b = b;
	if (u64map_put(&T->index, bpe_pair_key(a, b), T->n) < 0)
		die("out of memory for the index of %zu pairs", T->n + 1);
	return T->n++;
}

static void add_word(pair_info *p, uint32_t w)
{
	if (p->n_words && p->words[p->n_words - 1] == w)
		return;
	if (p->n_words == p->cap_words) {
		p->cap_words = p->cap_words ? 2 * p->cap_words : 4;
		p->words = xreallocarray(p->words, p->cap_words, sizeof *p->words);
	}
	p->words[p->n_words++] = w;
}

/* a better than b: more frequent, then the smaller pair */
static int better(const struct heap_entry *x, const struct heap_entry *y)
{
	if (x->count != y->count)
		return x->count > y->count;
	if (x->a != y->a)
		return x->a < y->a;
	return x->b < y->b;
}

static void heap_push(trainer *T, int64_t count, uint32_t a, uint32_t b)
{
	if (T->hn == T->hcap) {
		T->hcap = T->hcap ? 2 * T->hcap : 1024;
		T->h = xreallocarray(T->h, T->hcap, sizeof *T->h);
	}
	struct heap_entry x = { count, a, b };
	size_t i = T->hn++;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!better(&x, &T->h[up]))
			break;
		T->h[i] = T->h[up];
		i = up;
	}
	T->h[i] = x;
}

static struct heap_entry heap_pop(trainer *T)
{
	struct heap_entry top = T->h[0], x = T->h[--T->hn];
	size_t i = 0, n = T->hn;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && better(&T->h[c + 1], &T->h[c]))
			c++;
		if (!better(&T->h[c], &x))
			break;
		T->h[i] = T->h[c];
		i = c;
	}
	if (n)
		T->h[i] = x;
	return top;
}

size_t bpe_train(const word_counts *wc, uint32_t base, size_t max_merges,
		 uint64_t min_count, uint32_t **pairs_out)
{
	trainer T = { 0 };
	if (u64map_init(&T.index, 1 << 16) < 0)
		die("out of memory for the pair index");
	/* words as symbol lists: sym[start[w] .. start[w] + len[w]) */
	uint32_t *len = xmalloc((wc->n ? wc->n : 1) * sizeof *len);
	uint64_t *start = xmalloc((wc->n ? wc->n : 1) * sizeof *start);
	uint64_t total = wc->off[wc->n];
	uint32_t *sym = xmalloc((total ? total : 1) * sizeof *sym);
	if (wc->n > UINT32_MAX)
		die("train: too many distinct words");
	for (size_t w = 0; w < wc->n; w++) {
		start[w] = wc->off[w];
		len[w] = (uint32_t)(wc->off[w + 1] - wc->off[w]);
		for (uint32_t i = 0; i < len[w]; i++)
			sym[start[w] + i] = base + (unsigned char)wc->bytes.data[start[w] + i];
		for (uint32_t i = 0; i + 1 < len[w]; i++) {
			size_t p = pair_of(&T, sym[start[w] + i], sym[start[w] + i + 1]);
			T.p[p].count += (int64_t)wc->count[w];
			add_word(&T.p[p], (uint32_t)w);
		}
	}
	for (size_t p = 0; p < T.n; p++)
		heap_push(&T, T.p[p].count, T.p[p].a, T.p[p].b);

	uint32_t *pairs = xmalloc((max_merges ? max_merges : 1) * 2 * sizeof *pairs);
	size_t m = 0;
	double t0 = now_seconds();
	while (m < max_merges && T.hn) {
		cli_check_interrupt(); /* the output is open: stop by removing it */
		struct heap_entry e = heap_pop(&T);
		size_t pi = pair_of(&T, e.a, e.b);
		if (T.p[pi].count != e.count) { /* stale: its count went down */
			if (T.p[pi].count > 0)
				heap_push(&T, T.p[pi].count, e.a, e.b);
			continue;
		}
		if (e.count < (int64_t)min_count || e.count <= 0)
			break;
		uint32_t a = e.a, b = e.b, z = base + 256 + (uint32_t)m;
		pairs[2 * m] = a;
		pairs[2 * m + 1] = b;
		m++;
		/* the list moves out: new pairs may be added to T.p while we work */
		uint32_t *words = T.p[pi].words, nw = T.p[pi].n_words;
		T.p[pi].words = NULL;
		T.p[pi].n_words = T.p[pi].cap_words = 0;
		for (uint32_t k = 0; k < nw; k++) {
			uint32_t w = words[k];
			uint32_t *s = sym + start[w], n = len[w], o = 0;
			int64_t c = (int64_t)wc->count[w];
			int has = 0;
			for (uint32_t i = 0; i + 1 < n && !has; i++)
				has = s[i] == a && s[i + 1] == b;
			if (!has)
				continue; /* a stale entry of the list */
			/* take the word's pairs out, merge, put its pairs back */
			for (uint32_t i = 0; i + 1 < n; i++) {
				size_t q = pair_of(&T, s[i], s[i + 1]);
				T.p[q].count -= c;
			}
			for (uint32_t i = 0; i < n;) {
				if (i + 1 < n && s[i] == a && s[i + 1] == b) {
					s[o++] = z;
					i += 2;
				} else {
					s[o++] = s[i++];
				}
			}
			len[w] = o;
			for (uint32_t i = 0; i + 1 < o; i++) {
				size_t np = pair_of(&T, s[i], s[i + 1]);
				T.p[np].count += c;
				if (s[i] == z || s[i + 1] == z) {
					add_word(&T.p[np], w);
					touch(&T, np, m);
				}
			}
		}
		free(words);
		/* only the pairs holding z gained: push them with their counts */
		for (size_t k = 0; k < T.n_new; k++) {
			size_t np = T.new_pairs[k];
			if (T.p[np].count > 0)
				heap_push(&T, T.p[np].count, T.p[np].a, T.p[np].b);
		}
		T.n_new = 0;
		if (m % 1000 == 0)
			progress(0, "train: %zu merges, %.1f s", m, now_seconds() - t0);
	}
	*pairs_out = pairs;
	for (size_t p = 0; p < T.n; p++)
		free(T.p[p].words);
	free(T.p);
	free(T.h);
	free(T.new_pairs);
	free(T.touched);
	u64map_free(&T.index);
	free(sym);
	free(len);
	free(start);
	return m;
}
