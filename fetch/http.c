/* http.c - see http.h. */
#include "http.h"
#include "cli.h"
#include "progress.h"
#include "digest.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_DELAY 60.0

pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;

void http_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("libcurl initialisation failed");
}

static char *escape(const char *path, const char *keep);

char *url_escape_path(const char *path) { return escape(path, "-._~/"); }
char *url_escape_component(const char *s) { return escape(s, "-._~"); }

static char *escape(const char *path, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	buf_t b = {0};
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr(keep, *p))
			buf_putc(&b, (char)*p);
		else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			buf_append(&b, e, 3);
		}
	}
	buf_cstr(&b);
	return b.data;
}

/* One transfer attempt's state. */
typedef struct {
	CURL *curl;
	/* where the body goes */
	FILE *fp;              /* a download file, or */
	buf_t *mem;            /* memory */
	uint64_t resume_from;  /* what we asked for with Range */
	uint64_t got;          /* body bytes accepted in this attempt */
	uint64_t limit;        /* the most bytes the file (fp) or body (mem) may have */
	const char *limit_by;  /* who says so, for the message */
	int limit_from_length; /* no size known: take it from Content-Length */
	uint64_t over;         /* the size it would have had when it passed limit */
	int truncate_first;    /* server answered 200 to a Range: start over */
	int write_error;
	buf_t errbody;         /* the body of an error reply, for the message */
	double retry_after;
	char *next_link;
	int64_t range_start, range_total;  /* from Content-Range */
	http_progress *pg;
	digest *dg;            /* fed every byte written to fp */
	const char *path;
} xfer;

static long status_of(xfer *x)
{
	long st = 0;
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;
	char line[2048];
	size_t k = len < sizeof line - 1 ? len : sizeof line - 1;
	memcpy(line, p, k);
	line[k] = 0;
	if (strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a redirect): forget the previous one's headers. */
		x->retry_after = 0;
		x->range_start = x->range_total = -1;
		free(x->next_link);
		x->next_link = NULL;
	} else if (strncasecmp(line, "Retry-After:", 12) == 0) {
		x->retry_after = atof(line + 12);
	} else if (strncasecmp(line, "Content-Range:", 14) == 0) {
		long long a, b, t;
		if (sscanf(line + 14, " bytes %lld-%lld/%lld", &a, &b, &t) == 3) {
			x->range_start = a;
			x->range_total = t;
		}
	} else if (strncasecmp(line, "Link:", 5) == 0) {
		/* <url>; rel="next" (the Hub's pagination) */
		char *lt = strchr(line, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		if (lt && gt && strstr(gt, "rel=\"next\"")) {
			free(x->next_link);
			x->next_link = xmalloc((size_t)(gt - lt));
			memcpy(x->next_link, lt + 1, (size_t)(gt - lt - 1));
			x->next_link[gt - lt - 1] = 0;
		}
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;
	long st = status_of(x);
	if (st < 200 || st >= 300) {
		if (x->errbody.len < 4096)
			buf_append(&x->errbody, p, len);
		return len;
	}
	if (x->fp) {
		if (x->resume_from && x->got == 0) {
			if (st == 200)
				x->truncate_first = 1;
			else if (x->range_start != (int64_t)x->resume_from) {
				x->write_error = ECONNRESET;   /* the range we did not ask for */
				return 0;
			}
		}
		if (x->truncate_first && x->got == 0) {
			if (fflush(x->fp) || ftruncate(fileno(x->fp), 0) || fseeko(x->fp, 0, SEEK_SET)) {
				x->write_error = errno;
				return 0;
			}
			if (x->dg && digest_reset(x->dg) < 0) {
				x->write_error = ENOMEM;
				return 0;
			}
		}
		uint64_t base = x->truncate_first ? 0 : x->resume_from;
		if (x->got == 0 && x->limit_from_length) {
			/* no size listed: the reply's Content-Length, when it has one */
			curl_off_t cl = -1;
			if (curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0) {
				x->limit = base + (uint64_t)cl;
				x->limit_by = "the Content-Length says";
			}
		}
		/* Stop as soon as the file would be longer than it can be: a
		 * server that streams forever fills no disk. */
		uint64_t size = base + x->got + len;
		if (size > x->limit) {
			x->over = size;
			x->write_error = EFBIG;
			return 0;
		}
		if (fwrite(p, 1, len, x->fp) != len) {
			x->write_error = errno ? errno : EIO;
			return 0;
		}
		if (x->dg && digest_update(x->dg, p, len) < 0) {
			x->write_error = ENOMEM;
			return 0;
		}
	} else {
		if (x->got + len > x->limit) {
			x->over = x->got + len;
			x->write_error = EFBIG;
			return 0;
		}
		buf_append(x->mem, p, len);
	}
	x->got += len;
	if (x->pg) {
		pthread_mutex_lock(&progress_lock);
		x->pg->done += len;
		http_progress *g = x->pg;
		double t = now_seconds() - g->start;
		double rate = t > 0 ? (double)g->done / t : 0;
		if (g->total && rate > 0) {
			char eta[32];
			format_duration(eta, sizeof eta, g->total > g->done ? (double)(g->total - g->done) / rate : 0.0);
			progress(0, "%d/%d files, %.1f of %.1f MB, %.1f MB/s, ETA %s",
				g->files_done, g->files, g->done / 1e6, g->total / 1e6, rate / 1e6, eta);
		} else
			progress(0, "%.1f MB, %.1f MB/s", g->done / 1e6, rate / 1e6);
		pthread_mutex_unlock(&progress_lock);
	}
	return len;
}

static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)ud, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return cli_interrupted() != 0;
}

