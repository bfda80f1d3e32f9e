/* pq_decode.h - parquet value and level encodings: PLAIN, dictionary
 * indices, the RLE/bit-packed hybrid, DELTA_BINARY_PACKED,
 * DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT.
 * Every decoder checks its input bounds and returns NULL on malformed data
 * with a reason in *err. */
#ifndef FETCH_PQ_DECODE_H
#define FETCH_PQ_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* One value: integers (and booleans, INT96 as nanoseconds) in i, FLOAT and
 * DOUBLE in d, byte strings as a pointer and length. */
typedef struct {
	union {
		int64_t i;
		double d;
		struct { const uint8_t *p; uint32_t n; } s;
	};
} pq_val;

/* Memory that decoded values point into (decompressed pages, rebuilt
 * strings), freed together when the row group is done. */
typedef struct {
	void **blocks;
	size_t n, cap;
} pq_arena;

void *arena_alloc(pq_arena *a, size_t n);
void arena_free(pq_arena *a);

/* RLE/bit-packed hybrid: decodes count values of bit width bw (0..32) from
 * p[0..n). Returns 0, or -1 when the data runs out. */
int rle_decode(const uint8_t *p, size_t n, int bw, uint32_t *out, size_t count, const char **err);

/* Each decoder fills out[0..count) and returns the end of what it read, or
 * NULL on malformed input. type is the physical type, type_length the
 * FIXED_LEN_BYTE_ARRAY width. */
const uint8_t *decode_plain(const uint8_t *p, const uint8_t *end, int type, int type_length,
	pq_val *out, size_t count, const char **err);
const uint8_t *decode_dict(const uint8_t *p, const uint8_t *end, const pq_val *dict, size_t ndict,
	pq_val *out, size_t count, const char **err);
const uint8_t *decode_delta_binary(const uint8_t *p, const uint8_t *end, int type,
	pq_val *out, size_t count, const char **err);
const uint8_t *decode_delta_length(const uint8_t *p, const uint8_t *end,
	pq_val *out, size_t count, const char **err);
const uint8_t *decode_delta_byte_array(const uint8_t *p, const uint8_t *end, pq_arena *arena,
	pq_val *out, size_t count, const char **err);
const uint8_t *decode_byte_stream_split(const uint8_t *p, const uint8_t *end, int type, int type_length,
	pq_val *out, size_t count, const char **err);
/* BOOLEAN values in the RLE encoding (4-byte length, then hybrid bw 1). */
const uint8_t *decode_bool_rle(const uint8_t *p, const uint8_t *end,
	pq_val *out, size_t count, const char **err);

#endif
