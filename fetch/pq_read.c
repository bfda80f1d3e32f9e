/* pq_read.c - see pq_read.h. */
#include "pq_read.h"
#include "pq_codec.h"
#include "cli.h"
#include "le.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Caps on sizes a file may claim, far above real files. */
#define MAX_FOOTER ((uint64_t)1 << 30)
#define MAX_PAGE ((int64_t)1 << 30)
/* Values in one page: writers keep pages to ~20,000 rows; a hostile page
 * could claim billions of nulls in a few bytes of RLE. */
#define MAX_PAGE_VALUES ((int64_t)1 << 24)

void (*pq_error_hook)(const char *msg);

_Noreturn void pq_fail(const pq_file *f, const char *col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (pq_error_hook)
		pq_error_hook(msg);
	if (col)
		die_at(f->src->name, 0, "column '%s': %s", col, msg);
	die_at(f->src->name, 0, "%s", msg);
}

/* ---- local files ---- */

static const uint8_t *file_get(pq_source *s, uint64_t off, size_t len, buf_t *scratch)
{
	(void)scratch;
	if (off > s->size || len > s->size - off)
		die_at(s->name, 0, "read past the end of the file (offset %llu, %zu bytes)",
			(unsigned long long)off, len);
	s->bytes_read += len;
	return (const uint8_t *)s->ctx + off;
}

static void file_close(pq_source *s)
{
	if (s->ctx && s->size)
		munmap(s->ctx, s->size);
}

pq_source *pq_source_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die_at(path, 0, "%s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0)
		die_at(path, 0, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		die_at(path, 0, "not a regular file");
	pq_source *s = xcalloc(1, sizeof *s);
	s->name = xstrdup(path);
	s->size = (uint64_t)st.st_size;
	s->get = file_get;
	s->close = file_close;
	if (s->size) {
		void *m = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED)
			die_at(path, 0, "mmap: %s", strerror(errno));
		madvise(m, s->size, MADV_SEQUENTIAL);
		s->ctx = m;
	}
	close(fd);
	return s;
}

void pq_source_close(pq_source *s)
{
	if (!s)
		return;
	if (s->close)
		s->close(s);
	free(s->name);
	free(s);
}

/* ---- footer and columns ---- */

void pq_open(pq_file *f, pq_source *src)
{
	memset(f, 0, sizeof *f);
	f->src = src;
	if (src->size < 12)
		pq_fail(f, NULL, "not a parquet file (only %llu bytes)", (unsigned long long)src->size);
	buf_t scratch = {0};
	const uint8_t *head = src->get(src, 0, 4, &scratch);
	if (memcmp(head, "PAR1", 4) != 0)
		pq_fail(f, NULL, "not a parquet file (no PAR1 magic at the start)");
	/* One read for the tail usually covers the footer too. */
	size_t tail = src->size - 4 < 65536 ? (size_t)(src->size - 4) : 65536;
	const uint8_t *t = src->get(src, src->size - tail, tail, &f->footer_buf);
	if (memcmp(t + tail - 4, "PAR1", 4) != 0)
		pq_fail(f, NULL, memcmp(t + tail - 4, "PARE", 4) == 0 ?
			"encrypted parquet files are not supported" :
			"not a parquet file (no PAR1 magic at the end)");
	uint64_t flen = le_get32(t + tail - 8);
	if (flen > src->size - 12 || flen > MAX_FOOTER)
		pq_fail(f, NULL, "footer length %llu does not fit the file", (unsigned long long)flen);
	const uint8_t *footer;
	if (flen + 8 <= tail)
		footer = t + tail - 8 - flen;
	else
		footer = src->get(src, src->size - 8 - flen, (size_t)flen, &f->footer_buf);
	char err[256];
	if (pq_meta_parse(footer, (size_t)flen, &f->meta, err, sizeof err) < 0)
		pq_fail(f, NULL, "%s", err);
	buf_free(&scratch);
	/* Every chunk must lie between the magic and the footer. */
	uint64_t data_end = src->size - 8 - flen;
	for (int g = 0; g < f->meta.nrg; g++) {
		if (f->meta.rgs[g].num_rows < 0)
			pq_fail(f, NULL, "row group %d has a negative row count", g);
		for (int c = 0; c < f->meta.nleaves; c++) {
			const pq_chunk *ch = &f->meta.rgs[g].cols[c];
			if (ch->start < 4 || ch->total_compressed_size < 0 ||
			    (uint64_t)ch->start > data_end ||
			    (uint64_t)ch->total_compressed_size > data_end - (uint64_t)ch->start)
				pq_fail(f, NULL, "row group %d: column chunk %d lies outside the file", g, c);
		}
	}
}

