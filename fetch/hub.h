/* hub.h - Hugging Face Hub datasets: listing a dataset directory through the
 * Hub API, and downloading its files in parallel into a verified cache. */
#ifndef FETCH_HUB_H
#define FETCH_HUB_H

#include <stdint.h>
#include "http.h"

typedef struct {
	char *path;        /* inside the repository */
	uint64_t size;
	char sha256[65];   /* LFS hash, "" if the file is not in LFS */
	char *url;         /* resolve URL */
	char *cache_path;  /* where a verified copy lives */
} hub_file;

/* Is s of the form owner/name? */
int hub_repo_name_ok(const char *s);
/* The directory a --config name stands for: sample-10BT -> sample/10BT,
 * CC-MAIN-2024-10 -> data/CC-MAIN-2024-10, anything with '/' as it is. */
char *hub_config_dir(const char *config);

/* Lists the .parquet files under dir (recursively), sorted by path; dies
 * with a clear message when the dataset or directory does not exist. */
hub_file *hub_list(const http_opts *o, const char *endpoint, const char *repo,
	const char *revision, const char *dir, const char *cache, int *n);
void hub_files_free(hub_file *f, int n);
/* Is a good copy of f in the cache (its sha256 checked when listed)? */
int hub_cached(const hub_file *f);

/* Background downloads of files[0..n) with `jobs` threads into the cache;
 * hub_wait(i) returns once file i is there and verified (dies if it could
 * not be). */
typedef struct hub_downloads hub_downloads;
hub_downloads *hub_download_start(const http_opts *o, hub_file *files, int n, int jobs);
void hub_wait(hub_downloads *d, int i);
void hub_download_finish(hub_downloads *d);

#endif
