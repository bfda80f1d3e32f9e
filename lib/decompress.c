/* decompress.c - see decompress.h. */
#include "decompress.h"
#include "cli.h"

#include <bzlib.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

enum form { FORM_ZSTD, FORM_GZIP, FORM_BZIP2 };

struct decompressor {
	enum form form;
	/* the last frame, member or stream read has ended: the input may end
	 * here, and more input starts a new one */
	int unit_done;
	int bz_live; /* bz holds a started decompressor */
	ZSTD_DStream *zd;
	z_stream z;
	bz_stream bz;
};

static const char *const names[] = {"zstd", "gzip", "bzip2"};
static const char *const units[] = {"frame", "member", "stream"};

static int bz_start(decompressor *d, char *err, size_t errlen)
{
	memset(&d->bz, 0, sizeof d->bz);
	if (BZ2_bzDecompressInit(&d->bz, 0, 0) != BZ_OK)
		return errf(err, errlen, "bzip2: cannot start the decompressor");
	d->bz_live = 1;
	return 0;
}

int decompressor_open(const void *head, size_t n, decompressor **out, char *err, size_t errlen)
{
	const unsigned char *h = head;
	*out = NULL;
	enum form form;
	if (n >= 4 && h[0] == 0x28 && h[1] == 0xB5 && h[2] == 0x2F && h[3] == 0xFD)
		form = FORM_ZSTD;
	else if (n >= 3 && h[0] == 0x1F && h[1] == 0x8B && h[2] == 8) /* 8: deflate, gzip's only method */
		form = FORM_GZIP;
	else if (n >= 4 && h[0] == 'B' && h[1] == 'Z' && h[2] == 'h' && h[3] >= '1' && h[3] <= '9')
		form = FORM_BZIP2;
	else
		return 0;
	decompressor *d = calloc(1, sizeof *d);
	if (!d)
		return errf(err, errlen, "%s: out of memory (for the decompressor)", names[form]);
	d->form = form;
	switch (form) {
	case FORM_ZSTD:
		d->zd = ZSTD_createDStream();
		if (!d->zd) {
			free(d);
			return errf(err, errlen, "zstd: out of memory (for the decompressor)");
		}
		if (ZSTD_isError(ZSTD_initDStream(d->zd))) {
			decompressor_free(d);
			return errf(err, errlen, "zstd: cannot start the decompressor");
		}
		break;
	case FORM_GZIP:
		/* 15 + 16: a gzip header, the largest window */
		switch (inflateInit2(&d->z, 15 + 16)) {
		case Z_OK:
			break;
		case Z_MEM_ERROR:
			free(d);
			return errf(err, errlen, "gzip: out of memory (for the decompressor)");
		default:
			free(d);
			return errf(err, errlen, "gzip: cannot start the decompressor");
		}
		break;
	case FORM_BZIP2:
		if (bz_start(d, err, errlen)) {
			free(d);
			return -1;
		}
		break;
	}
	*out = d;
	return 0;
}

const char *decompressor_name(const decompressor *d) { return names[d->form]; }
const char *decompressor_unit(const decompressor *d) { return units[d->form]; }
int decompressor_complete(const decompressor *d) { return d->unit_done; }

/* zlib and bzip2 count in unsigned int */
static unsigned clamp_uint(size_t n) { return n > UINT_MAX ? UINT_MAX : (unsigned)n; }

static int run_zstd(decompressor *d, const char *src, size_t src_len, size_t *src_pos, char *dst,
		    size_t dst_cap, size_t *dst_pos, char *err, size_t errlen)
{
	ZSTD_inBuffer ib = {src, src_len, *src_pos};
	ZSTD_outBuffer ob = {dst, dst_cap, *dst_pos};
	size_t r = ZSTD_decompressStream(d->zd, &ob, &ib);
	*src_pos = ib.pos;
	*dst_pos = ob.pos;
	if (ZSTD_isError(r))
		return errf(err, errlen, "zstd: %s", ZSTD_getErrorName(r));
	d->unit_done = (r == 0);
	return 0;
}

