/* test_fetch_decode.c - the parquet decoders on the worked examples of the
 * parquet format specification (Encodings.md), the Thrift compact protocol
 * on hand-encoded page headers, malformed inputs, and number formatting. */
#include "tap.h"
#include "cli.h"
#include "../../fetch/thrift.h"
#include "../../fetch/pq_meta.h"
#include "../../fetch/pq_decode.h"
#include "../../fetch/pq_json.h"

#include <math.h>

#define U8(...) ((const uint8_t[]){__VA_ARGS__})
#define LEN(...) sizeof((const uint8_t[]){__VA_ARGS__})

static void test_rle(void)
{
	const char *err = NULL;
	uint32_t v[16];
	/* Spec: bit-packed 0..7 with width 3 is 10001000 11000110 11111010. */
	static const uint8_t bp[] = {0x03, 0x88, 0xC6, 0xFA};
	ok(rle_decode(bp, sizeof bp, 3, v, 8, &err) == 0, "bit-packed run decodes");
	int good = 1;
	for (int i = 0; i < 8; i++)
		good &= v[i] == (uint32_t)i;
	ok(good, "bit-packed run gives 0..7");
	/* An RLE run of 5 threes (width 2) then a bit-packed group. */
	static const uint8_t mix[] = {0x0A, 0x03, 0x03, 0x88, 0xC6, 0xFA};
	ok(rle_decode(mix, sizeof mix, 3, v, 13, &err) == 0 && v[0] == 3 && v[4] == 3 && v[5] == 0 && v[12] == 7,
		"RLE run followed by a bit-packed run");
	ok(rle_decode(mix, sizeof mix, 3, v, 14, &err) < 0, "asking for more values than encoded fails");
	static const uint8_t wide[] = {0x02, 0x09};
	ok(rle_decode(wide, sizeof wide, 3, v, 1, &err) < 0, "RLE value wider than its bit width is refused");
	ok(rle_decode(bp, sizeof bp, 33, v, 1, &err) < 0, "bit width above 32 is refused");
}

static void test_delta(void)
{
	const char *err = NULL;
	pq_val v[16];
	/* Spec example 1: 1 2 3 4 5. */
	static const uint8_t e1[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00};
	const uint8_t *end = decode_delta_binary(e1, e1 + sizeof e1, PQ_INT32, v, 5, &err);
	ok(end == e1 + sizeof e1 && v[0].i == 1 && v[4].i == 5, "DELTA_BINARY_PACKED example 1 (1..5)");
	/* Spec example 2: 7 5 3 1 2 3 4 5, min delta -2, width 2. */
	static const uint8_t e2[] = {0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 0x02, 0x00, 0x00, 0x00,
		0xC0, 0x3F, 0, 0, 0, 0, 0, 0};
	static const int64_t want2[] = {7, 5, 3, 1, 2, 3, 4, 5};
	end = decode_delta_binary(e2, e2 + sizeof e2, PQ_INT64, v, 8, &err);
	int good = end == e2 + sizeof e2;
	for (int i = 0; i < 8; i++)
		good &= v[i].i == want2[i];
	ok(good, "DELTA_BINARY_PACKED example 2 (7 5 3 1 2 3 4 5)");
	ok(!decode_delta_binary(e2, e2 + 11, PQ_INT64, v, 8, &err), "truncated DELTA_BINARY_PACKED fails");
	static const uint8_t badhdr[] = {0x81, 0x01, 0x04, 0x01, 0x00};
	ok(!decode_delta_binary(badhdr, badhdr + sizeof badhdr, PQ_INT64, v, 1, &err),
		"block size not a multiple of 128 is refused");

	/* Spec DELTA_LENGTH_BYTE_ARRAY: Hello World Foobar ABCDEF. */
	static const uint8_t dl[] = {0x80, 0x01, 0x04, 0x04, 0x0A, 0x00, 0x01, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 'H', 'e', 'l', 'l', 'o', 'W', 'o', 'r', 'l', 'd',
		'F', 'o', 'o', 'b', 'a', 'r', 'A', 'B', 'C', 'D', 'E', 'F'};
	end = decode_delta_length(dl, dl + sizeof dl, v, 4, &err);
	ok(end == dl + sizeof dl && v[2].s.n == 6 && memcmp(v[2].s.p, "Foobar", 6) == 0 &&
		v[3].s.n == 6 && memcmp(v[3].s.p, "ABCDEF", 6) == 0, "DELTA_LENGTH_BYTE_ARRAY example");
	ok(!decode_delta_length(dl, dl + sizeof dl - 1, v, 4, &err), "DELTA_LENGTH_BYTE_ARRAY short data fails");

	/* Spec DELTA_BYTE_ARRAY: axis axle babble babyhood. */
	static const uint8_t db[] = {
		0x80, 0x01, 0x04, 0x04, 0x00, 0x03, 0x03, 0x00, 0x00, 0x00,
		0x44, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x80, 0x01, 0x04, 0x04, 0x08, 0x03, 0x03, 0x00, 0x00, 0x00,
		0x70, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		'a', 'x', 'i', 's', 'l', 'e', 'b', 'a', 'b', 'b', 'l', 'e', 'y', 'h', 'o', 'o', 'd'};
	pq_arena arena = {0};
	end = decode_delta_byte_array(db, db + sizeof db, &arena, v, 4, &err);
	static const char *want[] = {"axis", "axle", "babble", "babyhood"};
	good = end == db + sizeof db;
	for (int i = 0; good && i < 4; i++)
		good = v[i].s.n == strlen(want[i]) && memcmp(v[i].s.p, want[i], v[i].s.n) == 0;
	ok(good, "DELTA_BYTE_ARRAY example (axis axle babble babyhood)");
	arena_free(&arena);
}

