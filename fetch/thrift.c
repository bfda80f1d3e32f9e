/* thrift.c - see thrift.h. */
#include "thrift.h"

#include <string.h>

#define TC_MAX_DEPTH 64

void tc_init(tc_reader *r, const void *p, size_t n)
{
	r->p = r->start = p;
	r->end = r->p + n;
	r->err = NULL;
	r->depth = 0;
}

void tc_fail(tc_reader *r, const char *why)
{
	if (!r->err)
		r->err = why;
	r->p = r->end;
}

size_t tc_pos(const tc_reader *r) { return (size_t)(r->p - r->start); }

static uint8_t tc_byte(tc_reader *r)
{
	if (r->p >= r->end) {
		tc_fail(r, "truncated thrift data");
		return 0;
	}
	return *r->p++;
}

static uint64_t tc_varint(tc_reader *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b = tc_byte(r);
		if (r->err)
			return 0;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	tc_fail(r, "overlong varint in thrift data");
	return 0;
}

static int64_t tc_zigzag(tc_reader *r)
{
	uint64_t v = tc_varint(r);
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int tc_field(tc_reader *r, int16_t *last, int16_t *id)
{
	uint8_t b = tc_byte(r);
	if (r->err)
		return TC_STOP;
	int type = b & 0x0f;
	if (type == TC_STOP)
		return TC_STOP;
	int delta = b >> 4;
	if (delta)
		*id = (int16_t)(*last + delta);
	else
		*id = (int16_t)tc_zigzag(r);
	*last = *id;
	if (type > TC_STRUCT) {
		tc_fail(r, "bad thrift field type");
		return TC_STOP;
	}
	return type;
}

void tc_struct_begin(tc_reader *r)
{
	if (++r->depth > TC_MAX_DEPTH)
		tc_fail(r, "thrift data nested too deeply");
}

void tc_struct_end(tc_reader *r) { r->depth--; }

uint32_t tc_list(tc_reader *r, int *elem_type)
{
	uint8_t b = tc_byte(r);
	uint64_t n = b >> 4;
	*elem_type = b & 0x0f;
	if (n == 15)
		n = tc_varint(r);
	/* Every element takes at least one byte, so a count above the bytes
	 * left is a lie that would make us allocate without bound. */
	if (n > (uint64_t)(r->end - r->p)) {
		tc_fail(r, "thrift list longer than its data");
		return 0;
	}
	return (uint32_t)n;
}

int64_t tc_int(tc_reader *r, int type)
{
	switch (type) {
	case TC_BYTE: return (int8_t)tc_byte(r);
	case TC_I16: case TC_I32: case TC_I64: return tc_zigzag(r);
	default:
		tc_skip(r, type);
		tc_fail(r, "thrift field of unexpected type");
		return 0;
	}
}

int tc_bool(tc_reader *r, int type)
{
	if (type == TC_TRUE) return 1;
	if (type == TC_FALSE) return 0;
	tc_skip(r, type);
	tc_fail(r, "thrift field of unexpected type");
	return 0;
}

double tc_double(tc_reader *r)
{
	double d = 0;
	if (r->end - r->p < 8) {
		tc_fail(r, "truncated thrift data");
		return 0;
	}
	memcpy(&d, r->p, 8);   /* little-endian on the hosts we build for */
	r->p += 8;
	return d;
}

const uint8_t *tc_binary(tc_reader *r, uint32_t *len)
{
	uint64_t n = tc_varint(r);
	if (n > (uint64_t)(r->end - r->p)) {
		tc_fail(r, "thrift string longer than its data");
		*len = 0;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	*len = (uint32_t)n;
	return p;
}

static void tc_skip_elem(tc_reader *r, int type)
{
	/* Inside lists, booleans are one byte each. */
	if (type == TC_TRUE || type == TC_FALSE)
		tc_byte(r);
	else
		tc_skip(r, type);
}

void tc_skip(tc_reader *r, int type)
{
	uint32_t len;
	int et;
	switch (type) {
	case TC_TRUE: case TC_FALSE: break;
	case TC_BYTE: tc_byte(r); break;
	case TC_I16: case TC_I32: case TC_I64: tc_varint(r); break;
	case TC_DOUBLE: tc_double(r); break;
	case TC_BINARY: tc_binary(r, &len); break;
	case TC_LIST: case TC_SET: {
		uint32_t n = tc_list(r, &et);
		tc_struct_begin(r);
		for (uint32_t i = 0; i < n && !r->err; i++)
			tc_skip_elem(r, et);
		tc_struct_end(r);
		break;
	}
	case TC_MAP: {
		uint64_t n = tc_varint(r);
		if (n == 0)
			break;
		uint8_t kv = tc_byte(r);
		if (n > (uint64_t)(r->end - r->p)) {
			tc_fail(r, "thrift map longer than its data");
			break;
		}
		tc_struct_begin(r);
		for (uint64_t i = 0; i < n && !r->err; i++) {
			tc_skip_elem(r, kv >> 4);
			tc_skip_elem(r, kv & 15);
		}
		tc_struct_end(r);
		break;
	}
	case TC_STRUCT: {
		int16_t last = 0, id;
		int t;
		tc_struct_begin(r);
		while (!r->err && (t = tc_field(r, &last, &id)) != TC_STOP)
			tc_skip(r, t);
		tc_struct_end(r);
		break;
	}
	default:
		tc_fail(r, "bad thrift type");
	}
}
