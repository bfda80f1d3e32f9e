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
void xxh64_init(xxh64_state *s, uint64_t seed);
void xxh64_update(xxh64_state *s, const void *p, size_t n);
uint64_t xxh64_digest(const xxh64_state *s);

#endif
