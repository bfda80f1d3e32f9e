/* pq_codec.h - page decompression: SNAPPY, GZIP, ZSTD, LZ4_RAW, BROTLI. */
#ifndef FETCH_PQ_CODEC_H
#define FETCH_PQ_CODEC_H

#include <stddef.h>

int codec_supported(int codec);
/* Decompresses src[0..n) into exactly want bytes at dst; returns NULL, or
 * what went wrong. */
const char *codec_decompress(int codec, const void *src, size_t n, void *dst, size_t want);

#endif
