/* pq_codec.c - see pq_codec.h. */
#include "pq_codec.h"
#include "pq_meta.h"

#include <brotli/decode.h>
#include <limits.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

int codec_supported(int codec)
{
	return codec == CODEC_UNCOMPRESSED || codec == CODEC_SNAPPY ||
		codec == CODEC_GZIP || codec == CODEC_ZSTD || codec == CODEC_LZ4_RAW ||
		codec == CODEC_BROTLI;
}

static const char *gunzip(const void *src, size_t n, void *dst, size_t want)
{
	if (n > UINT_MAX || want > UINT_MAX)
		return "page too large";
	z_stream z = {0};
	if (inflateInit2(&z, 15 + 32) != Z_OK)   /* gzip or zlib header */
		return "zlib initialisation failed";
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)n;
	z.next_out = dst;
	z.avail_out = (uInt)want;
	const char *err = NULL;
	for (;;) {
		int rc = inflate(&z, Z_FINISH);
		if (rc == Z_STREAM_END) {
			/* Concatenated gzip members are legal. */
			if (z.avail_in > 0 && z.avail_out > 0) {
				if (inflateReset(&z) != Z_OK) { err = "corrupt data"; break; }
				continue;
			}
			break;
		}
		err = rc == Z_BUF_ERROR && z.avail_out == 0 ? "data larger than the page header says" : "corrupt data";
		break;
	}
	if (!err && z.avail_out != 0)
		err = "data smaller than the page header says";
	inflateEnd(&z);
	return err;
}

/* LZ4 block format, no frame: the page header gives the size. */
static const char *unlz4(const void *src, size_t n, void *dst, size_t want)
{
	if (n > INT_MAX || want > INT_MAX)
		return "page too large";
	int r = LZ4_decompress_safe(src, dst, (int)n, (int)want);
	if (r < 0) /* also when it would write past want */
		return "corrupt data, or data larger than the page header says";
	if ((size_t)r != want)
		return "data smaller than the page header says";
	return NULL;
}

static const char *unbrotli(const void *src, size_t n, void *dst, size_t want)
{
	BrotliDecoderState *s = BrotliDecoderCreateInstance(NULL, NULL, NULL);
	if (!s)
		return "out of memory for the brotli decoder";
	size_t in_left = n, out_left = want;
	const uint8_t *in = src;
	uint8_t *out = dst;
	BrotliDecoderResult r = BrotliDecoderDecompressStream(s, &in_left, &in, &out_left, &out, NULL);
	const char *err = NULL;
	if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT)
		err = "data larger than the page header says";
	else if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
		err = "truncated data";
	else if (r != BROTLI_DECODER_RESULT_SUCCESS)
		err = "corrupt data";
	else if (out_left)
		err = "data smaller than the page header says";
	else if (in_left)
		err = "bytes after the end of the compressed data";
	BrotliDecoderDestroyInstance(s);
	return err;
}

const char *codec_decompress(int codec, const void *src, size_t n, void *dst, size_t want)
{
	switch (codec) {
	case CODEC_SNAPPY: {
		size_t len;
		if (snappy_uncompressed_length(src, n, &len) != SNAPPY_OK)
			return "corrupt data";
		if (len != want)
			return "decompressed size differs from the page header";
		if (snappy_uncompress(src, n, dst, &len) != SNAPPY_OK || len != want)
			return "corrupt data";
		return NULL;
	}
	case CODEC_ZSTD: {
		size_t r = ZSTD_decompress(dst, want, src, n);
		if (ZSTD_isError(r))
			return ZSTD_getErrorName(r);
		if (r != want)
			return "decompressed size differs from the page header";
		return NULL;
	}
	case CODEC_GZIP:
		return gunzip(src, n, dst, want);
	case CODEC_LZ4_RAW:
		return unlz4(src, n, dst, want);
	case CODEC_BROTLI:
		return unbrotli(src, n, dst, want);
	default:
		return "unsupported codec";
	}
}
