/* pq_read.h - reads a parquet file's footer and row groups, column by
 * column, from any byte source (a local file mapped into memory, or HTTP
 * range requests). Malformed input is an error naming the file and column. */
#ifndef FETCH_PQ_READ_H
#define FETCH_PQ_READ_H

#include <stdint.h>
#include "buf.h"
#include "pq_meta.h"
#include "pq_decode.h"

typedef struct pq_source pq_source;
struct pq_source {
	char *name;       /* for messages */
	uint64_t size;
	/* Returns bytes [off, off+len) of the file; they stay valid until the
	 * next call with the same scratch buffer. Dies on I/O errors. */
	const uint8_t *(*get)(pq_source *s, uint64_t off, size_t len, buf_t *scratch);
	void (*close)(pq_source *s);
	void *ctx;
	uint64_t bytes_read;   /* what get() fetched, for statistics */
};

/* A local file, memory-mapped. */
pq_source *pq_source_file(const char *path);
void pq_source_close(pq_source *s);

typedef struct {
	pq_source *src;
	pq_meta meta;
	int nsel;
	int *sel;          /* selected column indices into meta.cols */
	buf_t footer_buf;
} pq_file;

/* Reads and checks the footer; dies with a message naming the file. */
void pq_open(pq_file *f, pq_source *src);
/* Selects the named columns (comma-separated, in that order), or all
 * columns when names is NULL; a missing or nested column is an error. */
void pq_select(pq_file *f, const char *names);
void pq_close(pq_file *f);

/* One decoded column of a row group. */
typedef struct {
	pq_val *vals;
	uint8_t *isnull;     /* NULL when the column has no nulls */
	int64_t n;           /* rows decoded */
	int64_t cap;         /* rows vals (and isnull) have room for */
	pq_arena arena;      /* pages and strings that vals point into */
} pq_colbuf;

/* Decodes the selected columns of row group g, at least `limit` rows of it
 * (all when limit < 0 or beyond the group), into cols[0..nsel). */
void pq_read_rowgroup(pq_file *f, int g, int64_t limit, pq_colbuf *cols);
void pq_colbuf_free(pq_colbuf *c);

/* The byte range [*lo, *hi) that row group g's selected columns occupy. */
void pq_rowgroup_span(const pq_file *f, int g, uint64_t *lo, uint64_t *hi);

/* Errors end the program (die_at), unless a test harness has installed a
 * handler, e.g. one that longjmps back into a fuzzer loop. */
extern void (*pq_error_hook)(const char *msg);
_Noreturn void pq_fail(const pq_file *f, const char *col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
