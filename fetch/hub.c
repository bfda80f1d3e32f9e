/* hub.c - see hub.h. */
#include "hub.h"
#include "cachefile.h"
#include "json.h"
#include "cli.h"
#include "hfcache.h"
#include "xio.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A listing of more pages than this is refused (the Hub gives up to 1000
 * entries a page; FineWeb's largest directory is a few thousand files). */
#define MAX_PAGES 1000

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

int hub_parquet_file(const char *path) { return ends_with(path, ".parquet"); }

int hub_model_file(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return ends_with(path, ".json") || ends_with(path, ".safetensors") || ends_with(path, ".tiktoken") ||
		!strcmp(base, "tokenizer.model");
}

static const char *kind_word(const hub_repo *r)
{
	return strcmp(r->kind, "models") == 0 ? "model" : "dataset";
}

/* Writes text to path through a temporary file and a rename. */
static void write_atomic(const char *path, const char *text)
{
	mkdirs_above(path);
	buf_t tmp = {0};
	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	FILE *fp = fopen(buf_cstr(&tmp), "w");
	if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0)
		die_at(buf_cstr(&tmp), 0, "%s", strerror(errno));
	if (rename(tmp.data, path) < 0)
		die_at(path, 0, "%s", strerror(errno));
	buf_free(&tmp);
}

/* CACHE/KIND--ORG--NAME of r. */
static char *repo_dir(const hub_repo *r)
{
	char *d = hf_repo_dir(r->cache, r->kind, r->repo);
	if (!d)
		die("out of memory (for a folder in the Hub cache %s)", r->cache);
	return d;
}

void hub_resolve(const http_opts *o, hub_repo *r)
{
	r->dir = repo_dir(r);
	char *erev = url_escape_component(r->revision);
	buf_t url = {0}, body = {0};
	buf_printf(&url, "%s/api/%s/%s/revision/%s", r->endpoint, r->kind, r->repo, erev);
	long st = http_get(o, buf_cstr(&url), &body, NULL);
	if (st == 404 || st == 401 || st == 403)
		die("%s: no %s '%s' at revision '%s' (HTTP %ld from %s)%s", r->repo, kind_word(r), r->repo,
			r->revision, st, url.data,
			st != 404 && !o->token ? "; if it is private or gated, set HF_TOKEN or log in (HF_HOME/token)" : "");
	if (st < 200 || st >= 300)
		die("%s: HTTP %ld", url.data, st);
	char err[200];
	json_doc *doc = json_parse(body.data ? body.data : "", body.len, err, sizeof err);
	if (!doc)
		die("%s: not JSON: %s", url.data, err);
	const char *sha = json_get_str(json_root(doc), "sha");
	if (!sha || !hf_is_commit(sha))
		die("%s: gives no commit id (\"sha\") for revision '%s'", url.data, r->revision);
	r->commit = xstrdup(sha);
	json_free(doc);
	if (strcmp(r->commit, r->revision) != 0) {
		buf_t ref = {0};
		buf_printf(&ref, "%s/refs/%s", r->dir, r->revision);
		write_atomic(buf_cstr(&ref), r->commit);
		buf_free(&ref);
	}
	buf_free(&url);
	buf_free(&body);
	free(erev);
}

void hub_resolve_cached(hub_repo *r)
{
	r->dir = repo_dir(r);
	char err[1024];
	char *snap = hf_cached_snapshot(r->cache, r->kind, r->repo, r->revision, err, sizeof err);
	if (!snap)
		die("offline (HF_HUB_OFFLINE is set): %s", err);
	r->commit = xstrdup(strrchr(snap, '/') + 1);
	free(snap);
}

void hub_repo_free(hub_repo *r)
{
	free(r->commit);
	free(r->dir);
	r->commit = r->dir = NULL;
}

