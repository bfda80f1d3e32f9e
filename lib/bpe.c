/* bpe.c - see bpe.h. */
#include "bpe.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define DEAD UINT32_MAX
/* Up to this many symbols the O(n^2) scan beats the heap. */
#define SMALL 40

static unsigned bits_for(uint64_t n) /* bits to write 0 .. n-1 (at least 1) */
{
	unsigned b = 1;
	while (b < 64 && ((uint64_t)1 << b) < n)
		b++;
	return b;
}

void bpe_table_init(bpe_table *t, uint32_t vocab_size, uint32_t n_ranks, size_t expected)
{
	memset(t, 0, sizeof *t);
	t->ib = bits_for(vocab_size);
	t->rb = bits_for((uint64_t)n_ranks + 1); /* all ones is no rank */
	t->n_ranks = n_ranks;
	t->merged = tok_alloc_big((n_ranks ? n_ranks : 1) * sizeof *t->merged);
	memset(t->merged, 0, (n_ranks ? n_ranks : 1) * sizeof *t->merged);
	if (2 * t->ib + t->rb > 63) {
		t->wide = 1;
		u64map_init(&t->map, expected);
		return;
	}
	size_t n = 16;
	while (n < expected * 2 + 1)
		n <<= 1;
	t->slots = tok_alloc_big(n * sizeof *t->slots);
	memset(t->slots, 0xff, n * sizeof *t->slots);
	t->mask = n - 1;
}

static void table_grow(bpe_table *t)
{
	uint64_t *old = t->slots;
	size_t on = t->mask + 1, n = 2 * on;
	t->slots = tok_alloc_big(n * sizeof *t->slots);
	memset(t->slots, 0xff, n * sizeof *t->slots);
	t->mask = n - 1;
	for (size_t i = 0; i < on; i++) {
		if (old[i] == UINT64_MAX)
			continue;
		size_t j = u64map_mix(old[i] >> t->rb) & t->mask;
		while (t->slots[j] != UINT64_MAX)
			j = (j + 1) & t->mask;
		t->slots[j] = old[i];
	}
	free(old);
}

void bpe_table_put(bpe_table *t, uint32_t a, uint32_t b, uint32_t rank, uint32_t merged)
{
	if (rank >= t->n_ranks || (!t->wide && ((uint64_t)a >> t->ib || (uint64_t)b >> t->ib)))
		die("bpe_table_put: id or rank out of range");
	t->merged[rank] = merged;
	if (t->wide) {
		u64map_put(&t->map, bpe_pair_key(a, b), rank);
		return;
	}
	if ((t->count + 1) * 2 > t->mask + 1)
		table_grow(t);
	uint64_t key = (uint64_t)a << t->ib | b;
	size_t i = u64map_mix(key) & t->mask;
	while (t->slots[i] != UINT64_MAX && t->slots[i] >> t->rb != key)
		i = (i + 1) & t->mask;
	if (t->slots[i] == UINT64_MAX)
		t->count++;
	t->slots[i] = key << t->rb | rank;
}

void bpe_memo_clear(uint64_t *memo)
{
	memset(memo, 0xff, BPE_MEMO_SLOTS * sizeof *memo);
}

