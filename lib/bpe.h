/* bpe.h - the BPE merge loop: repeatedly merge the adjacent pair with the
 * lowest rank, the leftmost first on ties (what both Hugging Face tokenizers
 * and tiktoken do). Short pieces use a simple scan; long ones a heap over a
 * linked list, so a 1 MB piece costs O(n log n), not O(n^2). */
#ifndef BONSAI_BPE_H
#define BONSAI_BPE_H

#include <stddef.h>
#include <stdint.h>
#include "tokenizer_maps.h"

static inline uint64_t bpe_pair_key(uint32_t a, uint32_t b)
{
	return (uint64_t)a << 32 | b;
}

#define BPE_NONE UINT32_MAX

/* The merge table: pair of ids -> rank, and rank -> merged id. Pair
 * lookups are most of the cost of merging a word seen for the first time,
 * and Gemma's 514,906 merges do not fit a CPU cache: where the ids and
 * ranks fit (2 * id bits + rank bits <= 63, true of every real tokenizer)
 * a slot is one 64-bit word holding the pair and its rank (8 MB for
 * Gemma 3), else a u64map of 16-byte slots. */
typedef struct {
	uint64_t *slots; /* (a << ib | b) << rb | rank; UINT64_MAX: empty */
	size_t mask, count;
	unsigned ib, rb;
	int wide;        /* the u64map instead: (a << 32 | b) -> rank */
	u64map map;
	uint32_t *merged; /* rank -> merged id */
	uint32_t n_ranks;
} bpe_table;

/* For ids < vocab_size, ranks < n_ranks, about `expected` pairs. 0, or -1
 * with the message in err[errlen] when out of memory (t then needs no
 * bpe_table_free). */
int bpe_table_init(bpe_table *t, uint32_t vocab_size, uint32_t n_ranks, size_t expected,
		   char *err, size_t errlen);
/* Sets the rank of (a, b) and the id of that rank, replacing an earlier
 * rank of the pair: 0, or -1 with the message when out of memory or an id
 * or the rank is out of the table's range. */
int bpe_table_put(bpe_table *t, uint32_t a, uint32_t b, uint32_t rank, uint32_t merged,
		  char *err, size_t errlen);
void bpe_table_free(bpe_table *t);

/* The rank of (a, b) or BPE_NONE. */
static inline uint32_t bpe_rank(const bpe_table *t, uint32_t a, uint32_t b)
{
	if (t->wide) {
		uint64_t v;
		return u64map_get(&t->map, bpe_pair_key(a, b), &v) ? (uint32_t)v : BPE_NONE;
	}
	uint64_t key = (uint64_t)a << t->ib | b;
	for (size_t i = u64map_mix(key) & t->mask;; i = (i + 1) & t->mask) {
		uint64_t s = t->slots[i];
		if (s >> t->rb == key)
			return (uint32_t)(s & (((uint64_t)1 << t->rb) - 1));
		if (s == UINT64_MAX)
			return BPE_NONE;
	}
}

/* A per-thread memo of recent pair lookups in front of a packed table
 * (BPE_MEMO_SLOTS slots in the table's slot format, direct-mapped; a rank
 * of all ones, never a real rank, remembers a pair that does not merge):
 * pair frequencies are skewed, and these 128 KB stay in the CPU's cache
 * where the table does not. Fill it with bpe_memo_clear; it belongs to one
 * table. */
#define BPE_MEMO_BITS 14
#define BPE_MEMO_SLOTS (1u << BPE_MEMO_BITS)
void bpe_memo_clear(uint64_t *memo);

/* Per-thread working memory, grown as needed; zero-initialise it. */
typedef struct {
	uint32_t *val;
	uint64_t *heap;
	int32_t *prev, *next;
	size_t cap, heap_cap;
	uint64_t *memo; /* NULL: none; not owned (bpe_scratch_free leaves it) */
} bpe_scratch;

/* Merges ids[0..*n) in place, *n becoming the new count: 0, or -1 with the
 * message in err[errlen] when out of memory or the piece is too long. */
int bpe_merge(const bpe_table *merges, uint32_t *ids, size_t *n, bpe_scratch *s, char *err,
	      size_t errlen);
void bpe_scratch_free(bpe_scratch *s);

#endif
