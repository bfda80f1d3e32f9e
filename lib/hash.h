/* hash.h - XXH64 (the xxHash 64-bit algorithm), one-shot and streaming:
 * the checksum of shards and the tokenizer fingerprint. */
#ifndef BONSAI_HASH_H
#define BONSAI_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t total, v[4];
	unsigned char mem[32];
	size_t memsize;
	uint64_t seed;
} xxh64_state;

uint64_t xxh64(const void *p, size_t n, uint64_t seed);

/* splitmix64: a small, well-mixed generator (advances *state), for seeded
 * shuffles, initialisation and hashing an index. */
static inline uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}
void xxh64_init(xxh64_state *s, uint64_t seed);
void xxh64_update(xxh64_state *s, const void *p, size_t n);
uint64_t xxh64_digest(const xxh64_state *s);

#endif
