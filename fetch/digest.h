/* digest.h - the hashes downloads are checked against, through OpenSSL's
 * libcrypto (libcurl loads it anyway; it uses the CPU's SHA instructions):
 * SHA-256 (the Hub's LFS hashes, the evaluation sets' pins) and the git
 * blob id (SHA-1 of "blob SIZE\0" and the content: the Hub's ETag of a
 * file kept in git itself). Fed while the bytes arrive, so that a
 * download is not read a second time to be checked. */
#ifndef FETCH_DIGEST_H
#define FETCH_DIGEST_H

#include <stddef.h>
#include <stdint.h>

typedef enum { DIGEST_SHA256, DIGEST_GIT_BLOB } digest_kind;

typedef struct digest digest;

/* A running hash; size is the whole file's size (the git blob id starts
 * with it). NULL when libcrypto cannot make one. */
digest *digest_new(digest_kind kind, uint64_t size);
/* Start again from no bytes (the file being hashed was truncated). */
int digest_reset(digest *d);
/* 0, or -1 when libcrypto fails. */
int digest_update(digest *d, const void *p, size_t n);
/* Lower-case hex (64 digits for SHA-256, 40 for a git blob id) and a NUL;
 * the digest may be reset and used again. */
int digest_hex(digest *d, char hex[65]);
void digest_free(digest *d);

/* The hash of a whole file (size: its expected size, for DIGEST_GIT_BLOB).
 * -1 on a read error (errno set) or a libcrypto failure. */
int digest_file(digest_kind kind, const char *path, uint64_t size, char hex[65]);
/* SHA-256 of p[0..n); -1 when libcrypto fails. */
int sha256_buf_hex(const void *p, size_t n, char hex[65]);

#endif