static struct curl_slist *auth_header(const http_opts *o, const char *url)
{
	if (!o->token || !*o->token)
		return NULL;
	/* Only to the Hub itself: never to whatever host a URL names. */
	if (o->token_host) {
		const char *h = strstr(url, "://");
		if (!h)
			return NULL;
		h += 3;
		size_t n = strlen(o->token_host);
		if (strncmp(h, o->token_host, n) != 0 || (h[n] != '/' && h[n] != 0))
			return NULL;
	}
	buf_t b = {0};
	buf_printf(&b, "Authorization: Bearer %s", o->token);
	struct curl_slist *l = curl_slist_append(NULL, buf_cstr(&b));
	buf_free(&b);
	if (!l)
		die("out of memory");
	return l;
}

static void setup(CURL *c, const http_opts *o, const char *url, xfer *x, struct curl_slist *hdrs)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* slower than min_rate for stall_timeout seconds: the attempt fails
	 * (a trickle counts as failing, not as silence) */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, o->min_rate > 0 ? o->min_rate : 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->stall_timeout > 0 ? o->stall_timeout : 60L);
	/* a signal (SIGINT, SIGTERM) ends the transfer at once */
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "bonsai-fetch/" BONSAI_VERSION);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  /* listings may come gzipped */
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
}

static int retriable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT: case CURLE_OPERATION_TIMEDOUT: case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING:
	case CURLE_COULDNT_RESOLVE_HOST: case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: case CURLE_WEIRD_SERVER_REPLY:
		return 1;
	default:
		return 0;
	}
}

/* A name that does not resolve or a port that refuses: the machine is
 * offline or the address is wrong, which waiting does not mend; dies at
 * once unless the server answered an earlier attempt of this transfer
 * (then it may be restarting, and the retries apply). */
static void fail_fast_unreachable(CURLcode rc, int reached, const char *url, const char *why)
{
	if (reached)
		return;
	if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY)
		die("%s: cannot resolve the host name (%s): offline, or a wrong address (HF_ENDPOINT)? "
			"Not retried; HF_HUB_OFFLINE=1 uses only what the Hub cache holds", url, why);
	if (rc == CURLE_COULDNT_CONNECT)
		die("%s: cannot connect (%s): offline, or nothing listens at that address? "
			"Not retried; HF_HUB_OFFLINE=1 uses only what the Hub cache holds", url, why);
}

