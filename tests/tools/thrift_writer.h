/* thrift_writer.h - a small Thrift compact-protocol writer, enough to write
 * parquet page headers and footers byte by byte: for the tests that make
 * parquet files no fixture holds (tests/unit/test_fetch_synth.c,
 * tests/tools/mkparquet.c). Header-only: each user is one file. */
#ifndef BONSAI_TESTS_THRIFT_WRITER_H
#define BONSAI_TESTS_THRIFT_WRITER_H

#include "buf.h"

#include <stdint.h>
#include <string.h>

typedef struct {
	buf_t b;
	int16_t last[16];
	int depth;
} tw;

static inline void tw_varint(tw *w, uint64_t v)
{
	while (v >= 0x80) {
		buf_putc(&w->b, (char)(v | 0x80));
		v >>= 7;
	}
	buf_putc(&w->b, (char)v);
}
static inline void tw_field(tw *w, int16_t id, int type)
{
	int16_t d = (int16_t)(id - w->last[w->depth]);
	if (d > 0 && d <= 15)
		buf_putc(&w->b, (char)(d << 4 | type));
	else {
		buf_putc(&w->b, (char)type);
		tw_varint(w, (uint64_t)((id << 1) ^ (id >> 15)));
	}
	w->last[w->depth] = id;
}
static inline void tw_int(tw *w, int16_t id, int type, int64_t v)
{
	tw_field(w, id, type);
	tw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); /* zigzag; no shift of a negative */
}
#define I32(w, id, v) tw_int(w, id, 5, v)
#define I64(w, id, v) tw_int(w, id, 6, v)
static inline void tw_bin(tw *w, int16_t id, const char *s)
{
	tw_field(w, id, 8);
	tw_varint(w, strlen(s));
	buf_puts(&w->b, s);
}
static inline void tw_begin(tw *w, int16_t id)   /* id 0: a list element */
{
	if (id)
		tw_field(w, id, 12);
	w->last[++w->depth] = 0;
}
static inline void tw_end(tw *w)
{
	buf_putc(&w->b, 0);
	w->depth--;
}
static inline void tw_list(tw *w, int16_t id, int elem, int n)
{
	tw_field(w, id, 9);
	buf_putc(&w->b, (char)(n << 4 | elem));
}


#endif
