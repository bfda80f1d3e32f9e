/* decompress.h - the compressed forms an input may take (zstd, gzip,
 * bzip2), told apart by their magic numbers, never by the file's name, and
 * decoded one buffer at a time. Several frames, members or streams back to
 * back (zstd -c a b, cat a.gz b.gz, pbzip2) are one input. Errors are
 * returned, with the compressed byte where they were found. */
#ifndef BONSAI_DECOMPRESS_H
#define BONSAI_DECOMPRESS_H

#include <stddef.h>

typedef struct decompressor decompressor;

/* Bytes of an input's start needed to tell its form. */
#define DECOMPRESS_MAGIC_BYTES 4

/* The form that head (the first n bytes of an input) starts with: sets *d
 * to a decompressor, or to NULL for an input that is not compressed (or
 * too short to be). Returns 0, or -1 with err when the library cannot
 * start. */
int decompressor_open(const void *head, size_t n, decompressor **d, char *err, size_t errlen);
/* "zstd", "gzip" or "bzip2". */
const char *decompressor_name(const decompressor *d);
/* Decodes src[*src_pos, src_len) into dst[*dst_pos, dst_cap), moving both
 * positions on. Returns 0, or -1 with "FORM: what is wrong" in err when the
 * data is corrupt (*src_pos then is where the decoder stopped). */
int decompressor_run(decompressor *d, const char *src, size_t src_len, size_t *src_pos,
		     char *dst, size_t dst_cap, size_t *dst_pos, char *err, size_t errlen);
/* 1 when the input may end here (the last frame, member or stream read
 * is complete), 0 when an end here means the input was cut short. */
int decompressor_complete(const decompressor *d);
/* "frame", "member" or "stream": what a cut-short input ends inside. */
const char *decompressor_unit(const decompressor *d);
void decompressor_free(decompressor *d);

#endif