static void backoff_sleep(const http_opts *o, int attempt, double retry_after)
{
	double d = o->backoff * pow(2, attempt > 20 ? 20 : attempt);
	if (retry_after > d)
		d = retry_after;
	if (d > MAX_DELAY)
		d = MAX_DELAY;
	/* A little jitter so that parallel transfers do not retry in step. */
	d *= 1.0 + 0.1 * ((double)rand() / RAND_MAX);
	struct timespec ts = {(time_t)d, (long)((d - floor(d)) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		cli_check_interrupt();
}

/* The most bytes a transfer may bring, and who says so. */
typedef struct {
	uint64_t bytes;
	const char *by;        /* "the Hub lists", "pinned", ... */
	int from_length;       /* bytes is a default: Content-Length replaces it */
} body_limit;

/* Runs a GET with retries. range_from/range_to (inclusive; to < 0: open
 * ended) ask for part of the body; with fp set the body is appended to it
 * and resumed after cuts. Returns the final status.
 *
 * An attempt counts as progress only when it took the file past its
 * previous high-water mark, at min_rate or faster on average: a server
 * that resends the same first bytes, or trickles, uses up the retries like
 * one that fails outright. */
static long transfer(const http_opts *o, const char *url, FILE *fp, digest *dg, uint64_t start_at,
	int64_t range_from, int64_t range_to, buf_t *mem, char **next, http_progress *pg,
	const char *what, body_limit lim)
{
	CURL *c = curl_easy_init();
	if (!c)
		die("libcurl: cannot create a handle");
	struct curl_slist *hdrs = auth_header(o, url);
	int failures = 0;
	uint64_t have = start_at;   /* download bytes already on disk */
	uint64_t high = start_at;   /* the most the file has had */
	double min_rate = o->min_rate > 0 ? (double)o->min_rate : 1.0;
	size_t mem0 = mem ? mem->len : 0;
	long st = 0;
	int reached = 0;   /* has the server answered an attempt? */
	for (int attempt = 0;; attempt++) {
		xfer x = {.curl = c, .fp = fp, .dg = dg, .mem = mem, .pg = pg, .range_start = -1, .range_total = -1,
			.limit = lim.bytes, .limit_by = lim.by, .limit_from_length = lim.from_length};
		curl_easy_reset(c);
		setup(c, o, url, &x, hdrs);
		/* A file's bytes and ranges of them are of the file itself: a
		 * compressed transfer (GitHub compresses text) would make a resumed
		 * range a range of another stream. */
		if (fp || range_from >= 0)
			curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "identity");
		char range[64] = "";
		if (fp && have) {
			x.resume_from = have;
			snprintf(range, sizeof range, "%llu-", (unsigned long long)have);
		} else if (!fp && range_from >= 0) {
			/* A retried range read starts again from its first byte. */
			if (mem)
				mem->len = mem0;
			if (range_to >= 0)
				snprintf(range, sizeof range, "%lld-%lld", (long long)range_from, (long long)range_to);
			else
				snprintf(range, sizeof range, "%lld-", (long long)range_from);
		} else if (mem)
			mem->len = mem0;
		if (*range)
			curl_easy_setopt(c, CURLOPT_RANGE, range);
		char errbuf[CURL_ERROR_SIZE] = "";
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		double t0 = now_seconds();
		CURLcode rc = curl_easy_perform(c);
		double took = now_seconds() - t0;
		st = status_of(&x);
		if (st)
			reached = 1;
		if (fp) {
			if (fflush(fp) != 0 && !x.write_error)
				x.write_error = errno;
			if (x.truncate_first)
				have = 0;
			have += x.got;
		}
		if (rc == CURLE_ABORTED_BY_CALLBACK)
			cli_check_interrupt();
		if (x.write_error == EFBIG) {
			if (fp)
				die("%s: the server sent more than the %llu bytes %s; stopped at %llu (%s)", url,
					(unsigned long long)x.limit, x.limit_by, (unsigned long long)x.over, what);
			die("%s: the reply is larger than %llu bytes%s%s; stopped", url,
				(unsigned long long)x.limit, x.limit_by ? ", the most " : "", x.limit_by ? x.limit_by : "");
		}
		if (x.write_error && x.write_error != ECONNRESET)
			die("%s: writing %s: %s", url, what, strerror(x.write_error));
		int retry = 0;
		char why[CURL_ERROR_SIZE + 64];
		if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x.write_error == ECONNRESET)) {
			snprintf(why, sizeof why, "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
			if (rc == CURLE_OPERATION_TIMEDOUT)
				snprintf(why, sizeof why, "slower than %ld bytes/s for %ld s (--min-rate, --timeout)",
					o->min_rate > 0 ? o->min_rate : 1L, o->stall_timeout > 0 ? o->stall_timeout : 60L);
			retry = retriable_curl(rc);
			if (retry)
				fail_fast_unreachable(rc, reached, url, why);
			if (!retry) {
				free(x.next_link);
				buf_free(&x.errbody);
				die("%s: %s", url, why);
			}
		} else if (x.write_error == ECONNRESET) {
			snprintf(why, sizeof why, "server answered another range than asked");
			retry = 1;
			have = 0;   /* start over cleanly */
			if (fflush(fp) || ftruncate(fileno(fp), 0) || fseeko(fp, 0, SEEK_SET))
				die("%s: %s", what, strerror(errno));
			if (dg && digest_reset(dg) < 0)
				die("%s: libcrypto cannot restart the hash", what);
		} else if (!fp && range_from >= 0 && st == 206 && x.range_start != range_from) {
			snprintf(why, sizeof why, "server answered another range than asked");
			retry = 1;
		} else if (st == 429 || st >= 500) {
			snprintf(why, sizeof why, "HTTP %ld", st);
			retry = 1;
		} else if (st == 416 && fp && have > 0) {
			/* Nothing left to fetch: the file on disk is complete (the
			 * hash check will tell if not). */
			st = 206;
		}
		if (!retry) {
			if (next)
				*next = x.next_link;
			else
				free(x.next_link);
			if ((st < 200 || st >= 300) && mem && x.errbody.len) {
				mem->len = mem0;
				buf_append(mem, x.errbody.data, x.errbody.len);
			}
			buf_free(&x.errbody);
			break;
		}
		free(x.next_link);
		buf_free(&x.errbody);
		/* Only real progress earns a fresh set of retries. */
		if (fp && have > high && (double)x.got >= min_rate * took)
			failures = 0;
		if (have > high)
			high = have;
		if (failures >= o->retries || attempt + 1 >= HTTP_MAX_ATTEMPTS)
			die("%s: giving up after %d attempts: %s", url, attempt + 1, why);
		warnx_("%s: %s; retrying in a moment (attempt %d of %d)", url, why, failures + 2, o->retries + 1);
		backoff_sleep(o, failures, x.retry_after);
		failures++;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return st;
}

long http_get(const http_opts *o, const char *url, buf_t *body, char **next)
{
	if (next)
		*next = NULL;
	body_limit lim = {HTTP_MAX_SMALL_BODY, NULL, 0};
	return transfer(o, url, NULL, NULL, 0, -1, -1, body, next, NULL, url, lim);
}

/* Feeds the first n bytes of the file at path (a partial download being
 * resumed) to dg: the only bytes of a download read back from disk. */
static void hash_prefix(const char *path, uint64_t n, digest *dg)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		die_at(path, 0, "%s", strerror(errno));
	static __thread char buf[1 << 16];
	while (n) {
		size_t k = fread(buf, 1, n < sizeof buf ? (size_t)n : sizeof buf, fp);
		if (k == 0)
			die_at(path, 0, "%s", ferror(fp) ? strerror(errno) : "shorter than it was a moment ago");
		if (digest_update(dg, buf, k) < 0)
			die_at(path, 0, "libcrypto cannot hash it");
		n -= k;
	}
	fclose(fp);
}

