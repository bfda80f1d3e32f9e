/* hub.c - see hub.h. */
#include "hub.h"
#include "cachefile.h"
#include "json.h"
#include "cli.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A listing of more pages than this is refused (the Hub gives up to 1000
 * entries a page; FineWeb's largest directory is a few thousand files). */
#define MAX_PAGES 1000

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c == '.';
}

int hub_repo_name_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return 0;
	for (const char *p = s; *p; p++)
		if (p != slash && !name_char(*p))
			return 0;
	/* "..", "." as a part would walk the URL tree. */
	if (s[0] == '.' || slash[1] == '.')
		return 0;
	return 1;
}

char *hub_config_dir(const char *config)
{
	buf_t b = {0};
	if (strchr(config, '/'))
		buf_puts(&b, config);
	else if (strncmp(config, "sample-", 7) == 0)
		buf_printf(&b, "sample/%s", config + 7);
	else if (strncmp(config, "CC-MAIN-", 8) == 0)
		buf_printf(&b, "data/%s", config);
	else
		buf_puts(&b, config);
	buf_cstr(&b);
	return b.data;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const hub_file *)a)->path, ((const hub_file *)b)->path);
}

static int is_hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int path_ok(const char *p)
{
	/* A listed path names a file in the cache: no escaping it. */
	if (!*p || p[0] == '/' || strstr(p, "..") || strchr(p, '\\'))
		return 0;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q < 0x20)
			return 0;
	return 1;
}

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n >= k && strcmp(s + n - k, suf) == 0;
}

hub_file *hub_list(const http_opts *o, const char *endpoint, const char *repo,
	const char *revision, const char *dir, const char *cache, int *nout)
{
	char *erev = url_escape_component(revision), *edir = url_escape_path(dir);
	buf_t url = {0};
	buf_printf(&url, "%s/api/datasets/%s/tree/%s/%s?recursive=true", endpoint, repo, erev, edir);
	char *next = xstrdup(buf_cstr(&url));
	hub_file *files = NULL;
	int n = 0, cap = 0;
	char **seen = xcalloc(MAX_PAGES, sizeof *seen);
	int npages = 0;
	for (; next; npages++) {
		/* a Link rel="next" back to a page already read would loop for ever */
		for (int k = 0; k < npages; k++)
			if (strcmp(seen[k], next) == 0)
				die("%s: the listing's next page %s is a page already read (%d read); "
					"the server's pagination loops", repo, next, npages);
		if (npages == MAX_PAGES)
			die("%s: the listing has more than %d pages; stopped at %s", repo, MAX_PAGES, next);
		seen[npages] = xstrdup(next);
		buf_t body = {0};
		char *link = NULL;
		long st = http_get(o, next, &body, &link);
		if (st == 404 || st == 401 || st == 403) {
			/* The Hub answers 401 for private or missing repositories. */
			die("%s: no dataset '%s' with a directory '%s' at revision '%s' (HTTP %ld from %s)%s",
				repo, repo, dir, revision, st, next,
				st != 404 && !o->token ? "; if it is private or gated, set HF_TOKEN" : "");
		}
		if (st < 200 || st >= 300)
			die("%s: HTTP %ld", next, st);
		char err[200];
		json_doc *doc = json_parse(body.data ? body.data : "", body.len, err, sizeof err);
		if (!doc)
			die("%s: listing is not JSON: %s", next, err);
		json_value *root = json_root(doc);
		if (root->type != JSON_ARRAY)
			die("%s: listing is not a JSON array", next);
		for (size_t i = 0; i < root->len; i++) {
			json_value *e = &root->items[i];
			const char *type = json_get_str(e, "type");
			const char *path = json_get_str(e, "path");
			if (!type || strcmp(type, "file") != 0 || !path || !ends_with(path, ".parquet"))
				continue;
			if (!path_ok(path))
				die("%s: listing names an unsafe path '%s'", next, path);
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				files = xreallocarray(files, (size_t)cap, sizeof *files);
			}
			hub_file *f = &files[n++];
			memset(f, 0, sizeof *f);
			f->path = xstrdup(path);
			double size = json_get_num(e, "size", -1);
			json_value *lfs = json_get(e, "lfs");
			const char *oid = lfs ? json_get_str(lfs, "oid") : NULL;
			if (lfs && json_get_num(lfs, "size", -1) >= 0)
				size = json_get_num(lfs, "size", -1);
			if (size < 0 || size > 9e15)
				die("%s: listing gives no size for %s", next, path);
			f->size = (uint64_t)size;
			if (oid && !is_hex64(oid))
				die("%s: LFS hash of %s is not a sha256", next, path);
			snprintf(f->sha256, sizeof f->sha256, "%s", oid ? oid : "");
		}
		json_free(doc);
		buf_free(&body);
		free(next);
		next = link;
	}
	for (int k = 0; k < npages; k++)
		free(seen[k]);
	free(seen);
	qsort(files, (size_t)n, sizeof *files, cmp_path);
	for (int i = 0; i < n; i++) {
		hub_file *f = &files[i];
		char *ep = url_escape_path(f->path);
		buf_t b = {0};
		buf_printf(&b, "%s/datasets/%s/resolve/%s/%s", endpoint, repo, erev, ep);
		f->url = xstrdup(buf_cstr(&b));
		b.len = 0;
		/* Verified files are named by their hash, so a changed file on the
		 * Hub is a new name and a stale copy is never used. */
		if (f->sha256[0])
			buf_printf(&b, "%s/blobs/%s.parquet", cache, f->sha256);
		else
			buf_printf(&b, "%s/files/%s/%s/%s", cache, repo, revision, f->path);
		f->cache_path = xstrdup(buf_cstr(&b));
		buf_free(&b);
		free(ep);
	}
	free(erev);
	free(edir);
	buf_free(&url);
	*nout = n;
	if (n == 0)
		die("%s: no .parquet files under '%s' at revision '%s'", repo, dir, revision);
	return files;
}

