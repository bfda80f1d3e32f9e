/* thrift.h - a bounds-checked reader of the Thrift compact protocol, the
 * encoding of parquet footers and page headers. Errors are sticky: after the
 * first one every read returns 0 and tc_ok() is false, so callers can parse
 * straight through and check once at the end. */
#ifndef FETCH_THRIFT_H
#define FETCH_THRIFT_H

#include <stddef.h>
#include <stdint.h>

enum {
	TC_STOP = 0, TC_TRUE = 1, TC_FALSE = 2, TC_BYTE = 3, TC_I16 = 4,
	TC_I32 = 5, TC_I64 = 6, TC_DOUBLE = 7, TC_BINARY = 8, TC_LIST = 9,
	TC_SET = 10, TC_MAP = 11, TC_STRUCT = 12
};

typedef struct {
	const uint8_t *p, *start, *end;
	const char *err;   /* first error, NULL while all is well */
	int depth;         /* struct nesting, capped against stack exhaustion */
} tc_reader;

void tc_init(tc_reader *r, const void *p, size_t n);
static inline int tc_ok(const tc_reader *r) { return r->err == NULL; }
void tc_fail(tc_reader *r, const char *why);
size_t tc_pos(const tc_reader *r);

/* The next field of the current struct: returns its type (TC_STOP at the
 * end) and sets *id; *last carries the previous id for delta decoding. */
int tc_field(tc_reader *r, int16_t *last, int16_t *id);
/* Begins/ends a nested struct (its own field-id numbering). */
void tc_struct_begin(tc_reader *r);
void tc_struct_end(tc_reader *r);
/* A list or set header: element type and count (count capped by the bytes left). */
uint32_t tc_list(tc_reader *r, int *elem_type);

int64_t tc_int(tc_reader *r, int type);   /* i8/i16/i32/i64, any of them */
int tc_bool(tc_reader *r, int type);      /* a bool field (value in its type) */
double tc_double(tc_reader *r);
/* A binary/string: pointer into the input and its length. */
const uint8_t *tc_binary(tc_reader *r, uint32_t *len);
/* Skips a value of the given type, nested values included. */
void tc_skip(tc_reader *r, int type);

#endif
