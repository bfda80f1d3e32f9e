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

static int no_memory(char *err, size_t errlen, const char *what, size_t n, size_t size)
{
	return errf(err, errlen, "out of memory for %s (%zu MB)", what,
		    (size_t)((double)n * (double)size / 1e6 + 0.5));
}

int bpe_table_init(bpe_table *t, uint32_t vocab_size, uint32_t n_ranks, size_t expected,
		   char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	t->ib = bits_for(vocab_size);
	t->rb = bits_for((uint64_t)n_ranks + 1); /* all ones is no rank */
	t->n_ranks = n_ranks;
	size_t nr = n_ranks ? n_ranks : 1;
	if (!(t->merged = tok_alloc_big(nr * sizeof *t->merged)))
		return no_memory(err, errlen, "the merge table", nr, sizeof *t->merged);
	memset(t->merged, 0, nr * sizeof *t->merged);
	if (2 * t->ib + t->rb > 63) {
		t->wide = 1;
		if (u64map_init(&t->map, expected) == 0)
			return 0;
	} else {
		size_t n = 16;
		while (n < expected * 2 + 1)
			n <<= 1;
		if ((t->slots = tok_alloc_big(n * sizeof *t->slots))) {
			memset(t->slots, 0xff, n * sizeof *t->slots);
			t->mask = n - 1;
			return 0;
		}
	}
	free(t->merged);
	memset(t, 0, sizeof *t);
	return no_memory(err, errlen, "the merge table", expected * 2, 16);
}

static int table_grow(bpe_table *t)
{
	uint64_t *old = t->slots;
	size_t on = t->mask + 1, n = 2 * on;
	uint64_t *slots = tok_alloc_big(n * sizeof *t->slots);
	if (!slots)
		return -1;
	t->slots = slots;
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
	return 0;
}

int bpe_table_put(bpe_table *t, uint32_t a, uint32_t b, uint32_t rank, uint32_t merged,
		  char *err, size_t errlen)
{
	if (rank >= t->n_ranks || (!t->wide && ((uint64_t)a >> t->ib || (uint64_t)b >> t->ib)))
		return errf(err, errlen, "merge (%u, %u) of rank %u is out of the merge table's range",
			    a, b, rank);
	if (t->wide) {
		if (u64map_put(&t->map, bpe_pair_key(a, b), rank) < 0)
			return no_memory(err, errlen, "the merge table", 2 * (t->map.mask + 1),
					 sizeof *t->map.slots);
		t->merged[rank] = merged;
		return 0;
	}
	if ((t->count + 1) * 2 > t->mask + 1 && table_grow(t) < 0)
		return no_memory(err, errlen, "the merge table", 2 * (t->mask + 1), sizeof *t->slots);
	t->merged[rank] = merged;
	uint64_t key = (uint64_t)a << t->ib | b;
	size_t i = u64map_mix(key) & t->mask;
	while (t->slots[i] != UINT64_MAX && t->slots[i] >> t->rb != key)
		i = (i + 1) & t->mask;
	if (t->slots[i] == UINT64_MAX)
		t->count++;
	t->slots[i] = key << t->rb | rank;
	return 0;
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

static int reserve(bpe_scratch *s, size_t n)
{
	if (n <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 64;
	while (cap < n)
		cap *= 2;
	void *p[] = { s->val, s->prev, s->next };
	static const size_t size[] = { sizeof *s->val, sizeof *s->prev, sizeof *s->next };
	int rc = grow_arrays(p, size, 3, cap);
	s->val = p[0], s->prev = p[1], s->next = p[2];
	if (rc < 0)
		return -1;
	s->cap = cap;
	return 0;
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

static int heap_push(bpe_scratch *s, size_t *hn, uint64_t x)
{
	if (*hn == s->heap_cap) {
		size_t cap = s->heap_cap ? s->heap_cap * 2 : 256;
		uint64_t *heap = reallocarray(s->heap, cap, sizeof *heap);
		if (!heap)
			return -1;
		s->heap = heap;
		s->heap_cap = cap;
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
	return 0;
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

/* Pushes the pair at position i when it merges. */
static int push_pair(const bpe_table *m, bpe_scratch *s, size_t *hn, uint32_t a, uint32_t b,
		     uint32_t i)
{
	uint32_t r = bpe_rank(m, a, b);
	return r == BPE_NONE ? 0 : heap_push(s, hn, (uint64_t)r << 32 | i);
}

/* Heap entries are (rank << 32 | left position): the lowest rank first,
 * the leftmost among equals. Stale entries are recognised on pop by
 * looking the pair up again. Returns the new count, or 0 when out of
 * memory for the heap (never a result: a piece of n >= 2 keeps one). */
static size_t merge_heap(const bpe_table *m, uint32_t *ids, size_t n, bpe_scratch *s)
{
	int32_t *prev = s->prev, *next = s->next;
	size_t hn = 0;
	for (size_t i = 0; i < n; i++) {
		prev[i] = (int32_t)i - 1;
		next[i] = i + 1 < n ? (int32_t)(i + 1) : -1;
		if (i + 1 < n && push_pair(m, s, &hn, ids[i], ids[i + 1], (uint32_t)i) < 0)
			return 0;
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
		if (prev[i] >= 0 && push_pair(m, s, &hn, ids[prev[i]], ids[i], (uint32_t)prev[i]) < 0)
			return 0;
		if (next[i] >= 0 && push_pair(m, s, &hn, ids[i], ids[next[i]], i) < 0)
			return 0;
	}
	size_t k = 0;
	for (int32_t i = 0; i >= 0; i = next[i])
		ids[k++] = ids[i];
	return k;
}

int bpe_merge(const bpe_table *merges, uint32_t *ids, size_t *n, bpe_scratch *s, char *err,
	      size_t errlen)
{
	size_t k = *n;
	if (k < 2)
		return 0;
	if (k > INT32_MAX)
		return errf(err, errlen, "a piece of %zu symbols is too long to merge", k);
	if (reserve(s, k) < 0)
		return no_memory(err, errlen, "merging a piece", k, 3 * sizeof(uint32_t));
	if (k <= SMALL) {
		*n = merge_small(merges, ids, k, s->val, s->memo);
		return 0;
	}
	/* the merge is undone by nothing: a failure leaves ids part-merged, and
	 * the caller gives up the piece */
	if (!(k = merge_heap(merges, ids, k, s)))
		return no_memory(err, errlen, "merging a piece", s->heap_cap * 2, sizeof *s->heap);
	*n = k;
	return 0;
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
