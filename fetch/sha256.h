/* sha256.h - SHA-256 (FIPS 180-4), to check downloads against the Hub's
 * LFS hashes without depending on a crypto library. */
#ifndef FETCH_SHA256_H
#define FETCH_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint32_t h[8];
	uint64_t len;
	uint8_t block[64];
	size_t fill;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *p, size_t n);
void sha256_final(sha256_ctx *c, uint8_t out[32]);
/* Lower-case hex of the digest: 64 characters and a NUL. */
void sha256_hex(const uint8_t d[32], char hex[65]);
/* Lower-case hex of the hash of p[0..n). */
void sha256_buf_hex(const void *p, size_t n, char hex[65]);
/* Hashes a whole file; returns -1 (errno set) on a read error. */
int sha256_file(const char *path, char hex[65]);

#endif