static int is_hex(const char *s, size_t n)
{
	if (!s || strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* blobs/ID and snapshots/COMMIT/PATH of f. */
static void place(const hub_repo *r, hub_file *f)
{
	buf_t b = {0};
	buf_printf(&b, "%s/blobs/%s", r->dir, f->sha256[0] ? f->sha256 : f->oid);
	f->cache_path = xstrdup(buf_cstr(&b));
	b.len = 0;
	buf_printf(&b, "%s/snapshots/%s/%s", r->dir, r->commit, f->path);
	f->snap_path = xstrdup(buf_cstr(&b));
	buf_free(&b);
}

hub_file *hub_list(const http_opts *o, hub_repo *r, const char *dir, hub_filter filter, int *nout)
{
	const char *repo = r->repo;
	char *erev = url_escape_component(r->revision), *edir = url_escape_path(dir);
	buf_t url = {0};
	buf_printf(&url, "%s/api/%s/%s/tree/%s%s%s?recursive=true", r->endpoint, r->kind, repo, erev,
		*dir ? "/" : "", edir);
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
			die("%s: no %s '%s' with a directory '%s' at revision '%s' (HTTP %ld from %s)%s",
				repo, kind_word(r), repo, *dir ? dir : "/", r->revision, st, next,
				st != 404 && !o->token ? "; if it is private or gated, set HF_TOKEN or log in (HF_HOME/token)" : "");
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
			if (!type || strcmp(type, "file") != 0 || !path || !filter(path))
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
			if (oid && !is_hex(oid, 64))
				die("%s: LFS hash of %s is not a sha256", next, path);
			snprintf(f->sha256, sizeof f->sha256, "%s", oid ? oid : "");
			/* a file in git itself is named in the cache, and checked,
			 * by its git blob id, as huggingface_hub names it by its ETag */
			const char *git = json_get_str(e, "oid");
			if (!oid) {
				if (!is_hex(git, 40))
					die("%s: listing gives neither an LFS sha256 nor a git blob id for %s", next, path);
				snprintf(f->oid, sizeof f->oid, "%s", git);
			}
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
		buf_printf(&b, "%s/%s%s/resolve/%s/%s", r->endpoint, strcmp(r->kind, "models") ? "datasets/" : "",
			repo, erev, ep);
		f->url = xstrdup(buf_cstr(&b));
		buf_free(&b);
		free(ep);
		place(r, f);
	}
	free(erev);
	free(edir);
	buf_free(&url);
	*nout = n;
	if (n == 0)
		die("%s: no %s files under '%s' at revision '%s'", repo,
			filter == hub_parquet_file ? ".parquet" : "model", *dir ? dir : "/", r->revision);
	return files;
}

/* Adds the files under snapshot folder top/rel that filter takes. */
static void walk(const hub_repo *r, const char *top, const char *rel, hub_filter filter,
	hub_file **files, int *n, int *cap)
{
	buf_t b = {0};
	buf_printf(&b, "%s%s%s", top, *rel ? "/" : "", rel);
	DIR *d = opendir(buf_cstr(&b));
	if (!d)
		die_at(b.data, 0, "%s", strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		buf_t sub = {0}, full = {0};
		buf_printf(&sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		buf_printf(&full, "%s/%s", top, buf_cstr(&sub));
		struct stat st, lst;
		if (lstat(buf_cstr(&full), &lst) < 0)
			die_at(full.data, 0, "%s", strerror(errno));
		if (stat(full.data, &st) < 0) {
			if (filter(sub.data))
				die("offline (HF_HUB_OFFLINE is set): %s: its blob is missing from the cache", full.data);
		} else if (S_ISDIR(st.st_mode)) {
			walk(r, top, sub.data, filter, files, n, cap);
		} else if (S_ISREG(st.st_mode) && filter(sub.data)) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 16;
				*files = xreallocarray(*files, (size_t)*cap, sizeof **files);
			}
			hub_file *f = &(*files)[(*n)++];
			memset(f, 0, sizeof *f);
			f->path = xstrdup(sub.data);
			f->size = (uint64_t)st.st_size;
			f->url = xstrdup("");
			f->snap_path = xstrdup(full.data);
			char target[4096];
			ssize_t k = S_ISLNK(lst.st_mode) ? readlink(full.data, target, sizeof target - 1) : -1;
			const char *id = "";
			if (k > 0) {
				target[k] = 0;
				const char *slash = strrchr(target, '/');
				id = slash ? slash + 1 : target;
			}
			/* the name of a blob is its hash: checked before use */
			if (is_hex(id, 64))
				memcpy(f->sha256, id, 65);
			else if (is_hex(id, 40))
				memcpy(f->oid, id, 41);
			f->cache_path = xstrdup(full.data);
		}
		buf_free(&sub);
		buf_free(&full);
	}
	closedir(d);
	buf_free(&b);
}

