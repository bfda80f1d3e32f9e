/* mkparquet.c - writes a parquet file of one required UTF-8 column "text"
 * from the lines of standard input, its data pages compressed with a
 * chosen codec, for tests of bonsai-fetch's reader on codecs that no
 * fixture holds. One row group; v1 data pages, PLAIN, ROWS rows each.
 *
 *   mkparquet -c CODEC [-r ROWS] [-b BREAK] -o OUT < lines
 *
 * CODEC: uncompressed, snappy, gzip, zstd, lz4_raw, brotli. BREAK damages
 * the second page (or the only one): "flip" (bytes in the middle of its
 * compressed data changed), "cut" (its compressed data one byte short,
 * its header saying so), "size" (its header's uncompressed size one more
 * than the truth). */
#include "buf.h"
#include "cli.h"
#include "xio.h"
#include "thrift_writer.h"

#include <brotli/encode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

enum { UNCOMPRESSED = 0, SNAPPY = 1, GZIP = 2, BROTLI = 4, ZSTD = 6, LZ4_RAW = 7 };

static const struct { const char *name; int id; } CODECS[] = {
	{ "uncompressed", UNCOMPRESSED }, { "snappy", SNAPPY }, { "gzip", GZIP },
	{ "brotli", BROTLI }, { "zstd", ZSTD }, { "lz4_raw", LZ4_RAW },
};

static size_t deflate_gzip(const void *src, size_t n, uint8_t *dst, size_t cap)
{
	z_stream z = {0};
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		die("deflateInit2 failed");
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)n;
	z.next_out = dst;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		die("deflate failed");
	size_t out = z.total_out;
	deflateEnd(&z);
	return out;
}

/* src[0..n) compressed into a new buffer (*out_len bytes). */
static uint8_t *compress_page(int codec, const uint8_t *src, size_t n, size_t *out_len)
{
	size_t cap = n + n / 2 + 1024;
	uint8_t *dst = xmalloc(cap);
	switch (codec) {
	case UNCOMPRESSED:
		memcpy(dst, src, n);
		*out_len = n;
		break;
	case SNAPPY:
		*out_len = cap;
		if (snappy_compress((const char *)src, n, (char *)dst, out_len) != SNAPPY_OK)
			die("snappy_compress failed");
		break;
	case GZIP:
		*out_len = deflate_gzip(src, n, dst, cap);
		break;
	case ZSTD:
		*out_len = ZSTD_compress(dst, cap, src, n, 3);
		if (ZSTD_isError(*out_len))
			die("ZSTD_compress: %s", ZSTD_getErrorName(*out_len));
		break;
	case LZ4_RAW: {
		int r = LZ4_compress_default((const char *)src, (char *)dst, (int)n, (int)cap);
		if (r <= 0)
			die("LZ4_compress_default failed");
		*out_len = (size_t)r;
		break;
	}
	case BROTLI:
		*out_len = cap;
		if (!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, n, src, out_len,
					   dst))
			die("BrotliEncoderCompress failed");
		break;
	}
	return dst;
}

/* A v1 data page of nvalues PLAIN values (a required column: no levels). */
static void page(buf_t *f, int nvalues, size_t uncompressed, const uint8_t *body, size_t body_len)
{
	tw h = {0};
	I32(&h, 1, 0);                 /* DATA_PAGE */
	I32(&h, 2, (int64_t)uncompressed);
	I32(&h, 3, (int64_t)body_len);
	tw_begin(&h, 5);
	I32(&h, 1, nvalues);
	I32(&h, 2, 0);                 /* PLAIN */
	I32(&h, 3, 3);                 /* RLE levels (none here) */
	I32(&h, 4, 3);
	tw_end(&h);
	buf_putc(&h.b, 0);
	buf_append(f, h.b.data, h.b.len);
	buf_append(f, body, body_len);
	buf_free(&h.b);
}

