/* cachefile.c - see cachefile.h. */
#include "cachefile.h"
#include "digest.h"
#include "cli.h"
#include "xio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The hash a file is checked against, if any. */
static int expected(const cache_item *it, digest_kind *kind, const char **hex, const char **name)
{
	if (it->sha256 && it->sha256[0]) {
		*kind = DIGEST_SHA256, *hex = it->sha256, *name = "sha256";
		return 1;
	}
	if (it->git_oid && it->git_oid[0]) {
		*kind = DIGEST_GIT_BLOB, *hex = it->git_oid, *name = "git blob id";
		return 1;
	}
	return 0;
}

int cache_has(const cache_item *it)
{
	digest_kind kind;
	const char *want, *name;
	struct stat st;
	if (stat(it->path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (!it->hash_existing)
		return (uint64_t)st.st_size == it->size;
	if (it->size && (uint64_t)st.st_size != it->size)
		return 0;
	char got[65];
	if (!expected(it, &kind, &want, &name) || digest_file(kind, it->path, (uint64_t)st.st_size, got) != 0)
		return 0;
	if (strcmp(got, want) != 0) {
		warnx_("%s: the cached copy's %s is %s, not the %s %s: downloading it again", it->path, name,
			got, it->pinned_by, want);
		return 0;
	}
	return 1;
}

int cache_fetch(const http_opts *o, const cache_item *it, http_progress *pg)
{
	if (cache_has(it))
		return 0;
	mkdirs_above(it->path);
	buf_t part = {0};
	buf_printf(&part, "%s%s", it->path, it->partial_suffix ? it->partial_suffix : ".part");
	const char *tmp = buf_cstr(&part);
	/* One writer per partial file: another bonsai-fetch on the same cache
	 * waits here, then finds the file done. */
	int lock = open(tmp, O_RDWR | O_CREAT, 0644);
	if (lock < 0)
		die_at(tmp, 0, "%s", strerror(errno));
	while (flock(lock, LOCK_EX) < 0) {
		if (errno != EINTR)
			die_at(tmp, 0, "lock: %s", strerror(errno));
		cli_check_interrupt();
	}
	if (cache_has(it)) {
		close(lock);
		buf_free(&part);
		return 0;
	}
	digest_kind kind;
	const char *want, *name;
	digest *dg = NULL;
	if (expected(it, &kind, &want, &name) && !(dg = digest_new(kind, it->size)))
		die("%s: libcrypto cannot make a %s digest", it->url, name);
	http_download(o, it->url, tmp, it->size, it->pinned_by, pg, dg);
	struct stat st;
	if (stat(tmp, &st) < 0)
		die_at(tmp, 0, "%s", strerror(errno));
	if (it->size && (uint64_t)st.st_size != it->size) {
		unlink(tmp);
		die("%s: downloaded %lld bytes, %s %llu (download removed)", it->url,
			(long long)st.st_size, it->pinned_by, (unsigned long long)it->size);
	}
	if (dg) {
		/* hashed as it arrived: the file is not read again */
		char hex[65];
		if (digest_hex(dg, hex) < 0)
			die("%s: libcrypto cannot finish the %s", it->url, name);
		digest_free(dg);
		if (strcmp(hex, want) != 0) {
			/* A corrupt file must not be resumed from either. */
			unlink(tmp);
			die("%s: %s mismatch: got %s, %s %s (download removed)",
				it->url, name, hex, it->pinned_by, want);
		}
	}
	char err[512];
	if (it->check && it->check(tmp, it->check_arg, err, sizeof err) < 0) {
		unlink(tmp);
		die("%s: %s (download removed)", it->url, err);
	}
	/* the lock's descriptor is the file's: no second open to sync it */
	if (fsync(lock) < 0)
		die_at(tmp, 0, "fsync: %s", strerror(errno));
	if (rename(tmp, it->path) < 0)
		die_at(it->path, 0, "cannot move download into place: %s", strerror(errno));
	close(lock);
	buf_free(&part);
	return 1;
}