void pq_select(pq_file *f, const char *names)
{
	pq_meta *m = &f->meta;
	free(f->sel);
	f->nsel = 0;
	if (!names) {
		f->sel = xcalloc(m->ncols ? (size_t)m->ncols : 1, sizeof *f->sel);
		for (int c = 0; c < m->ncols; c++)
			f->sel[f->nsel++] = c;
	} else {
		size_t cap = 1;
		for (const char *p = names; *p; p++)
			cap += *p == ',';
		f->sel = xcalloc(cap, sizeof *f->sel);
		const char *p = names;
		for (;;) {
			const char *q = strchr(p, ',');
			size_t n = q ? (size_t)(q - p) : strlen(p);
			int found = -1;
			for (int c = 0; c < m->ncols; c++)
				if (strlen(m->cols[c].name) == n && memcmp(m->cols[c].name, p, n) == 0) {
					found = c;
					break;
				}
			if (found < 0) {
				buf_t have = {0};
				for (int c = 0; c < m->ncols && have.len < 300; c++)
					buf_printf(&have, "%s%s", c ? ", " : "", m->cols[c].name);
				pq_fail(f, NULL, "no column '%.*s' (the file has: %s%s)", (int)n, p,
					buf_cstr(&have), have.len >= 300 ? ", ..." : "");
			}
			for (int k = 0; k < f->nsel; k++)
				if (f->sel[k] == found)
					pq_fail(f, NULL, "column '%.*s' named twice in --columns", (int)n, p);
			f->sel[f->nsel++] = found;
			if (!q)
				break;
			p = q + 1;
		}
	}
	for (int i = 0; i < f->nsel; i++) {
		const pq_column *col = &m->cols[f->sel[i]];
		if (col->nested)
			pq_fail(f, col->name, "nested columns (lists, maps, structs) are not supported; leave it out with --columns");
		int t = col->el->type;
		if (t < PQ_BOOLEAN || t > PQ_FIXED_LEN_BYTE_ARRAY)
			pq_fail(f, col->name, "unknown physical type %d", t);
	}
}

void pq_close(pq_file *f)
{
	pq_meta_free(&f->meta);
	free(f->sel);
	buf_free(&f->footer_buf);
	memset(f, 0, sizeof *f);
}

void pq_colbuf_free(pq_colbuf *c)
{
	free(c->vals);
	free(c->isnull);
	arena_free(&c->arena);
	memset(c, 0, sizeof *c);
}

void pq_rowgroup_span(const pq_file *f, int g, uint64_t *lo, uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (int i = 0; i < f->nsel; i++) {
		const pq_chunk *ch = &f->meta.rgs[g].cols[f->meta.cols[f->sel[i]].leaf];
		uint64_t a = (uint64_t)ch->start, b = a + (uint64_t)ch->total_compressed_size;
		if (a < *lo) *lo = a;
		if (b > *hi) *hi = b;
	}
	if (*lo > *hi)
		*lo = *hi = 0;
}

/* ---- pages ---- */

typedef struct {
	pq_file *f;
	const pq_column *col;
	const pq_chunk *ch;
	pq_colbuf *out;
	int64_t cap;          /* rows in the row group */
	pq_val *dict;
	size_t ndict;
	uint32_t *levels;
	size_t levels_cap;
} chunk_reader;

