/* tokenizer_maps.h - the open-addressing hash tables behind the tokenizer:
 * u64map (merge pairs, 64-bit keys) and strmap (byte strings to ids; the
 * strings are owned by the caller and must outlive the map). */
#ifndef BONSAI_TOKENIZER_MAPS_H
#define BONSAI_TOKENIZER_MAPS_H

#include <stddef.h>
#include <stdint.h>

#define U64MAP_EMPTY UINT64_MAX

/* n bytes (die on failure; free() them) for a table that is read at random:
 * from 2 MB up, aligned to and advised into huge pages, so that lookups do
 * not miss the TLB as well as the caches. */
void *tok_alloc_big(size_t n);

/* Key and value side by side: a lookup touches one cache line. */
typedef struct {
	uint64_t key, val;
} u64map_slot;

typedef struct {
	u64map_slot *slots;
	size_t mask, count;
} u64map;

void u64map_init(u64map *m, size_t expected);
/* Sets key (never U64MAP_EMPTY) to val, replacing an earlier value. */
void u64map_put(u64map *m, uint64_t key, uint64_t val);
void u64map_free(u64map *m);

static inline uint64_t u64map_mix(uint64_t k)
{
	k ^= k >> 31;
	k *= 0x9E3779B97F4A7C15ull;
	return k ^ (k >> 29);
}

/* Returns 1 and *val when key is present. */
static inline int u64map_get(const u64map *m, uint64_t key, uint64_t *val)
{
	size_t i = u64map_mix(key) & m->mask;
	for (;;) {
		uint64_t k = m->slots[i].key;
		if (k == key) {
			*val = m->slots[i].val;
			return 1;
		}
		if (k == U64MAP_EMPTY)
			return 0;
		i = (i + 1) & m->mask;
	}
}

typedef struct {
	uint64_t hash;
	const char *s;
	uint32_t len;
	uint32_t id;
} strmap_slot;

typedef struct {
	strmap_slot *slots; /* s == NULL: empty */
	size_t mask, count;
} strmap;

uint64_t strmap_hash(const void *p, size_t n);
void strmap_init(strmap *m, size_t expected);
/* Adds s[0..n) -> id; returns 0 (and changes nothing) if s was present. */
int strmap_put(strmap *m, const char *s, size_t n, uint32_t id);
/* The id of s[0..n), or -1. */
int64_t strmap_get(const strmap *m, const char *s, size_t n);
void strmap_free(strmap *m);

#endif
