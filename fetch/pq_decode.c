/* pq_decode.c - see pq_decode.h. Bit streams are little-endian, least
 * significant bit first, as parquet writes them. */
#include "pq_decode.h"
#include "pq_meta.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Cap on the bytes DELTA_BYTE_ARRAY may rebuild from one page: prefixes
 * repeat earlier bytes, so a small hostile page could ask for terabytes. */
#define MAX_REBUILT_BYTES ((size_t)1 << 31)

void *arena_alloc(pq_arena *a, size_t n)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->blocks = xreallocarray(a->blocks, a->cap, sizeof *a->blocks);
	}
	void *p = xmalloc(n ? n : 1);
	a->blocks[a->n++] = p;
	return p;
}

void arena_free(pq_arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof *a);
}

static const uint8_t *uleb(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64 && p < end; shift += 7) {
		uint8_t b = *p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return p;
		}
	}
	return NULL;
}

static const uint8_t *zigzag(const uint8_t *p, const uint8_t *end, int64_t *v)
{
	uint64_t u;
	p = uleb(p, end, &u);
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return p;
}

/* Reads bw (0..64) bits at bit position pos of base[0..n); the caller has
 * checked that they lie inside. */
static inline uint64_t get_bits(const uint8_t *base, size_t n, uint64_t pos, int bw)
{
	if (bw == 0)
		return 0;
	size_t byte = (size_t)(pos >> 3);
	int off = (int)(pos & 7);
	uint64_t v = 0;
	if (n - byte >= 8)
		memcpy(&v, base + byte, 8);
	else
		for (size_t k = 0; k < n - byte; k++)
			v |= (uint64_t)base[byte + k] << (8 * k);
	v >>= off;
	if (off + bw > 64 && byte + 8 < n)
		v |= (uint64_t)base[byte + 8] << (64 - off);
	return bw == 64 ? v : v & (((uint64_t)1 << bw) - 1);
}

int rle_decode(const uint8_t *p, size_t n, int bw, uint32_t *out, size_t count, const char **err)
{
	const uint8_t *end = p + n;
	size_t done = 0;
	if (bw < 0 || bw > 32) {
		*err = "bit width above 32";
		return -1;
	}
	size_t vbytes = (size_t)(bw + 7) / 8;
	while (done < count) {
		uint64_t h;
		p = uleb(p, end, &h);
		if (!p) {
			*err = "RLE data ends early";
			return -1;
		}
		if (h & 1) {
			uint64_t groups = h >> 1;
			size_t left = (size_t)(end - p);
			uint64_t nbytes = groups * (uint64_t)bw;
			if (groups > ((uint64_t)1 << 40) || nbytes > left)
				nbytes = left;   /* a short last run: take what is there */
			uint64_t avail = bw ? nbytes * 8 / (uint64_t)bw : groups * 8;
			if (avail > groups * 8)
				avail = groups * 8;
			size_t take = count - done < avail ? count - done : (size_t)avail;
			if (take == 0) {
				*err = "RLE data ends early";
				return -1;
			}
			for (size_t k = 0; k < take; k++)
				out[done + k] = (uint32_t)get_bits(p, (size_t)nbytes, (uint64_t)k * (uint64_t)bw, bw);
			done += take;
			p += nbytes;
		} else {
			uint64_t run = h >> 1;
			if ((size_t)(end - p) < vbytes) {
				*err = "RLE data ends early";
				return -1;
			}
			uint32_t v = 0;
			for (size_t k = 0; k < vbytes; k++)
				v |= (uint32_t)p[k] << (8 * k);
			p += vbytes;
			if (bw < 32 && (v >> bw)) {
				*err = "RLE value wider than its bit width";
				return -1;
			}
			size_t take = count - done < run ? count - done : (size_t)run;
			for (size_t k = 0; k < take; k++)
				out[done + k] = v;
			done += take;
		}
	}
	return 0;
}