void hub_files_free(hub_file *f, int n)
{
	for (int i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].url);
		free(f[i].cache_path);
	}
	free(f);
}

/* Downloads one file into its cache path: resume, verify, atomic rename. */
static cache_item item_of(const hub_file *f)
{
	/* a cached copy is hashed again before each use: a file damaged in
	 * the cache since it was verified is fetched again, not read */
	return (cache_item){.url = f->url, .path = f->cache_path, .size = f->size, .sha256 = f->sha256,
		.pinned_by = "the Hub lists", .hash_existing = f->sha256[0] != 0};
}

int hub_cached(const hub_file *f)
{
	cache_item it = item_of(f);
	return cache_has(&it);
}

static void hub_fetch_file(const http_opts *o, const hub_file *f, http_progress *pg)
{
	cache_item it = item_of(f);
	cache_fetch(o, &it, pg);
}

struct hub_downloads {
	const http_opts *o;
	hub_file *files;
	int n, next;
	int *done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t *threads;
	int nthreads;
	http_progress pg;
};

static void *worker(void *arg)
{
	hub_downloads *d = arg;
	for (;;) {
		pthread_mutex_lock(&d->lock);
		int i = d->next < d->n ? d->next++ : -1;
		pthread_mutex_unlock(&d->lock);
		if (i < 0)
			return NULL;
		hub_fetch_file(d->o, &d->files[i], &d->pg);
		pthread_mutex_lock(&d->lock);
		d->done[i] = 1;
		d->pg.files_done++;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
	}
}

hub_downloads *hub_download_start(const http_opts *o, hub_file *files, int n, int jobs)
{
	hub_downloads *d = xcalloc(1, sizeof *d);
	d->o = o;
	d->files = files;
	d->n = n;
	d->done = xcalloc((size_t)n, sizeof *d->done);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->pg.files = n;
	d->pg.start = now_seconds();
	for (int i = 0; i < n; i++)
		d->pg.total += files[i].size;
	d->nthreads = jobs < n ? jobs : n;
	d->threads = xcalloc((size_t)d->nthreads, sizeof *d->threads);
	for (int t = 0; t < d->nthreads; t++)
		if (pthread_create(&d->threads[t], NULL, worker, d) != 0)
			die("cannot start a download thread");
	return d;
}

void hub_wait(hub_downloads *d, int i)
{
	pthread_mutex_lock(&d->lock);
	while (!d->done[i]) {
		/* wakes now and then to see a signal (a download thread may be
		 * waiting for another process's lock rather than transferring) */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
		if (cli_interrupted()) {
			pthread_mutex_unlock(&d->lock);
			cli_check_interrupt();
		}
	}
	pthread_mutex_unlock(&d->lock);
}

void hub_download_finish(hub_downloads *d)
{
	for (int t = 0; t < d->nthreads; t++)
		pthread_join(d->threads[t], NULL);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d->threads);
	free(d->done);
	free(d);
}