static int run_gzip(decompressor *d, const char *src, size_t src_len, size_t *src_pos, char *dst,
		    size_t dst_cap, size_t *dst_pos, char *err, size_t errlen)
{
	while (*src_pos < src_len && *dst_pos < dst_cap) {
		if (d->unit_done) {
			/* another member follows (cat a.gz b.gz is one gzip file) */
			inflateReset(&d->z);
			d->unit_done = 0;
		}
		d->z.next_in = (unsigned char *)src + *src_pos;
		d->z.avail_in = clamp_uint(src_len - *src_pos);
		d->z.next_out = (unsigned char *)dst + *dst_pos;
		d->z.avail_out = clamp_uint(dst_cap - *dst_pos);
		unsigned in0 = d->z.avail_in, out0 = d->z.avail_out;
		int r = inflate(&d->z, Z_NO_FLUSH);
		*src_pos += in0 - d->z.avail_in;
		*dst_pos += out0 - d->z.avail_out;
		if (r == Z_STREAM_END)
			d->unit_done = 1;
		else if (r == Z_BUF_ERROR)
			break; /* no progress possible with this much: the caller brings more */
		else if (r != Z_OK)
			return errf(err, errlen, "gzip: %s",
				    r == Z_MEM_ERROR ? "out of memory" : d->z.msg ? d->z.msg : "corrupt data");
	}
	return 0;
}

static int run_bzip2(decompressor *d, const char *src, size_t src_len, size_t *src_pos, char *dst,
		     size_t dst_cap, size_t *dst_pos, char *err, size_t errlen)
{
	while (*src_pos < src_len && *dst_pos < dst_cap) {
		if (d->unit_done) {
			/* another stream follows (pbzip2 writes one per block) */
			BZ2_bzDecompressEnd(&d->bz);
			d->bz_live = 0;
			if (bz_start(d, err, errlen))
				return -1;
			d->unit_done = 0;
		}
		d->bz.next_in = (char *)src + *src_pos;
		d->bz.avail_in = clamp_uint(src_len - *src_pos);
		d->bz.next_out = dst + *dst_pos;
		d->bz.avail_out = clamp_uint(dst_cap - *dst_pos);
		unsigned in0 = d->bz.avail_in, out0 = d->bz.avail_out;
		int r = BZ2_bzDecompress(&d->bz);
		*src_pos += in0 - d->bz.avail_in;
		*dst_pos += out0 - d->bz.avail_out;
		if (r == BZ_STREAM_END)
			d->unit_done = 1;
		else if (r != BZ_OK)
			return errf(err, errlen, "bzip2: %s",
				    r == BZ_DATA_ERROR_MAGIC ? "not bzip2 data (bad stream header)"
				    : r == BZ_MEM_ERROR      ? "out of memory"
							     : "corrupt data");
		else if (in0 == d->bz.avail_in && out0 == d->bz.avail_out)
			break;
	}
	return 0;
}

int decompressor_run(decompressor *d, const char *src, size_t src_len, size_t *src_pos, char *dst,
		     size_t dst_cap, size_t *dst_pos, char *err, size_t errlen)
{
	switch (d->form) {
	case FORM_ZSTD: return run_zstd(d, src, src_len, src_pos, dst, dst_cap, dst_pos, err, errlen);
	case FORM_GZIP: return run_gzip(d, src, src_len, src_pos, dst, dst_cap, dst_pos, err, errlen);
	case FORM_BZIP2: return run_bzip2(d, src, src_len, src_pos, dst, dst_cap, dst_pos, err, errlen);
	}
	return errf(err, errlen, "unknown compression");
}

void decompressor_free(decompressor *d)
{
	if (!d)
		return;
	if (d->zd)
		ZSTD_freeDStream(d->zd);
	if (d->form == FORM_GZIP)
		inflateEnd(&d->z);
	if (d->bz_live)
		BZ2_bzDecompressEnd(&d->bz);
	free(d);
}