static size_t type_width(int type, int type_length)
{
	switch (type) {
	case PQ_INT32: case PQ_FLOAT: return 4;
	case PQ_INT64: case PQ_DOUBLE: return 8;
	case PQ_INT96: return 12;
	case PQ_FIXED_LEN_BYTE_ARRAY: return (size_t)type_length;
	default: return 0;
	}
}

const uint8_t *decode_plain(const uint8_t *p, const uint8_t *end, int type, int type_length,
	pq_val *out, size_t count, const char **err)
{
	size_t left = (size_t)(end - p);
	size_t w = type_width(type, type_length);
	if (type == PQ_BOOLEAN) {
		if ((count + 7) / 8 > left)
			goto short_data;
		for (size_t i = 0; i < count; i++)
			out[i].i = (p[i >> 3] >> (i & 7)) & 1;
		return p + (count + 7) / 8;
	}
	if (type == PQ_BYTE_ARRAY) {
		for (size_t i = 0; i < count; i++) {
			if (end - p < 4)
				goto short_data;
			uint32_t n;
			memcpy(&n, p, 4);
			p += 4;
			if (n > (size_t)(end - p))
				goto short_data;
			out[i].s.p = p;
			out[i].s.n = n;
			p += n;
		}
		return p;
	}
	if (type == PQ_FIXED_LEN_BYTE_ARRAY && type_length <= 0) {
		*err = "FIXED_LEN_BYTE_ARRAY without a length";
		return NULL;
	}
	if (w == 0) {
		*err = "unknown physical type";
		return NULL;
	}
	if (count > left / w)
		goto short_data;
	switch (type) {
	case PQ_INT32:
		for (size_t i = 0; i < count; i++) {
			int32_t v;
			memcpy(&v, p + 4 * i, 4);
			out[i].i = v;
		}
		break;
	case PQ_INT64:
		for (size_t i = 0; i < count; i++)
			memcpy(&out[i].i, p + 8 * i, 8);
		break;
	case PQ_FLOAT:
		for (size_t i = 0; i < count; i++) {
			float f;
			memcpy(&f, p + 4 * i, 4);
			out[i].d = f;
		}
		break;
	case PQ_DOUBLE:
		for (size_t i = 0; i < count; i++)
			memcpy(&out[i].d, p + 8 * i, 8);
		break;
	case PQ_INT96:
		/* 8 bytes of nanoseconds in the day, then the Julian day number. */
		for (size_t i = 0; i < count; i++) {
			int64_t ns;
			int32_t jd;
			memcpy(&ns, p + 12 * i, 8);
			memcpy(&jd, p + 12 * i + 8, 4);
			out[i].i = (int64_t)((uint64_t)((int64_t)jd - 2440588) * 86400000000000ULL + (uint64_t)ns);
		}
		break;
	case PQ_FIXED_LEN_BYTE_ARRAY:
		for (size_t i = 0; i < count; i++) {
			out[i].s.p = p + w * i;
			out[i].s.n = (uint32_t)w;
		}
		break;
	}
	return p + count * w;
short_data:
	*err = "PLAIN data ends early";
	return NULL;
}

const uint8_t *decode_dict(const uint8_t *p, const uint8_t *end, const pq_val *dict, size_t ndict,
	pq_val *out, size_t count, const char **err)
{
	if (count == 0)
		return end;
	if (p >= end) {
		*err = "dictionary indices missing";
		return NULL;
	}
	int bw = *p++;
	if (!dict) {
		*err = "dictionary-encoded page without a dictionary page";
		return NULL;
	}
	uint32_t small[256];
	uint32_t *idx = count <= 256 ? small : xmalloc(count * sizeof *idx);
	const uint8_t *ret = end;
	if (rle_decode(p, (size_t)(end - p), bw, idx, count, err) < 0)
		ret = NULL;
	for (size_t i = 0; ret && i < count; i++) {
		if (idx[i] >= ndict) {
			*err = "dictionary index out of range";
			ret = NULL;
			break;
		}
		out[i] = dict[idx[i]];
	}
	if (idx != small)
		free(idx);
	return ret;
}

