/* tokenizer_maps.c - see tokenizer_maps.h. Linear probing at a load factor
 * of at most 1/2: lookups of merges and whole pieces are the hot path of
 * encoding. */
#include "tokenizer_maps.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *tok_alloc_big(size_t n)
{
	if (n < HUGE_PAGE)
		return malloc(n ? n : 1);
	size_t size = (n + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	void *p;
	if (size < n || posix_memalign(&p, HUGE_PAGE, size) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(p, size, MADV_HUGEPAGE); /* only advice: no huge pages is fine */
#endif
	return p;
}

int grow_arrays(void **p, const size_t *size, size_t k, size_t cap)
{
	for (size_t i = 0; i < k; i++) {
		void *q = reallocarray(p[i], cap, size[i]);
		if (!q)
			return -1;
		p[i] = q;
	}
	return 0;
}

static size_t table_size(size_t expected)
{
	size_t n = 16;
	while (n < expected * 2 + 1)
		n <<= 1;
	return n;
}

int u64map_init(u64map *m, size_t expected)
{
	size_t n = table_size(expected);
	u64map_slot *slots = n <= SIZE_MAX / sizeof *slots ? tok_alloc_big(n * sizeof *slots) : NULL;
	if (!slots)
		return -1;
	m->slots = slots;
	for (size_t i = 0; i < n; i++)
		m->slots[i].key = U64MAP_EMPTY;
	m->mask = n - 1;
	m->count = 0;
	return 0;
}

int u64map_reserve(u64map *m, size_t extra)
{
	if ((m->count + extra) * 2 <= m->mask + 1)
		return 0;
	u64map old = *m;
	if (u64map_init(m, old.mask + 1 > old.count + extra ? old.mask + 1 : old.count + extra) < 0)
		return -1;
	for (size_t i = 0; i <= old.mask; i++)
		if (old.slots[i].key != U64MAP_EMPTY)
			u64map_put(m, old.slots[i].key, old.slots[i].val); /* room: no growth */
	u64map_free(&old);
	return 0;
}

int u64map_put(u64map *m, uint64_t key, uint64_t val)
{
	if (u64map_reserve(m, 1) < 0)
		return -1;
	size_t i = u64map_mix(key) & m->mask;
	while (m->slots[i].key != U64MAP_EMPTY && m->slots[i].key != key)
		i = (i + 1) & m->mask;
	if (m->slots[i].key == U64MAP_EMPTY)
		m->count++;
	m->slots[i].key = key;
	m->slots[i].val = val;
	return 0;
}

void u64map_free(u64map *m)
{
	free(m->slots);
	m->slots = NULL;
}

/* A short-string hash: 8 bytes at a time, multiply-xorshift mixing. The
 * last 0-7 bytes are read with two overlapping loads (or three bytes), not
 * copied byte by byte into a word: that copy cost a store-forwarding stall
 * on every word of the text. */
uint64_t strmap_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x243F6A8885A308D3ull ^ (n * 0x9E3779B97F4A7C15ull);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	if (n >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, s, 4);
		memcpy(&hi, s + n - 4, 4);
		w = lo | (uint64_t)hi << 32;
	} else if (n) {
		w = s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
	}
	h = (h ^ w) * 0x94D049BB133111EBull;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 32);
}

int strmap_init(strmap *m, size_t expected, const char *base)
{
	size_t n = table_size(expected);
	strmap_slot *slots = n <= SIZE_MAX / sizeof *slots ? tok_alloc_big(n * sizeof *slots) : NULL;
	if (!slots)
		return -1;
	memset(slots, 0xff, n * sizeof *slots);
	m->slots = slots;
	m->mask = n - 1;
	m->count = 0;
	m->base = base;
	return 0;
}

static void strmap_insert(strmap *m, const strmap_slot *e)
{
	size_t i = e->hash & m->mask;
	while (m->slots[i].off != STRMAP_EMPTY)
		i = (i + 1) & m->mask;
	m->slots[i] = *e;
	m->count++;
}

int strmap_put(strmap *m, const char *s, size_t n, uint32_t id, char *err, size_t errlen)
{
	if (n >= UINT32_MAX)
		return errf(err, errlen, "token of %zu bytes is too long", n);
	if (strmap_get(m, s, n) >= 0)
		return 0;
	if ((m->count + 1) * 2 > m->mask + 1) {
		strmap old = *m;
		if (strmap_init(m, old.mask + 1, old.base) < 0)
			return errf(err, errlen, "out of memory for a table of %zu strings",
				    old.count + 1);
		for (size_t i = 0; i <= old.mask; i++)
			if (old.slots[i].off != STRMAP_EMPTY)
				strmap_insert(m, &old.slots[i]);
		strmap_free(&old);
	}
	strmap_slot e = { strmap_hash(s, n), (uintptr_t)s - (uintptr_t)m->base, (uint32_t)n, id };
	strmap_insert(m, &e);
	return 1;
}

int64_t strmap_get(const strmap *m, const char *s, size_t n)
{
	return strmap_get_hashed(m, s, n, strmap_hash(s, n));
}

int64_t strmap_get_hashed(const strmap *m, const char *s, size_t n, uint64_t h)
{
	size_t i = h & m->mask;
	for (;;) {
		const strmap_slot *e = &m->slots[i];
		if (e->off == STRMAP_EMPTY)
			return -1;
		if (e->hash == h && e->len == n &&
		    memcmp((const char *)((uintptr_t)m->base + e->off), s, n) == 0)
			return e->id;
		i = (i + 1) & m->mask;
	}
}
void strmap_free(strmap *m)
{
	free(m->slots);
	m->slots = NULL;
}
