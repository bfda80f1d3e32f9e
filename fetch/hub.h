/* hub.h - Hugging Face Hub repositories (datasets and models): their
 * commit, their file listing through the Hub API, and parallel downloads
 * into the Hub cache in huggingface_hub's layout (lib/hfcache.h), so that
 * files already there are not downloaded again and files fetched here are
 * huggingface_hub's too. */
#ifndef FETCH_HUB_H
#define FETCH_HUB_H

#include <stdint.h>
#include "http.h"

/* One repository at one revision, and where it lives in the cache. */
typedef struct {
	const char *endpoint;  /* https://huggingface.co */
	const char *kind;      /* "datasets" or "models" */
	const char *repo;      /* owner/name */
	const char *revision;  /* branch, tag or commit */
	const char *cache;     /* the Hub cache */
	char *commit;          /* the revision's commit, once known */
	char *dir;             /* CACHE/KIND--OWNER--NAME */
} hub_repo;

typedef struct {
	char *path;        /* inside the repository */
	uint64_t size;
	char sha256[65];   /* LFS hash, "" if the file is not in LFS */
	char oid[41];      /* git blob id of a file not in LFS, else "" */
	char *url;         /* resolve URL ("" offline) */
	char *cache_path;  /* where a verified copy lives: blobs/ID */
	char *snap_path;   /* snapshots/COMMIT/PATH, a link to it */
} hub_file;

/* Which listed files a run wants. */
typedef int (*hub_filter)(const char *path);
int hub_parquet_file(const char *path);
/* A model's configuration, tokenizer and weights (*.json, *.safetensors,
 * *.tiktoken, tokenizer.model): what bonsai-eval and the others read. */
int hub_model_file(const char *path);

/* The directory a --config name stands for: sample-10BT -> sample/10BT,
 * CC-MAIN-2024-10 -> data/CC-MAIN-2024-10, anything with '/' as it is. */
char *hub_config_dir(const char *config);

/* Asks the Hub for the revision's commit and records it in refs/REVISION;
 * dies with a clear message when the repository or revision does not exist. */
void hub_resolve(const http_opts *o, hub_repo *r);
/* Without the network (HF_HUB_OFFLINE): the commit from the cache; dies
 * naming what is missing. */
void hub_resolve_cached(hub_repo *r);
void hub_repo_free(hub_repo *r);

/* Lists the files under dir ("" = all) that filter takes, recursively,
 * sorted by path; dies with a clear message when there are none. */
hub_file *hub_list(const http_opts *o, hub_repo *r, const char *dir, hub_filter filter, int *n);
/* The same from the cached snapshot (offline); files whose blob is named
 * by its sha256 are checked against it when used. */
hub_file *hub_list_cached(hub_repo *r, const char *dir, hub_filter filter, int *n);
void hub_files_free(hub_file *f, int n);
/* Is a good copy of f in the cache (its hash checked when listed)? */
int hub_cached(const hub_file *f);
/* Puts f's snapshot link in place (f is in blobs/). */
void hub_link(const hub_file *f);

/* Background downloads of files[0..n) with `jobs` threads into the cache,
 * each linked into the snapshot when verified; hub_wait(i) returns once
 * file i is there (dies if it could not be). */
typedef struct hub_downloads hub_downloads;
hub_downloads *hub_download_start(const http_opts *o, hub_file *files, int n, int jobs);
void hub_wait(hub_downloads *d, int i);
void hub_download_finish(hub_downloads *d);

#endif