/* DELTA_BINARY_PACKED into u[0..count); the header's total must be at
 * least count. Returns the end of the encoded block. */
static const uint8_t *dbp(const uint8_t *p, const uint8_t *end, uint64_t *u, size_t count,
	size_t *total_out, const char **err)
{
	uint64_t block, minis, total;
	int64_t first;
	if (!(p = uleb(p, end, &block)) || !(p = uleb(p, end, &minis)) ||
	    !(p = uleb(p, end, &total)) || !(p = zigzag(p, end, &first)))
		goto short_data;
	if (block == 0 || block % 128 || minis == 0 || minis > block || block % minis ||
	    (block / minis) % 32 || block > (1u << 20)) {
		*err = "bad DELTA_BINARY_PACKED header";
		return NULL;
	}
	if (total < count) {
		*err = "DELTA_BINARY_PACKED holds fewer values than the page";
		return NULL;
	}
	*total_out = (size_t)total;
	size_t per_mini = (size_t)(block / minis);
	uint64_t last = (uint64_t)first;
	size_t got = 0;
	if (total > 0) {
		if (count > 0)
			u[0] = last;
		got = 1;
	}
	while (got < total) {
		int64_t min_delta;
		if (!(p = zigzag(p, end, &min_delta)))
			goto short_data;
		if ((uint64_t)(end - p) < minis)
			goto short_data;
		const uint8_t *widths = p;
		p += minis;
		for (size_t m = 0; m < minis && got < total; m++) {
			int bw = widths[m];
			if (bw > 64) {
				*err = "DELTA_BINARY_PACKED bit width above 64";
				return NULL;
			}
			size_t nbytes = per_mini * (size_t)bw / 8;
			size_t need = total - got < per_mini ? total - got : per_mini;
			size_t have = (size_t)(end - p);
			if (nbytes > have) {
				/* Some writers drop the padding of the last miniblock. */
				if ((need * (size_t)bw + 7) / 8 > have)
					goto short_data;
				nbytes = have;
			}
			for (size_t j = 0; j < need; j++) {
				last += (uint64_t)min_delta + get_bits(p, nbytes, (uint64_t)j * (uint64_t)bw, bw);
				if (got < count)
					u[got] = last;
				got++;
			}
			p += nbytes;
		}
	}
	return p;
short_data:
	*err = "DELTA_BINARY_PACKED data ends early";
	return NULL;
}

const uint8_t *decode_delta_binary(const uint8_t *p, const uint8_t *end, int type,
	pq_val *out, size_t count, const char **err)
{
	if (type != PQ_INT32 && type != PQ_INT64) {
		*err = "DELTA_BINARY_PACKED on a type other than INT32/INT64";
		return NULL;
	}
	size_t total;
	uint64_t *u = xmalloc((count ? count : 1) * sizeof *u);
	p = dbp(p, end, u, count, &total, err);
	if (p)
		for (size_t i = 0; i < count; i++)
			out[i].i = type == PQ_INT32 ? (int64_t)(int32_t)(uint32_t)u[i] : (int64_t)u[i];
	free(u);
	return p;
}

/* Lengths then bytes; the lengths block must hold exactly count values. */
static const uint8_t *dlba(const uint8_t *p, const uint8_t *end, pq_val *out, size_t count,
	const char **err)
{
	size_t total;
	uint64_t *len = xmalloc((count ? count : 1) * sizeof *len);
	p = dbp(p, end, len, count, &total, err);
	if (p && total != count) {
		*err = "DELTA_LENGTH_BYTE_ARRAY length count differs from the page";
		p = NULL;
	}
	for (size_t i = 0; p && i < count; i++) {
		if (len[i] > (uint64_t)(end - p) || len[i] > UINT32_MAX) {
			*err = "DELTA_LENGTH_BYTE_ARRAY data ends early";
			p = NULL;
			break;
		}
		out[i].s.p = p;
		out[i].s.n = (uint32_t)len[i];
		p += len[i];
	}
	free(len);
	return p;
}