static const uint8_t *page_body(chunk_reader *r, const uint8_t *p, size_t n, size_t want)
{
	if (r->ch->codec == CODEC_UNCOMPRESSED) {
		if (n != want)
			pq_fail(r->f, r->col->name, "page is %zu bytes, its header says %zu", n, want);
		return p;
	}
	uint8_t *dst = arena_alloc(&r->out->arena, want);
	const char *err = codec_decompress(r->ch->codec, p, n, dst, want);
	if (err)
		pq_fail(r->f, r->col->name, "%s page: %s", pq_codec_name(r->ch->codec), err);
	return dst;
}

static void read_dictionary(chunk_reader *r, const pq_page_header *h, const uint8_t *body, size_t n)
{
	if (r->dict)
		pq_fail(r->f, r->col->name, "second dictionary page in a column chunk");
	if (h->encoding != ENC_PLAIN && h->encoding != ENC_PLAIN_DICTIONARY)
		pq_fail(r->f, r->col->name, "dictionary page in encoding %s", pq_encoding_name(h->encoding));
	/* Every PLAIN value but a boolean takes at least a byte. */
	uint64_t most = r->col->el->type == PQ_BOOLEAN ? (uint64_t)n * 8 : (uint64_t)n;
	if ((uint64_t)h->num_values > most)
		pq_fail(r->f, r->col->name, "dictionary page claims %d values in %zu bytes", h->num_values, n);
	const char *err = NULL;
	r->ndict = (size_t)h->num_values;
	r->dict = arena_alloc(&r->out->arena, (r->ndict ? r->ndict : 1) * sizeof *r->dict);
	if (!decode_plain(body, body + n, r->col->el->type, r->col->el->type_length, r->dict, r->ndict, &err))
		pq_fail(r->f, r->col->name, "dictionary page: %s", err);
}

static void decode_values(chunk_reader *r, int enc, const uint8_t *p, const uint8_t *end,
	pq_val *out, size_t count)
{
	const char *err = NULL;
	const uint8_t *q = NULL;
	int type = r->col->el->type, tl = r->col->el->type_length;
	switch (enc) {
	case ENC_PLAIN: q = decode_plain(p, end, type, tl, out, count, &err); break;
	case ENC_PLAIN_DICTIONARY:
	case ENC_RLE_DICTIONARY: q = decode_dict(p, end, r->dict, r->ndict, out, count, &err); break;
	case ENC_RLE:
		if (type != PQ_BOOLEAN)
			pq_fail(r->f, r->col->name, "RLE values on a %s column", pq_type_name(type));
		q = decode_bool_rle(p, end, out, count, &err);
		break;
	case ENC_DELTA_BINARY_PACKED: q = decode_delta_binary(p, end, type, out, count, &err); break;
	case ENC_DELTA_LENGTH_BYTE_ARRAY:
		if (type != PQ_BYTE_ARRAY)
			pq_fail(r->f, r->col->name, "DELTA_LENGTH_BYTE_ARRAY on a %s column", pq_type_name(type));
		q = decode_delta_length(p, end, out, count, &err);
		break;
	case ENC_DELTA_BYTE_ARRAY:
		if (type != PQ_BYTE_ARRAY && type != PQ_FIXED_LEN_BYTE_ARRAY)
			pq_fail(r->f, r->col->name, "DELTA_BYTE_ARRAY on a %s column", pq_type_name(type));
		q = decode_delta_byte_array(p, end, &r->out->arena, out, count, &err);
		break;
	case ENC_BYTE_STREAM_SPLIT: q = decode_byte_stream_split(p, end, type, tl, out, count, &err); break;
	default:
		pq_fail(r->f, r->col->name, "unsupported encoding %s (%d)", pq_encoding_name(enc), enc);
	}
	if (!q)
		pq_fail(r->f, r->col->name, "%s: %s", pq_encoding_name(enc), err);
}