void http_download(const http_opts *o, const char *url, const char *path, uint64_t size,
	const char *size_by, http_progress *pg, digest *dg)
{
	FILE *fp = fopen(path, "ab");
	if (!fp)
		die_at(path, 0, "%s", strerror(errno));
	off_t have = ftello(fp);
	if (have < 0)
		die_at(path, 0, "%s", strerror(errno));
	if (size && (uint64_t)have > size) {
		/* Longer than the file can be: not a prefix of it. */
		if (ftruncate(fileno(fp), 0) < 0)
			die_at(path, 0, "%s", strerror(errno));
		have = 0;
	}
	if (dg && (digest_reset(dg) < 0))
		die_at(path, 0, "libcrypto cannot start a hash");
	if (dg && have)
		hash_prefix(path, (uint64_t)have, dg);
	if (pg && have) {
		pthread_mutex_lock(&progress_lock);
		pg->done += (uint64_t)have;
		pthread_mutex_unlock(&progress_lock);
	}
	body_limit lim = {size, size_by, 0};
	if (!size)
		lim = (body_limit){HTTP_MAX_UNSIZED, "bonsai-fetch takes without a listed size", 1};
	long st = 206;   /* already complete */
	if (!size || (uint64_t)have != size)
		st = transfer(o, url, fp, dg, (uint64_t)have, -1, -1, NULL, NULL, pg, path, lim);
	if (fclose(fp) != 0)
		die_at(path, 0, "%s", strerror(errno));
	if (st < 200 || st >= 300)
		die("%s: HTTP %ld%s", url, st, st == 404 ? " (not found)" :
			st == 401 || st == 403 ? " (not allowed: is HF_TOKEN set and valid?)" : "");
}