static void footer(buf_t *f, int codec, int64_t rows, int64_t offset, int64_t size,
		   int64_t uncompressed)
{
	tw m = {0};
	I32(&m, 1, 1);                 /* version */
	tw_list(&m, 2, 12, 2);         /* schema: the root, then "text" */
	tw_begin(&m, 0);
	tw_bin(&m, 4, "schema");
	I32(&m, 5, 1);
	tw_end(&m);
	tw_begin(&m, 0);
	I32(&m, 1, 6);                 /* BYTE_ARRAY */
	I32(&m, 3, 0);                 /* REQUIRED */
	tw_bin(&m, 4, "text");
	I32(&m, 6, 0);                 /* UTF8 */
	tw_end(&m);
	I64(&m, 3, rows);
	tw_list(&m, 4, 12, 1);         /* one row group */
	tw_begin(&m, 0);
	tw_list(&m, 1, 12, 1);         /* one column chunk */
	tw_begin(&m, 0);
	I64(&m, 2, offset);
	tw_begin(&m, 3);               /* ColumnMetaData */
	I32(&m, 1, 6);
	tw_list(&m, 2, 5, 1);
	tw_varint(&m, 0);              /* PLAIN */
	tw_list(&m, 3, 8, 1);
	tw_varint(&m, 4);
	buf_puts(&m.b, "text");
	I32(&m, 4, codec);
	I64(&m, 5, rows);
	I64(&m, 6, uncompressed);
	I64(&m, 7, size);
	I64(&m, 9, offset);
	tw_end(&m);
	tw_end(&m);
	I64(&m, 2, uncompressed);
	I64(&m, 3, rows);
	tw_end(&m);
	buf_putc(&m.b, 0);
	buf_append(f, m.b.data, m.b.len);
	uint32_t flen = (uint32_t)m.b.len;
	uint8_t le[4] = { (uint8_t)flen, (uint8_t)(flen >> 8), (uint8_t)(flen >> 16),
			  (uint8_t)(flen >> 24) };
	buf_append(f, le, 4);
	buf_puts(f, "PAR1");
	buf_free(&m.b);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mkparquet -c CODEC [-r ROWS] [-b flip|cut|size] -o OUT < lines\n"
		   "CODEC: uncompressed snappy gzip zstd lz4_raw brotli\n");
}

int main(int argc, char **argv)
{
	cli_init("mkparquet");
	int codec = -1, rows_per_page = 100, opt;
	const char *out = NULL, *brk = "";
	while ((opt = getopt(argc, argv, "c:r:b:o:h")) != -1) {
		switch (opt) {
		case 'c':
			for (size_t i = 0; i < sizeof CODECS / sizeof CODECS[0]; i++)
				if (strcmp(optarg, CODECS[i].name) == 0)
					codec = CODECS[i].id;
			if (codec < 0)
				die("unknown codec %s", optarg);
			break;
		case 'r': rows_per_page = atoi(optarg); break;
		case 'b': brk = optarg; break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (codec < 0 || !out || rows_per_page < 1 || optind != argc) {
		usage(stderr);
		return 2;
	}
	/* the rows: lines of standard input, without their newlines */
	char *line = NULL;
	size_t lcap = 0;
	ssize_t ll;
	buf_t vals = {0};
	int64_t rows = 0;
	size_t *ends = NULL; /* the end of each row's value in vals */
	while ((ll = getline(&line, &lcap, stdin)) >= 0) {
		if (ll > 0 && line[ll - 1] == '\n')
			ll--;
		uint32_t n = (uint32_t)ll;
		uint8_t le[4] = { (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24) };
		buf_append(&vals, le, 4);
		buf_append(&vals, line, (size_t)ll);
		ends = xreallocarray(ends, (size_t)rows + 1, sizeof *ends);
		ends[rows++] = vals.len;
	}
	if (ferror(stdin))
		die("reading standard input failed");
	free(line);
	buf_t f = {0};
	buf_puts(&f, "PAR1");
	int64_t offset = (int64_t)f.len, uncompressed = 0;
	int64_t pages = (rows + rows_per_page - 1) / rows_per_page, broken = pages > 1 ? 1 : 0;
	for (int64_t p = 0; p < pages; p++) {
		int64_t r0 = p * rows_per_page, r1 = r0 + rows_per_page < rows ? r0 + rows_per_page : rows;
		size_t b0 = r0 ? ends[r0 - 1] : 0, n = ends[r1 - 1] - b0;
		size_t zn, un = n;
		uint8_t *z = compress_page(codec, (const uint8_t *)vals.data + b0, n, &zn);
		if (p == broken && strcmp(brk, "flip") == 0)
			for (size_t k = zn / 2; k < zn / 2 + 8 && k < zn; k++)
				z[k] ^= 0x5a;
		else if (p == broken && strcmp(brk, "cut") == 0)
			zn--;
		else if (p == broken && strcmp(brk, "size") == 0)
			un++;
		else if (p == broken && *brk)
			die("unknown breakage %s", brk);
		size_t before = f.len;
		page(&f, (int)(r1 - r0), un, z, zn);
		uncompressed += (int64_t)(f.len - before - zn + un);
		free(z);
	}
	footer(&f, codec, rows, offset, (int64_t)f.len - offset, uncompressed);
	outfile *o = outfile_open(out);
	outfile_write(o, f.data, f.len);
	outfile_commit(o);
	buf_free(&f);
	buf_free(&vals);
	free(ends);
	return 0;
}
