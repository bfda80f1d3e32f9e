/* http.h - libcurl transfers with the retry policy of bonsai-fetch:
 * timeouts, dropped connections, 429 and 5xx are retried with exponential
 * backoff (resuming with a Range request where a body was cut off); other
 * HTTP errors end the program with the URL and status. TLS verification
 * stays on. */
#ifndef FETCH_HTTP_H
#define FETCH_HTTP_H

#include <pthread.h>
#include <stdint.h>
#include "buf.h"
#include "pq_read.h"
#include "digest.h"

typedef struct {
	int retries;          /* attempts after the first that made no progress */
	double backoff;       /* seconds before the first retry, doubled each time */
	long stall_timeout;   /* seconds below min_rate before a transfer is retried */
	long min_rate;        /* bytes per second (curl's low-speed limit) */
	const char *token;    /* bearer token, or NULL */
	const char *token_host; /* send the token only to this host ("host" or "host:port") */
} http_opts;

void http_init(void);
/* Held around every progress() call: download threads share the line. */
extern pthread_mutex_t progress_lock;
void http_cleanup(void);

/* Bounds on every transfer (bonsai-fetch(1) states them). */
#define HTTP_MAX_ATTEMPTS 100            /* attempts of one transfer in all */
#define HTTP_MAX_SMALL_BODY ((size_t)256 << 20) /* a listing or error reply */
#define HTTP_MAX_UNSIZED ((uint64_t)4 << 30) /* a download with no size known */

/* GETs url into body (at most HTTP_MAX_SMALL_BODY bytes). Returns the final
 * HTTP status (2xx, or a 4xx that is not retried, e.g. 404); dies after
 * the retries run out. If next is not NULL it receives the Link rel="next"
 * URL (malloc'd) or NULL. */
long http_get(const http_opts *o, const char *url, buf_t *body, char **next);

/* Counters shared by every transfer, for the progress line. */
typedef struct {
	uint64_t total;        /* bytes expected, 0 if unknown */
	uint64_t done;         /* bytes received so far */
	int files_done, files;
	double start;
} http_progress;

/* Downloads url to path (created or resumed: its existing bytes are kept
 * and the rest requested with Range). The transfer stops, and the program
 * dies, as soon as the file would grow past size (by whom, e.g. "the Hub
 * lists"), or without a size past the Content-Length or else
 * HTTP_MAX_UNSIZED. Dies on a permanent error. dg (or NULL) is reset and
 * fed the file's bytes, those already there and those that arrive, so that
 * its hash is the file's when this returns. */
void http_download(const http_opts *o, const char *url, const char *path, uint64_t size,
	const char *size_by, http_progress *pg, digest *dg);

/* A parquet byte source that fetches ranges on demand; size 0 = ask the server. */
pq_source *pq_source_http(const http_opts *o, const char *url, uint64_t size);

/* Percent-encodes a path, keeping '/'. Returns malloc'd text. */
char *url_escape_path(const char *path);
/* The same, '/' included (a revision such as refs/convert/parquet). */
char *url_escape_component(const char *s);

#endif