static void read_data_page(chunk_reader *r, const pq_page_header *h, const uint8_t *raw, size_t rawlen)
{
	int64_t row = r->out->n;
	int64_t nv = h->num_values;
	if (nv > r->cap - row || nv > MAX_PAGE_VALUES)
		pq_fail(r->f, r->col->name, "data page holds more values (%lld) than its row group has rows left (%lld)",
			(long long)nv, (long long)(r->cap - row));
	/* Grow with the pages actually read, not with the row count the
	 * footer claims. */
	if (!r->out->vals || row + nv > r->out->cap) {
		int64_t cap = r->out->cap ? r->out->cap * 2 : 1024;
		if (cap < row + nv)
			cap = row + nv;
		if (cap > r->cap)
			cap = r->cap;
		r->out->vals = xreallocarray(r->out->vals, (size_t)(cap ? cap : 1), sizeof *r->out->vals);
		if (r->out->isnull) {
			r->out->isnull = xrealloc(r->out->isnull, (size_t)(cap ? cap : 1));
			memset(r->out->isnull + r->out->cap, 0, (size_t)(cap - r->out->cap));
		}
		r->out->cap = cap;
	}
	if ((size_t)nv > r->levels_cap) {
		/* In the arena, so that an error (longjmp in tests) leaks nothing. */
		r->levels_cap = (size_t)nv;
		r->levels = arena_alloc(&r->out->arena, r->levels_cap * sizeof *r->levels);
	}
	const uint8_t *body, *end;
	int has_levels = r->col->max_def > 0;
	if (h->type == PAGE_DATA) {
		body = page_body(r, raw, rawlen, (size_t)h->uncompressed_size);
		end = body + h->uncompressed_size;
		if (has_levels) {
			if (h->def_encoding != ENC_RLE)
				pq_fail(r->f, r->col->name, "definition levels in encoding %s", pq_encoding_name(h->def_encoding));
			if (end - body < 4)
				pq_fail(r->f, r->col->name, "data page too short for its levels");
			uint32_t n = le_get32(body);
			body += 4;
			if (n > (size_t)(end - body))
				pq_fail(r->f, r->col->name, "definition levels longer than the page");
			const char *err;
			if (rle_decode(body, n, 1, r->levels, (size_t)nv, &err) < 0)
				pq_fail(r->f, r->col->name, "definition levels: %s", err);
			body += n;
		}
	} else {
		/* v2: levels first, never compressed, then the (maybe compressed) values. */
		size_t lv = (size_t)h->rep_len + (size_t)h->def_len;
		if (lv > rawlen || (size_t)h->uncompressed_size < lv)
			pq_fail(r->f, r->col->name, "page levels longer than the page");
		if (h->rep_len)
			pq_fail(r->f, r->col->name, "repetition levels in a flat column");
		if (has_levels) {
			const char *err;
			if (rle_decode(raw, (size_t)h->def_len, 1, r->levels, (size_t)nv, &err) < 0)
				pq_fail(r->f, r->col->name, "definition levels: %s", err);
		}
		size_t want = (size_t)h->uncompressed_size - lv;
		if (h->is_compressed && r->ch->codec != CODEC_UNCOMPRESSED) {
			body = page_body(r, raw + lv, rawlen - lv, want);
		} else {
			if (rawlen - lv != want)
				pq_fail(r->f, r->col->name, "page is %zu bytes, its header says %zu", rawlen - lv, want);
			body = raw + lv;
		}
		end = body + want;
	}
	size_t nn = (size_t)nv;
	if (has_levels) {
		nn = 0;
		for (int64_t i = 0; i < nv; i++) {
			if (r->levels[i] > 1)
				pq_fail(r->f, r->col->name, "definition level above the maximum");
			nn += r->levels[i];
		}
	}
	pq_val *v = r->out->vals + row;
	decode_values(r, h->encoding, body, end, v, nn);
	if (nn < (size_t)nv) {
		if (!r->out->isnull)
			r->out->isnull = xcalloc(r->out->cap ? (size_t)r->out->cap : 1, 1);
		uint8_t *isnull = r->out->isnull + row;
		/* Spread the packed values out to their rows, from the back. */
		size_t j = nn;
		for (int64_t i = nv - 1; i >= 0; i--) {
			if (r->levels[i]) {
				v[i] = v[--j];
				isnull[i] = 0;
			} else {
				isnull[i] = 1;
				memset(&v[i], 0, sizeof v[i]);
			}
		}
	}
	r->out->n += nv;
}