hub_file *hub_list_cached(hub_repo *r, const char *dir, hub_filter filter, int *nout)
{
	buf_t top = {0};
	buf_printf(&top, "%s/snapshots/%s", r->dir, r->commit);
	buf_t sub = {0};
	buf_printf(&sub, "%s/%s", buf_cstr(&top), dir);
	struct stat st;
	if (*dir && (stat(buf_cstr(&sub), &st) < 0 || !S_ISDIR(st.st_mode)))
		die("offline (HF_HUB_OFFLINE is set): %s %s (revision %s) has no '%s' in the Hub cache: no %s",
			r->kind, r->repo, r->revision, dir, sub.data);
	hub_file *files = NULL;
	int n = 0, cap = 0;
	walk(r, top.data, dir, filter, &files, &n, &cap);
	if (n == 0)
		die("offline (HF_HUB_OFFLINE is set): no %s files under %s", filter == hub_parquet_file ? ".parquet" : "model",
			sub.data);
	qsort(files, (size_t)n, sizeof *files, cmp_path);
	buf_free(&top);
	buf_free(&sub);
	*nout = n;
	return files;
}

void hub_link(const hub_file *f)
{
	/* ../ for each folder between snapshots/ and the file, then blobs/ID */
	buf_t t = {0};
	buf_puts(&t, "../../");
	for (const char *p = f->path; *p; p++)
		if (*p == '/')
			buf_puts(&t, "../");
	buf_printf(&t, "blobs/%s", strrchr(f->cache_path, '/') + 1);
	char have[4096];
	ssize_t k = readlink(f->snap_path, have, sizeof have - 1);
	if (k >= 0) {
		have[k] = 0;
		if (strcmp(have, buf_cstr(&t)) == 0) {
			buf_free(&t);
			return;
		}
	}
	mkdirs_above(f->snap_path);
	buf_t tmp = {0};
	buf_printf(&tmp, "%s.tmp.%ld.%lx", f->snap_path, (long)getpid(), (unsigned long)pthread_self());
	if (symlink(buf_cstr(&t), buf_cstr(&tmp)) < 0)
		die_at(tmp.data, 0, "cannot make a link: %s", strerror(errno));
	if (rename(tmp.data, f->snap_path) < 0)
		die_at(f->snap_path, 0, "%s", strerror(errno));
	buf_free(&t);
	buf_free(&tmp);
}

void hub_files_free(hub_file *f, int n)
{
	for (int i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].url);
		free(f[i].cache_path);
		free(f[i].snap_path);
	}
	free(f);
}

/* Downloads one file into its cache path: resume, verify, atomic rename. */
static cache_item item_of(const hub_file *f)
{
	/* a cached copy is hashed again before each use: a file damaged in
	 * the cache since it was verified is fetched again, not read */
	return (cache_item){.url = f->url, .path = f->cache_path, .size = f->size, .sha256 = f->sha256,
		.git_oid = f->oid, .pinned_by = "the Hub lists", .hash_existing = f->sha256[0] || f->oid[0],
		.partial_suffix = ".incomplete"};
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
	hub_link(f);
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