static void test_plain_dict(void)
{
	const char *err = NULL;
	pq_val v[8], dict[2];
	static const uint8_t ba[] = {3, 0, 0, 0, 'a', 'b', 'c', 0, 0, 0, 0, 1, 0, 0, 0, 'z'};
	const uint8_t *end = decode_plain(ba, ba + sizeof ba, PQ_BYTE_ARRAY, 0, v, 3, &err);
	ok(end == ba + sizeof ba && v[0].s.n == 3 && v[1].s.n == 0 && v[2].s.p[0] == 'z', "PLAIN BYTE_ARRAY");
	ok(!decode_plain(ba, ba + 6, PQ_BYTE_ARRAY, 0, v, 1, &err), "PLAIN BYTE_ARRAY past the end fails");
	static const uint8_t bits[] = {0x05};
	decode_plain(bits, bits + 1, PQ_BOOLEAN, 0, v, 3, &err);
	ok(v[0].i == 1 && v[1].i == 0 && v[2].i == 1, "PLAIN BOOLEAN is LSB first");
	/* INT96 2009-04-01 00:01:00 = Julian day 2454923, 60e9 ns. */
	uint8_t i96[12];
	int64_t ns = 60000000000LL;
	int32_t jd = 2454923;
	memcpy(i96, &ns, 8);
	memcpy(i96 + 8, &jd, 4);
	decode_plain(i96, i96 + 12, PQ_INT96, 0, v, 1, &err);
	is_int(v[0].i, 1238544060000000000LL, "INT96 to nanoseconds since 1970");
	dict[0].i = 10;
	dict[1].i = 20;
	static const uint8_t idx[] = {1, 0x03, 0x06};   /* width 1, bit-packed 0 1 1 0 ... */
	end = decode_dict(idx, idx + sizeof idx, dict, 2, v, 4, &err);
	ok(end && v[0].i == 10 && v[1].i == 20 && v[2].i == 20 && v[3].i == 10, "dictionary indices");
	static const uint8_t idx2[] = {2, 0x03, 0x03, 0x00};
	ok(!decode_dict(idx2, idx2 + sizeof idx2, dict, 2, v, 1, &err), "dictionary index out of range fails");
	ok(!decode_dict(idx, idx + sizeof idx, NULL, 0, v, 1, &err), "dictionary page missing fails");
}

static void test_thrift(void)
{
	/* PageHeader{type 0, uncompressed 100, compressed 50, data_page_header{
	 * num_values 10, encoding PLAIN, def RLE, rep RLE}} */
	static const uint8_t ph[] = {0x15, 0x00, 0x15, 0xC8, 0x01, 0x15, 0x64, 0x2C,
		0x15, 0x14, 0x15, 0x00, 0x15, 0x06, 0x15, 0x06, 0x00, 0x00};
	pq_page_header h;
	const char *err = NULL;
	size_t n = pq_page_header_parse(ph, sizeof ph, &h, &err);
	ok(n == sizeof ph && h.type == PAGE_DATA && h.uncompressed_size == 100 && h.compressed_size == 50 &&
		h.num_values == 10 && h.encoding == ENC_PLAIN && h.def_encoding == ENC_RLE,
		"hand-encoded page header parses");
	ok(pq_page_header_parse(ph, sizeof ph - 3, &h, &err) == 0, "truncated page header fails");
	static const uint8_t neg[] = {0x15, 0x00, 0x15, 0x01, 0x15, 0x02, 0x00};
	ok(pq_page_header_parse(neg, sizeof neg, &h, &err) == 0, "negative page size fails");
	uint8_t deep[3000];
	for (size_t i = 0; i < sizeof deep; i++)
		deep[i] = 0x1C;   /* struct field, nested again and again */
	ok(pq_page_header_parse(deep, sizeof deep, &h, &err) == 0, "deeply nested thrift fails cleanly");
	static const uint8_t biglist[] = {0x19, 0xF5, 0xFF, 0xFF, 0xFF, 0x0F, 0x00};
	pq_meta m;
	char e2[200];
	ok(pq_meta_parse(biglist, sizeof biglist, &m, e2, sizeof e2) < 0, "list longer than its data fails");
	ok(pq_meta_parse(ph, sizeof ph, &m, e2, sizeof e2) < 0, "footer without schema fails");
}

static void test_numbers(void)
{
	char s[64];
	fmt_double(s, 0.1); is_str(s, "0.1", "0.1");
	fmt_double(s, 2.0); is_str(s, "2.0", "integral doubles keep .0");
	fmt_double(s, 1e16); is_str(s, "1e+16", "1e16");
	fmt_double(s, -0.0); is_str(s, "-0.0", "negative zero");
	fmt_double(s, (double)1.1f); is_str(s, "1.100000023841858", "float 1.1 widened");
	fmt_double(s, 5e-324); is_str(s, "5e-324", "smallest subnormal, shortest form");
	uint64_t x = 88172645463325252ULL;
	int bad = 0;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		double d;
		memcpy(&d, &x, 8);
		if (!isfinite(d))
			continue;
		fmt_double(s, d);
		bad += strtod(s, NULL) != d;
	}
	is_int(bad, 0, "100000 random doubles round-trip");
}

int main(void)
{
	cli_init("test_fetch_decode");
	test_rle();
	test_delta();
	test_plain_dict();
	test_thrift();
	test_numbers();
	return done_testing();
}