const uint8_t *decode_delta_length(const uint8_t *p, const uint8_t *end,
	pq_val *out, size_t count, const char **err)
{
	return dlba(p, end, out, count, err);
}

const uint8_t *decode_delta_byte_array(const uint8_t *p, const uint8_t *end, pq_arena *arena,
	pq_val *out, size_t count, const char **err)
{
	size_t total;
	uint64_t *prefix = xmalloc((count ? count : 1) * sizeof *prefix);
	p = dbp(p, end, prefix, count, &total, err);
	if (p && total != count) {
		*err = "DELTA_BYTE_ARRAY prefix count differs from the page";
		p = NULL;
	}
	if (p)
		p = dlba(p, end, out, count, err);
	/* Size the rebuilt strings first, then build them into one block. */
	size_t bytes = 0, prev = 0;
	for (size_t i = 0; p && i < count; i++) {
		if (prefix[i] > prev) {
			*err = "DELTA_BYTE_ARRAY prefix longer than the previous value";
			p = NULL;
			break;
		}
		prev = (size_t)prefix[i] + out[i].s.n;
		bytes += prev;
		if (prev > UINT32_MAX || bytes > MAX_REBUILT_BYTES) {
			*err = "DELTA_BYTE_ARRAY values too large";
			p = NULL;
		}
	}
	if (p) {
		uint8_t *dst = arena_alloc(arena, bytes);
		const uint8_t *pv = NULL;
		for (size_t i = 0; i < count; i++) {
			size_t pre = (size_t)prefix[i];
			if (pre)
				memcpy(dst, pv, pre);
			if (out[i].s.n)
				memcpy(dst + pre, out[i].s.p, out[i].s.n);
			out[i].s.p = dst;
			out[i].s.n = (uint32_t)(pre + out[i].s.n);
			pv = dst;
			dst += out[i].s.n;
		}
	}
	free(prefix);
	return p;
}

const uint8_t *decode_byte_stream_split(const uint8_t *p, const uint8_t *end, int type, int type_length,
	pq_val *out, size_t count, const char **err)
{
	size_t w = type_width(type, type_length);
	if (w == 0 || w > 8 || type == PQ_INT96) {
		*err = "BYTE_STREAM_SPLIT on an unsupported type";
		return NULL;
	}
	size_t left = (size_t)(end - p);
	if (count > left / w) {
		*err = "BYTE_STREAM_SPLIT data ends early";
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		uint8_t b[8] = {0};
		for (size_t k = 0; k < w; k++)
			b[k] = p[k * count + i];
		switch (type) {
		case PQ_FLOAT: { float f; memcpy(&f, b, 4); out[i].d = f; break; }
		case PQ_DOUBLE: memcpy(&out[i].d, b, 8); break;
		case PQ_INT32: { int32_t v; memcpy(&v, b, 4); out[i].i = v; break; }
		case PQ_INT64: memcpy(&out[i].i, b, 8); break;
		default:
			*err = "BYTE_STREAM_SPLIT on an unsupported type";
			return NULL;
		}
	}
	return p + count * w;
}

const uint8_t *decode_bool_rle(const uint8_t *p, const uint8_t *end,
	pq_val *out, size_t count, const char **err)
{
	uint32_t n;
	if (end - p < 4) {
		*err = "RLE boolean data ends early";
		return NULL;
	}
	memcpy(&n, p, 4);
	p += 4;
	if (n > (size_t)(end - p)) {
		*err = "RLE boolean data ends early";
		return NULL;
	}
	uint32_t *v = xmalloc((count ? count : 1) * sizeof *v);
	int rc = rle_decode(p, n, 1, v, count, err);
	for (size_t i = 0; rc == 0 && i < count; i++)
		out[i].i = v[i];
	free(v);
	return rc ? NULL : p + n;
}