void bpe_table_free(bpe_table *t)
{
	free(t->slots);
	free(t->merged);
	if (t->wide)
		u64map_free(&t->map);
	memset(t, 0, sizeof *t);
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

static inline uint64_t *memo_slot(uint64_t *memo, uint64_t key)
{
	return &memo[u64map_mix(key) >> (64 - BPE_MEMO_BITS)];
}

/* The rank of (a, b) (BPE_NONE: none) from the memo or the table, and the
 * merged id of that rank fetched into the CPU cache while the loop goes
 * on: it is read only if the pair is merged. */
static inline uint32_t rank_of(const bpe_table *m, uint64_t *memo, uint32_t a, uint32_t b)
{
	uint32_t r;
	if (memo) {
		uint64_t key = (uint64_t)a << m->ib | b, *e = memo_slot(memo, key);
		uint64_t all = ((uint64_t)1 << m->rb) - 1;
		if (*e >> m->rb == key) {
			r = (uint32_t)(*e & all);
			if (r == all)
				return BPE_NONE;
		} else {
			r = bpe_rank(m, a, b);
			*e = key << m->rb | (r == BPE_NONE ? all : r);
		}
	} else {
		r = bpe_rank(m, a, b);
	}
	if (r != BPE_NONE)
		__builtin_prefetch(&m->merged[r]);
	return r;
}

/* Starts fetching the table slot of (a, b) unless the memo has the pair. */
static inline void pair_prefetch(const bpe_table *m, uint64_t *memo, uint32_t a, uint32_t b)
{
	uint64_t key = (uint64_t)a << m->ib | b;
	if (!memo || *memo_slot(memo, key) >> m->rb != key)
		__builtin_prefetch(&m->slots[u64map_mix(key) & m->mask]);
}

/* tiktoken's loop: the rank of every adjacent pair in an array, scanned for
 * the minimum (the first one wins ties). Most of its time is cache misses
 * in the merge table, so the slots of all first pairs that the memo does
 * not know are prefetched before any is read, and their merged ids as soon
 * as the ranks are known. */
static size_t merge_small(const bpe_table *m, uint32_t *ids, size_t n, uint32_t *val,
			  uint64_t *memo)
{
	int packed = !m->wide;
	if (packed)
		for (size_t i = 0; i + 1 < n; i++)
			pair_prefetch(m, memo, ids[i], ids[i + 1]);
	else
		memo = NULL;
	for (size_t i = 0; i + 1 < n; i++)
		val[i] = rank_of(m, memo, ids[i], ids[i + 1]);
	while (n > 1) {
		size_t best = 0;
		uint32_t bv = val[0];
		for (size_t i = 1; i + 1 < n; i++)
			if (val[i] < bv) {
				bv = val[i];
				best = i;
			}
		if (bv == BPE_NONE)
			break;
		ids[best] = m->merged[bv];
		memmove(ids + best + 1, ids + best + 2, (n - best - 2) * sizeof *ids);
		memmove(val + best + 1, val + best + 2, (n - best - 2) * sizeof *val);
		n--;
		if (packed) { /* both new pairs' misses at once */
			if (best + 1 < n)
				pair_prefetch(m, memo, ids[best], ids[best + 1]);
			if (best > 0)
				pair_prefetch(m, memo, ids[best - 1], ids[best]);
		}
		if (best + 1 < n)
			val[best] = rank_of(m, memo, ids[best], ids[best + 1]);
		if (best > 0)
			val[best - 1] = rank_of(m, memo, ids[best - 1], ids[best]);
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
static size_t merge_heap(const bpe_table *m, uint32_t *ids, size_t n, bpe_scratch *s)
{
	int32_t *prev = s->prev, *next = s->next;
	size_t hn = 0;
	for (size_t i = 0; i < n; i++) {
		prev[i] = (int32_t)i - 1;
		next[i] = i + 1 < n ? (int32_t)(i + 1) : -1;
		if (i + 1 < n) {
			uint32_t r = bpe_rank(m, ids[i], ids[i + 1]);
			if (r != BPE_NONE)
				heap_push(s, &hn, (uint64_t)r << 32 | i);
		}
	}
	while (hn) {
		uint64_t top = heap_pop(s, &hn);
		uint32_t i = (uint32_t)top;
		if (ids[i] == DEAD || next[i] < 0)
			continue;
		int32_t j = next[i];
		uint32_t r = bpe_rank(m, ids[i], ids[j]);
		if (r == BPE_NONE || r != (top >> 32))
			continue;
		ids[i] = m->merged[r];
		ids[j] = DEAD;
		next[i] = next[j];
		if (next[j] >= 0)
			prev[next[j]] = (int32_t)i;
		if (prev[i] >= 0) {
			uint32_t pr = bpe_rank(m, ids[prev[i]], ids[i]);
			if (pr != BPE_NONE)
				heap_push(s, &hn, (uint64_t)pr << 32 | (uint32_t)prev[i]);
		}
		if (next[i] >= 0) {
			uint32_t nr = bpe_rank(m, ids[i], ids[next[i]]);
			if (nr != BPE_NONE)
				heap_push(s, &hn, (uint64_t)nr << 32 | i);
		}
	}
	size_t k = 0;
	for (int32_t i = 0; i >= 0; i = next[i])
		ids[k++] = ids[i];
	return k;
}

size_t bpe_merge(const bpe_table *merges, uint32_t *ids, size_t n, bpe_scratch *s)
{
	if (n < 2)
		return n;
	if (n > INT32_MAX)
		die("a piece of %zu symbols is too long to merge", n);
	reserve(s, n);
	if (n <= SMALL)
		return merge_small(merges, ids, n, s->val, s->memo);
	return merge_heap(merges, ids, n, s);
}

void bpe_scratch_free(bpe_scratch *s)
{
	free(s->val);
	free(s->heap);
	free(s->prev);
	free(s->next);
	uint64_t *memo = s->memo;
	memset(s, 0, sizeof *s);
	s->memo = memo;
}
