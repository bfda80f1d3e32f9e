/* bpe.c - see bpe.h. */
#include "bpe.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT64_MAX
#define DEAD UINT32_MAX
/* Up to this many symbols the O(n^2) scan beats the heap. */
#define SMALL 40

static inline uint64_t pair_val(const u64map *m, uint32_t a, uint32_t b)
{
	uint64_t v;
	return u64map_get(m, bpe_pair_key(a, b), &v) ? v : NONE;
}

static void reserve(bpe_scratch *s, size_t n)
{
	if (n <= s->cap)
		return;
	size_t cap = s->cap ? s->cap : 64;
	while (cap < n)
		cap *= 2;
	s->val = xreallocarray(s->val, cap, sizeof *s->val);
	s->prev = xreallocarray(s->prev, cap, sizeof *s->prev);
	s->next = xreallocarray(s->next, cap, sizeof *s->next);
	s->cap = cap;
}

/* tiktoken's loop: the rank of every adjacent pair in an array, scanned for
 * the minimum (the first one wins ties). Equal ranks mean equal values, so
 * comparing whole values compares ranks. */
static size_t merge_small(const u64map *m, uint32_t *ids, size_t n, uint64_t *val)
{
	for (size_t i = 0; i + 1 < n; i++)
		val[i] = pair_val(m, ids[i], ids[i + 1]);
	while (n > 1) {
		size_t best = 0;
		uint64_t bv = val[0];
		for (size_t i = 1; i + 1 < n; i++)
			if (val[i] < bv) {
				bv = val[i];
				best = i;
			}
		if (bv == NONE)
			break;
		ids[best] = (uint32_t)bv;
		memmove(ids + best + 1, ids + best + 2, (n - best - 2) * sizeof *ids);
		memmove(val + best + 1, val + best + 2, (n - best - 2) * sizeof *val);
		n--;
		if (best + 1 < n)
			val[best] = pair_val(m, ids[best], ids[best + 1]);
		if (best > 0)
			val[best - 1] = pair_val(m, ids[best - 1], ids[best]);
	}
	return n;
}

static void heap_push(bpe_scratch *s, size_t *hn, uint64_t x)
{
	if (*hn == s->heap_cap) {
		s->heap_cap = s->heap_cap ? s->heap_cap * 2 : 256;
		s->heap = xreallocarray(s->heap, s->heap_cap, sizeof *s->heap);
	}
	uint64_t *h = s->heap;
	size_t i = (*hn)++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (h[p] <= x)
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = x;
}

static uint64_t heap_pop(bpe_scratch *s, size_t *hn)
{
	uint64_t *h = s->heap, top = h[0], x = h[--*hn];
	size_t n = *hn, i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && h[c + 1] < h[c])
			c++;
		if (x <= h[c])
			break;
		h[i] = h[c];
		i = c;
	}
	if (n)
		h[i] = x;
	return top;
}

/* Heap entries are (rank << 32 | left position): the lowest rank first,
 * the leftmost among equals. Stale entries are recognised on pop by
 * looking the pair up again. */
static size_t merge_heap(const u64map *m, uint32_t *ids, size_t n, bpe_scratch *s)
{
	int32_t *prev = s->prev, *next = s->next;
	size_t hn = 0;
	for (size_t i = 0; i < n; i++) {
		prev[i] = (int32_t)i - 1;
		next[i] = i + 1 < n ? (int32_t)(i + 1) : -1;
		if (i + 1 < n) {
			uint64_t v = pair_val(m, ids[i], ids[i + 1]);
			if (v != NONE)
				heap_push(s, &hn, (v >> 32) << 32 | i);
		}
	}
	while (hn) {
		uint64_t top = heap_pop(s, &hn);
		uint32_t i = (uint32_t)top;
		if (ids[i] == DEAD || next[i] < 0)
			continue;
		int32_t j = next[i];
		uint64_t v = pair_val(m, ids[i], ids[j]);
		if (v == NONE || (v >> 32) != (top >> 32))
			continue;
		ids[i] = (uint32_t)v;
		ids[j] = DEAD;
		next[i] = next[j];
		if (next[j] >= 0)
			prev[next[j]] = (int32_t)i;
		if (prev[i] >= 0) {
			uint64_t pv = pair_val(m, ids[prev[i]], ids[i]);
			if (pv != NONE)
				heap_push(s, &hn, (pv >> 32) << 32 | (uint32_t)prev[i]);
		}
		if (next[i] >= 0) {
			uint64_t nv = pair_val(m, ids[i], ids[next[i]]);
			if (nv != NONE)
				heap_push(s, &hn, (nv >> 32) << 32 | i);
		}
	}
	size_t k = 0;
	for (int32_t i = 0; i >= 0; i = next[i])
		ids[k++] = ids[i];
	return k;
}

size_t bpe_merge(const u64map *merges, uint32_t *ids, size_t n, bpe_scratch *s)
{
	if (n < 2)
		return n;
	if (n > INT32_MAX)
		die("a piece of %zu symbols is too long to merge", n);
	reserve(s, n);
	if (n <= SMALL)
		return merge_small(merges, ids, n, s->val);
	return merge_heap(merges, ids, n, s);
}

void bpe_scratch_free(bpe_scratch *s)
{
	free(s->val);
	free(s->heap);
	free(s->prev);
	free(s->next);
	memset(s, 0, sizeof *s);
}
