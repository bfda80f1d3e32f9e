/* bpe.h - the BPE merge loop: repeatedly merge the adjacent pair with the
 * lowest rank, the leftmost first on ties (what both Hugging Face tokenizers
 * and tiktoken do). Short pieces use a simple scan; long ones a heap over a
 * linked list, so a 1 MB piece costs O(n log n), not O(n^2). */
#ifndef BONSAI_BPE_H
#define BONSAI_BPE_H

#include <stddef.h>
#include <stdint.h>
#include "tokenizer_maps.h"

/* merges: key (left id << 32 | right id), value (rank << 32 | merged id). */
static inline uint64_t bpe_pair_key(uint32_t a, uint32_t b)
{
	return (uint64_t)a << 32 | b;
}

/* Per-thread working memory, grown as needed; zero-initialise it. */
typedef struct {
	uint64_t *val, *heap;
	int32_t *prev, *next;
	size_t cap, heap_cap;
} bpe_scratch;

/* Merges ids[0..n) in place; returns the new count. */
size_t bpe_merge(const u64map *merges, uint32_t *ids, size_t n, bpe_scratch *s);
void bpe_scratch_free(bpe_scratch *s);

#endif