static void read_chunk(pq_file *f, int g, const pq_column *col, int64_t limit, pq_colbuf *out,
	const uint8_t *chunk, size_t len)
{
	chunk_reader r = {
		.f = f, .col = col, .ch = &f->meta.rgs[g].cols[col->leaf], .out = out,
		.cap = f->meta.rgs[g].num_rows,
	};
	if (!codec_supported(r.ch->codec))
		pq_fail(f, col->name, "row group %d uses codec %s, which bonsai-fetch does not support "
			"(it reads UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW and BROTLI)", g, pq_codec_name(r.ch->codec));
	size_t pos = 0;
	while (out->n < limit && out->n < r.cap) {
		if (pos >= len)
			pq_fail(f, col->name, "row group %d: column chunk ends after %lld of %lld rows",
				g, (long long)out->n, (long long)r.cap);
		pq_page_header h;
		const char *err = NULL;
		size_t hl = pq_page_header_parse(chunk + pos, len - pos, &h, &err);
		if (!hl)
			pq_fail(f, col->name, "row group %d: bad page header at offset %llu: %s", g,
				(unsigned long long)r.ch->start + pos, err);
		pos += hl;
		if ((size_t)h.compressed_size > len - pos)
			pq_fail(f, col->name, "row group %d: page runs past its column chunk", g);
		if (h.uncompressed_size > MAX_PAGE)
			pq_fail(f, col->name, "row group %d: page of %d bytes is too large", g, h.uncompressed_size);
		const uint8_t *raw = chunk + pos;
		pos += (size_t)h.compressed_size;
		switch (h.type) {
		case PAGE_DICTIONARY: {
			if (h.has_body_header != 7)
				pq_fail(f, col->name, "dictionary page without its header");
			const uint8_t *body = page_body(&r, raw, (size_t)h.compressed_size, (size_t)h.uncompressed_size);
			read_dictionary(&r, &h, body, (size_t)h.uncompressed_size);
			break;
		}
		case PAGE_DATA:
		case PAGE_DATA_V2:
			if (h.has_body_header != (h.type == PAGE_DATA ? 5 : 8))
				pq_fail(f, col->name, "data page without its header");
			read_data_page(&r, &h, raw, (size_t)h.compressed_size);
			break;
		default:
			break;   /* index pages and unknown kinds carry no values */
		}
	}
}

void pq_read_rowgroup(pq_file *f, int g, int64_t limit, pq_colbuf *cols)
{
	if (g < 0 || g >= f->meta.nrg)
		pq_fail(f, NULL, "no row group %d", g);
	int64_t rows = f->meta.rgs[g].num_rows;
	if (limit < 0 || limit > rows)
		limit = rows;
	/* Fetch the selected chunks as one span: one range request remotely. */
	uint64_t lo, hi;
	pq_rowgroup_span(f, g, &lo, &hi);
	buf_t scratch = {0};
	static const uint8_t none[1];
	const uint8_t *span = hi > lo ? f->src->get(f->src, lo, (size_t)(hi - lo), &scratch) : none;
	for (int i = 0; i < f->nsel; i++) {
		const pq_column *col = &f->meta.cols[f->sel[i]];
		const pq_chunk *ch = &f->meta.rgs[g].cols[col->leaf];
		memset(&cols[i], 0, sizeof cols[i]);
		read_chunk(f, g, col, limit, &cols[i], span + (ch->start - (int64_t)lo),
			(size_t)ch->total_compressed_size);
	}
	/* The span's bytes are referenced by plain pages: keep them alive. */
	if (scratch.data && f->nsel == 0)
		buf_free(&scratch);
	if (scratch.data) {
		pq_arena *a = &cols[0].arena;
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 16;
			a->blocks = xreallocarray(a->blocks, a->cap, sizeof *a->blocks);
		}
		a->blocks[a->n++] = scratch.data;
	}
}
