/* hash.c - XXH64 as specified by the xxHash format description. */
#include "hash.h"
#include <string.h>

#define P1 11400714785074694791ULL
#define P2 14029467366897019727ULL
#define P3 1609587929392839161ULL
#define P4 9650029242287828579ULL
#define P5 2870177450012600261ULL

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t rd64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t round64(uint64_t acc, uint64_t in) { acc += in * P2; return rotl(acc, 31) * P1; }
static inline uint64_t merge(uint64_t acc, uint64_t v) { acc ^= round64(0, v); return acc * P1 + P4; }

static uint64_t finish(uint64_t h, const unsigned char *p, size_t n)
{
	while (n >= 8) {
		h ^= round64(0, rd64(p));
		h = rotl(h, 27) * P1 + P4;
		p += 8, n -= 8;
	}
	if (n >= 4) {
		h ^= (uint64_t)rd32(p) * P1;
		h = rotl(h, 23) * P2 + P3;
		p += 4, n -= 4;
	}
	while (n--) {
		h ^= (*p++) * P5;
		h = rotl(h, 11) * P1;
	}
	h ^= h >> 33; h *= P2;
	h ^= h >> 29; h *= P3;
	h ^= h >> 32;
	return h;
}

static uint64_t converge(const uint64_t v[4])
{
	uint64_t h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
	for (int i = 0; i < 4; i++)
		h = merge(h, v[i]);
	return h;
}

uint64_t xxh64(const void *data, size_t n, uint64_t seed)
{
	xxh64_state s;
	xxh64_init(&s, seed);
	xxh64_update(&s, data, n);
	return xxh64_digest(&s);
}

void xxh64_init(xxh64_state *s, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->seed = seed;
	s->v[0] = seed + P1 + P2;
	s->v[1] = seed + P2;
	s->v[2] = seed;
	s->v[3] = seed - P1;
}

void xxh64_update(xxh64_state *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	s->total += n;
	if (s->memsize + n < 32) {
		memcpy(s->mem + s->memsize, p, n);
		s->memsize += n;
		return;
	}
	if (s->memsize) {
		size_t k = 32 - s->memsize;
		memcpy(s->mem + s->memsize, p, k);
		for (int i = 0; i < 4; i++)
			s->v[i] = round64(s->v[i], rd64(s->mem + 8 * i));
		p += k, n -= k;
		s->memsize = 0;
	}
	uint64_t v0 = s->v[0], v1 = s->v[1], v2 = s->v[2], v3 = s->v[3];
	while (n >= 32) {
		v0 = round64(v0, rd64(p));
		v1 = round64(v1, rd64(p + 8));
		v2 = round64(v2, rd64(p + 16));
		v3 = round64(v3, rd64(p + 24));
		p += 32, n -= 32;
	}
	s->v[0] = v0, s->v[1] = v1, s->v[2] = v2, s->v[3] = v3;
	memcpy(s->mem, p, n);
	s->memsize = n;
}

uint64_t xxh64_digest(const xxh64_state *s)
{
	uint64_t h = s->total >= 32 ? converge(s->v) : s->seed + P5;
	h += s->total;
	return finish(h, s->mem, s->memsize);
}
