/* digest.c - see digest.h. */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct digest {
	EVP_MD_CTX *ctx;
	digest_kind kind;
	uint64_t size;
};

int digest_reset(digest *d)
{
	const EVP_MD *md = d->kind == DIGEST_SHA256 ? EVP_sha256() : EVP_sha1();
	if (EVP_DigestInit_ex(d->ctx, md, NULL) != 1)
		return -1;
	if (d->kind == DIGEST_GIT_BLOB) {
		char head[40];
		int n = snprintf(head, sizeof head, "blob %" PRIu64, d->size);
		/* the NUL that ends the header is hashed too */
		if (EVP_DigestUpdate(d->ctx, head, (size_t)n + 1) != 1)
			return -1;
	}
	return 0;
}

digest *digest_new(digest_kind kind, uint64_t size)
{
	digest *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->kind = kind;
	d->size = size;
	if (!(d->ctx = EVP_MD_CTX_new()) || digest_reset(d) < 0) {
		digest_free(d);
		return NULL;
	}
	return d;
}

int digest_update(digest *d, const void *p, size_t n)
{
	return EVP_DigestUpdate(d->ctx, p, n) == 1 ? 0 : -1;
}

int digest_hex(digest *d, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1 || n > 32)
		return -1;
	static const char x[] = "0123456789abcdef";
	for (unsigned int i = 0; i < n; i++) {
		hex[2 * i] = x[md[i] >> 4];
		hex[2 * i + 1] = x[md[i] & 15];
	}
	hex[2 * n] = 0;
	return digest_reset(d);
}

void digest_free(digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

int digest_file(digest_kind kind, const char *path, uint64_t size, char hex[65])
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	digest *d = digest_new(kind, size);
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	int rc = d && buf ? 0 : -1;
	if (rc < 0)
		errno = ENOMEM;
	while (rc == 0) {
		ssize_t n = read(fd, buf, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : digest_hex(d, hex);
			break;
		}
		rc = digest_update(d, buf, (size_t)n);
	}
	int e = errno;
	free(buf);
	digest_free(d);
	close(fd);
	errno = e;
	return rc;
}

int sha256_buf_hex(const void *p, size_t n, char hex[65])
{
	digest *d = digest_new(DIGEST_SHA256, n);
	int rc = d && digest_update(d, p, n) == 0 && digest_hex(d, hex) == 0 ? 0 : -1;
	digest_free(d);
	return rc;
}
