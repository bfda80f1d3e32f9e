/* json.h - a strict JSON (RFC 8259) parser into a tree, and a writer of
 * JSON strings. Documents, eval sets, configs and safetensors headers all
 * come through here. */
#ifndef BONSAI_JSON_H
#define BONSAI_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

typedef enum {
	JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT
} json_type;

typedef struct json_value json_value;
struct json_value {
	json_type type;
	double number;          /* JSON_NUMBER */
	char *str;              /* JSON_STRING: decoded UTF-8, NUL-terminated */
	size_t len;             /* JSON_STRING: bytes; ARRAY/OBJECT: members */
	json_value *items;      /* ARRAY/OBJECT members, in input order */
	char **keys;            /* OBJECT: keys[i] names items[i] */
	size_t *key_lens;
	const char *raw;        /* the value's text in the input, for pass-through */
	size_t raw_len;
};

typedef struct json_doc json_doc;

/* The length of the UTF-8 byte order mark s opens with (3), else 0: a
 * Windows editor's, at a file's start; json_parse() skips it (RFC 8259
 * lets a parser), and a tool that passes a line on drops it. */
size_t json_bom_len(const char *s, size_t n);

/* Parses text[0..n). On error returns NULL and writes a message with the
 * byte offset into err ("out of memory ..." when that ran out). The tree
 * lives until json_free(doc). */
json_doc *json_parse(const char *text, size_t n, char *err, size_t errlen);
json_value *json_root(json_doc *doc);
void json_free(json_doc *doc);

/* Object member by key (first match), or NULL. */
json_value *json_get(const json_value *obj, const char *key);
/* Convenience: member as a string / number, or NULL / def when absent or of
 * another type. */
const char *json_get_str(const json_value *obj, const char *key);
double json_get_num(const json_value *obj, const char *key, double def);
/* A member that must be a finite number when present: 1 and *out when it
 * is one, 0 when absent, -1 when it is something else (a string, null, a
 * number beyond a double's range: 1e999). */
int json_get_finite(const json_value *obj, const char *key, double *out);
/* 0 and *out when v is a number that is a whole number in [lo, hi] (within
 * +-2^53), else -1. The range is checked before the conversion: converting
 * a double beyond an integer type's range is undefined. */
int json_int(const json_value *v, int64_t lo, int64_t hi, int64_t *out);

/* Appends s[0..n) as a JSON string literal (quotes included). Control
 * characters, '"' and '\' are escaped; other bytes pass through. A
 * BUF_CHECKED buffer that runs out of memory says so in its failed flag. */
void json_write_string(buf_t *b, const char *s, size_t n);

/* Checks that s[0..n) is well-formed UTF-8 (no surrogates, no overlongs). */
int utf8_valid(const char *s, size_t n);

#endif
