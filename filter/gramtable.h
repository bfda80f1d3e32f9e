/* gramtable.h - the n-gram keys of --decontaminate and the items each came
 * from: built once from (key, item) pairs, then read by many threads.
 *
 * Open addressing with linear probing, at most half full (2^22 slots for
 * up to 2 million keys), 8-byte keys and 4-byte values (an item, or where
 * a key has several items an offset into a list of them), behind a bitmap
 * of 4 bits a slot (one bit a key, from the key's top bits): most lookups
 * are of absent keys, and the bitmap, 1/24 of the table, answers most of
 * them from the cache. */
#ifndef BONSAI_FILTER_GRAMTABLE_H
#define BONSAI_FILTER_GRAMTABLE_H

#include <stddef.h>
#include <stdint.h>

#define GRAM_LIST 0x80000000u /* a value with this bit: an offset in lists */

typedef struct {
	uint64_t key;
	uint32_t item;
} gram_item;

typedef struct {
	gram_item *p;
	size_t n, cap;
} gram_pairs;

typedef struct {
	uint64_t *bits;
	int bits_shift;          /* a key's bit: key >> bits_shift */
	uint64_t *keys;          /* 0 = empty (keys are never 0) */
	uint32_t *vals;
	size_t cap;              /* a power of two */
	size_t count;
	uint32_t *lists;         /* for a key of several items: count, items */
	size_t nlists;
} gram_table;

void gram_pairs_add(gram_pairs *l, uint64_t key, uint32_t item);
/* Sorts l (pairs added in item order) and fills t with each key and its
 * distinct items, ascending; a key of more than max_items items is left
 * out and counted in *ignored. Frees l's pairs. */
void gram_table_build(gram_table *t, gram_pairs *l, int max_items, uint64_t *ignored);
size_t gram_table_bytes(const gram_table *t);
void gram_table_free(gram_table *t);

static inline void gram_table_prefetch(const gram_table *t, uint64_t key)
{
	__builtin_prefetch(&t->bits[key >> t->bits_shift >> 6]);
}

/* The items of key (*n of them), or NULL when it is not there. */
static inline const uint32_t *gram_table_get(const gram_table *t, uint64_t key, uint32_t *n)
{
	uint64_t b = key >> t->bits_shift;
	if (!(t->bits[b >> 6] >> (b & 63) & 1))
		return NULL;
	size_t mask = t->cap - 1, i = (size_t)key & mask;
	for (uint64_t k; (k = t->keys[i]); i = (i + 1) & mask) {
		if (k != key)
			continue;
		uint32_t v = t->vals[i];
		if (!(v & GRAM_LIST)) {
			*n = 1;
			return &t->vals[i];
		}
		*n = t->lists[v & ~GRAM_LIST];
		return &t->lists[(v & ~GRAM_LIST) + 1];
	}
	return NULL;
}

#endif
