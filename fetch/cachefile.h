/* cachefile.h - one download into a cache: resumed from a leftover .part,
 * checked (size, sha256, and optionally the content), then moved into
 * place, so that the cache never holds a partial or unverified file.
 * Used for the Hub's parquet files and for the evaluation sets. */
#ifndef FETCH_CACHEFILE_H
#define FETCH_CACHEFILE_H

#include <stddef.h>
#include <stdint.h>
#include "http.h"

typedef struct {
	const char *url;
	const char *path;       /* where the verified file goes */
	uint64_t size;          /* bytes expected; 0 = not known */
	const char *sha256;     /* lower-case hex expected; "" = none */
	const char *git_oid;    /* or (NULL, "" = none) the git blob id: the Hub's
	                         * ETag of a file not kept in LFS */
	const char *pinned_by;  /* who gives the hash, for messages ("the Hub lists") */
	/* 0: a file already at path is complete when its size is right; 1: it
	 * is hashed first (it may have been damaged since, or a user may have
	 * put another one there) and replaced if it differs. */
	int hash_existing;
	/* The unfinished download is path and this (NULL: ".part"); the Hub
	 * cache's is ".incomplete", as huggingface_hub names it. */
	const char *partial_suffix;
	/* Optional: a further check of a download whose hash is right; returns
	 * 0, or -1 with a message in err. */
	int (*check)(const char *path, void *arg, char *err, size_t errlen);
	void *check_arg;
} cache_item;

/* Is a good copy at it->path? By size, or with hash_existing by sha256 (a
 * mismatch is reported: the copy was damaged). */
int cache_has(const cache_item *it);

/* Returns 1 when it downloaded the file, 0 when a good copy was already in
 * place. Dies with the URL and the reason when the download fails or does
 * not verify; the bad download is removed (nothing is resumed from it). */
int cache_fetch(const http_opts *o, const cache_item *it, http_progress *pg);

#endif