/* ---- range reads as a parquet source ---- */

typedef struct {
	http_opts o;
	char *url;
} http_src;

static const uint8_t *http_get_range(pq_source *s, uint64_t off, size_t len, buf_t *scratch)
{
	http_src *h = s->ctx;
	if (off > s->size || len > s->size - off)
		die_at(s->name, 0, "read past the end of the file (offset %llu, %zu bytes)",
			(unsigned long long)off, len);
	scratch->len = 0;
	if (len == 0) {
		buf_reserve(scratch, 1);
		return (const uint8_t *)scratch->data;
	}
	/* a server that ignores Range sends the whole file, no more */
	body_limit lim = {s->size > len ? s->size : len, "the file has", 0};
	long st = transfer(&h->o, h->url, NULL, NULL, 0, (int64_t)off, (int64_t)(off + len - 1),
		scratch, NULL, NULL, h->url, lim);
	if (st == 200 && scratch->len == s->size && s->size != len) {
		/* The server ignored Range and sent everything: use our part. */
		memmove(scratch->data, scratch->data + off, len);
		scratch->len = len;
	} else if (st != 206 && st != 200)
		die("%s: HTTP %ld", h->url, st);
	if (scratch->len != len)
		die("%s: asked for %zu bytes at %llu, got %zu", h->url, len,
			(unsigned long long)off, scratch->len);
	s->bytes_read += len;
	return (const uint8_t *)scratch->data;
}

static void http_close(pq_source *s)
{
	http_src *h = s->ctx;
	free(h->url);
	free(h);
}

pq_source *pq_source_http(const http_opts *o, const char *url, uint64_t size)
{
	http_src *h = xcalloc(1, sizeof *h);
	h->o = *o;
	h->url = xstrdup(url);
	if (!size) {
		/* The size comes with the first bytes in Content-Range. */
		CURL *c = curl_easy_init();
		if (!c)
			die("libcurl: cannot create a handle");
		buf_t b = {0};
		int64_t total = -1;
		int reached = 0;
		for (int attempt = 0;; attempt++) {
			xfer x = {.curl = c, .mem = &b, .range_start = -1, .range_total = -1,
				.limit = HTTP_MAX_SMALL_BODY};
			struct curl_slist *hdrs = auth_header(o, url);
			b.len = 0;
			curl_easy_reset(c);
			setup(c, o, url, &x, hdrs);
			curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "identity");
			curl_easy_setopt(c, CURLOPT_RANGE, "0-3");
			CURLcode rc = curl_easy_perform(c);
			long st = status_of(&x);
			if (st)
				reached = 1;
			else if (rc != CURLE_OK)
				fail_fast_unreachable(rc, reached, url, curl_easy_strerror(rc));
			curl_slist_free_all(hdrs);
			free(x.next_link);
			buf_free(&x.errbody);
			if (rc == CURLE_ABORTED_BY_CALLBACK)
				cli_check_interrupt();
			if (x.write_error == EFBIG)
				die("%s: the server ignores Range and the file is larger than %zu bytes; stopped", url,
					HTTP_MAX_SMALL_BODY);
			int retry = (rc != CURLE_OK && retriable_curl(rc)) || (rc == CURLE_OK && (st == 429 || st >= 500));
			if (!retry) {
				if (rc != CURLE_OK)
					die("%s: %s", url, curl_easy_strerror(rc));
				if (st == 206 && x.range_total >= 0)
					total = x.range_total;
				else if (st == 200)
					total = (int64_t)b.len;
				else
					die("%s: HTTP %ld%s", url, st, st == 404 ? " (not found)" : "");
				break;
			}
			if (attempt >= o->retries)
				die("%s: giving up after %d attempts", url, attempt + 1);
			backoff_sleep(o, attempt, x.retry_after);
		}
		curl_easy_cleanup(c);
		buf_free(&b);
		size = (uint64_t)total;
	}
	pq_source *s = xcalloc(1, sizeof *s);
	s->name = xstrdup(url);
	s->size = size;
	s->get = http_get_range;
	s->close = http_close;
	s->ctx = h;
	return s;
}

void http_cleanup(void) { curl_global_cleanup(); }
