/* tokenizer_maps.h - the open-addressing hash tables behind the tokenizer:
 * u64map (merge pairs, 64-bit keys) and strmap (byte strings to ids; the
 * strings are owned by the caller and must outlive the map). Neither holds
 * a pointer in its slots, so a table can be written to a file and used
 * from a mapping of it (the compiled tokenizer). */
#ifndef BONSAI_TOKENIZER_MAPS_H
#define BONSAI_TOKENIZER_MAPS_H

#include <stddef.h>
#include <stdint.h>

#define U64MAP_EMPTY UINT64_MAX

/* n bytes (NULL when out of memory; free() or realloc() them) for a table
 * that is read at random or a large buffer: from 2 MB up, aligned to and
 * advised into huge pages, so that lookups do not miss the TLB as well as
 * the caches, and first touches fault once every 2 MB instead of every 4 KB. */
void *tok_alloc_big(size_t n);

/* Grows the k arrays p[i] (of elements of size[i] bytes) to cap elements
 * each, p[i] updated as each one moves: 0, or -1 when out of memory (the
 * arrays not grown keep their size; the caller's capacity stays). */
int grow_arrays(void **p, const size_t *size, size_t k, size_t cap);

/* Key and value side by side: a lookup touches one cache line. */
typedef struct {
	uint64_t key, val;
} u64map_slot;

typedef struct {
	u64map_slot *slots;
	size_t mask, count;
} u64map;

/* The functions that allocate return 0, or -1 when out of memory (the map
 * then is as it was: an init's needs no free). */
int u64map_init(u64map *m, size_t expected);
/* Sets key (never U64MAP_EMPTY) to val, replacing an earlier value. */
int u64map_put(u64map *m, uint64_t key, uint64_t val);
/* Room for extra more keys: that many puts of new keys cannot fail. */
int u64map_reserve(u64map *m, size_t extra);
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
	uint64_t off;  /* the string's address less the map's base; all ones: empty */
	uint32_t len;
	uint32_t id;
} strmap_slot;

/* base: the strings are held as offsets from it (NULL: as addresses), so
 * that a table over one block of strings moves with the block. */
typedef struct {
	strmap_slot *slots;
	size_t mask, count;
	const char *base;
} strmap;
#define STRMAP_EMPTY UINT64_MAX

uint64_t strmap_hash(const void *p, size_t n);
int strmap_init(strmap *m, size_t expected, const char *base);
/* Adds s[0..n) -> id; returns 1, 0 (and changes nothing) if s was present,
 * or -1 with the message in err[errlen] when out of memory or s is too
 * long for a slot. */
int strmap_put(strmap *m, const char *s, size_t n, uint32_t id, char *err, size_t errlen);
/* The id of s[0..n), or -1. */
int64_t strmap_get(const strmap *m, const char *s, size_t n);
/* The same with h = strmap_hash(s, n) already known. */
int64_t strmap_get_hashed(const strmap *m, const char *s, size_t n, uint64_t h);
/* Starts fetching the slot where a lookup of a string of hash h begins. */
static inline void strmap_prefetch(const strmap *m, uint64_t h)
{
	__builtin_prefetch(&m->slots[h & m->mask]);
}
void strmap_free(strmap *m);

#endif
