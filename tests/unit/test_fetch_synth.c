/* test_fetch_synth.c - parquet files written here, byte by byte, to reach
 * what no fixture holds: GZIP pages, DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT
 * values, v1 and v2 pages and an optional column in one row group, and
 * several broken variants, strings of ill-formed UTF-8, and the logical
 * types (dates, decimals, times, unsigned integers, timestamps). The
 * expected rows are the values put in, dates and times as the C library
 * writes them. */
#include "tap.h"
#include "cli.h"
#include "buf.h"
#include "../../fetch/pq_read.h"
#include "../../fetch/pq_json.h"
#include "../tools/thrift_writer.h"

#include <setjmp.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- pages ---- */
static size_t gz(const void *src, size_t n, uint8_t *dst, size_t cap)
{
	z_stream z = {0};
	deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)n;
	z.next_out = dst;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	size_t out = z.total_out;
	deflateEnd(&z);
	return out;
}

/* A column: its schema element and its one chunk. converted: a
 * ConvertedType, or -1 for none; logical: 0, or a LogicalType TIME (7) or
 * TIMESTAMP (8) in unit 1 MILLIS, 2 MICROS, 3 NANOS. */
typedef struct {
	const char *name;
	int type, repetition, encoding, converted, scale, precision, logical, unit;
	int64_t offset, size;
	int codec;
	int type_length; /* FIXED_LEN_BYTE_ARRAY's */
} chunk_info;

/* Set: every struct of the file's metadata and page headers also holds
 * fields of ids a newer writer might use (100 on), one of each Thrift type,
 * collections and nested structs among them: a reader must step over them. */
static int with_unknown;

static void unknown_fields(tw *w)
{
	if (!with_unknown)
		return;
	tw_field(w, 100, 1); /* true */
	tw_field(w, 101, 2); /* false */
	tw_field(w, 102, 3);
	buf_putc(&w->b, 0x7f);
	tw_int(w, 103, 4, -300);
	tw_int(w, 104, 5, 123456);
	tw_int(w, 105, 6, -((int64_t)1 << 40));
	tw_field(w, 106, 7);
	double d = 2.5;
	buf_append(&w->b, &d, 8);
	tw_bin(w, 107, "from a newer writer");
	tw_list(w, 108, 1, 3); /* list<bool>: a byte each */
	buf_append(&w->b, "\1\0\1", 3);
	tw_field(w, 109, 10);  /* set<binary> */
	buf_putc(&w->b, (char)(2 << 4 | 8));
	buf_append(&w->b, "\1a\2bc", 5);
	tw_field(w, 110, 11);  /* map<i32, binary>, 2 entries */
	tw_varint(w, 2);
	buf_putc(&w->b, (char)(5 << 4 | 8));
	tw_varint(w, 14); /* zigzag 7 */
	buf_append(&w->b, "\1x", 2);
	tw_varint(w, 1);  /* zigzag -1 */
	buf_append(&w->b, "\0", 1);
	tw_field(w, 111, 11);  /* an empty map */
	tw_varint(w, 0);
	tw_begin(w, 112);      /* a struct holding a list of structs */
	I32(w, 1, 7);
	tw_list(w, 2, 12, 2);
	tw_begin(w, 0);
	tw_bin(w, 1, "x");
	tw_end(w);
	tw_begin(w, 0);
	tw_end(w);
	tw_end(w);
}

/* A data page header, v1 (5) or v2 (8), then the body. */
static void page(buf_t *file, int v2, int nvalues, int encoding, int uncompressed, const uint8_t *body,
	int body_len, int def_len)
{
	tw h = {0};
	I32(&h, 1, v2 ? 3 : 0);
	I32(&h, 2, uncompressed);
	I32(&h, 3, body_len);
	if (!v2) {
		tw_begin(&h, 5);
		I32(&h, 1, nvalues);
		I32(&h, 2, encoding);
		I32(&h, 3, 3);
		I32(&h, 4, 3);
		unknown_fields(&h);
		tw_end(&h);
	} else {
		tw_begin(&h, 8);
		I32(&h, 1, nvalues);
		I32(&h, 2, 0);
		I32(&h, 3, nvalues);
		I32(&h, 4, encoding);
		I32(&h, 5, def_len);
		I32(&h, 6, 0);
		unknown_fields(&h);
		tw_end(&h);
	}
	unknown_fields(&h);
	buf_putc(&h.b, 0);
	buf_append(file, h.b.data, h.b.len);
	buf_append(file, body, (size_t)body_len);
	buf_free(&h.b);
}

/* The footer of a file of one row group of rows rows (claimed: what its
 * metadata says), the columns' chunks already written; then the end. */
static void footer(buf_t *f, const chunk_info *ch, int ncols, int64_t rows, int64_t claimed)
{
	tw m = {0};
	I32(&m, 1, 1);
	tw_list(&m, 2, 12, ncols + 1);
	tw_begin(&m, 0);
	tw_bin(&m, 4, "schema");
	I32(&m, 5, ncols);
	tw_end(&m);
	for (int c = 0; c < ncols; c++) {
		tw_begin(&m, 0);
		I32(&m, 1, ch[c].type);
		if (ch[c].type_length)
			I32(&m, 2, ch[c].type_length);
		I32(&m, 3, ch[c].repetition);
		tw_bin(&m, 4, ch[c].name);
		if (ch[c].converted >= 0)
			I32(&m, 6, ch[c].converted);
		if (ch[c].converted == 5) { /* DECIMAL */
			I32(&m, 7, ch[c].scale);
			I32(&m, 8, ch[c].precision);
		}
		if (ch[c].logical) { /* logicalType {TIME|TIMESTAMP {1: UTC, 2: TimeUnit {unit {}}}} */
			tw_begin(&m, 10);
			tw_begin(&m, (int16_t)ch[c].logical);
			tw_field(&m, 1, 1); /* isAdjustedToUTC: true */
			tw_begin(&m, 2);
			tw_begin(&m, (int16_t)ch[c].unit);
			tw_end(&m);
			tw_end(&m);
			tw_end(&m);
			tw_end(&m);
		}
		unknown_fields(&m);
		tw_end(&m);
	}
	I64(&m, 3, rows);
	tw_list(&m, 4, 12, 1);
	tw_begin(&m, 0);
	tw_list(&m, 1, 12, ncols);
	for (int c = 0; c < ncols; c++) {
		tw_begin(&m, 0);
		I64(&m, 2, ch[c].offset);
		tw_begin(&m, 3);
		I32(&m, 1, ch[c].type);
		tw_list(&m, 2, 5, 1);
		tw_varint(&m, (uint64_t)ch[c].encoding << 1);
		tw_list(&m, 3, 8, 1);
		tw_varint(&m, strlen(ch[c].name));
		buf_puts(&m.b, ch[c].name);
		I32(&m, 4, ch[c].codec);
		I64(&m, 5, rows);
		I64(&m, 6, ch[c].size);
		I64(&m, 7, ch[c].size);
		I64(&m, 9, ch[c].offset);
		unknown_fields(&m);
		tw_end(&m); /* ColumnMetaData */
		unknown_fields(&m);
		tw_end(&m); /* ColumnChunk */
	}
	I64(&m, 2, 100);
	I64(&m, 3, claimed);
	unknown_fields(&m);
	tw_end(&m); /* RowGroup */
	unknown_fields(&m);
	buf_putc(&m.b, 0);
	buf_append(f, m.b.data, m.b.len);
	uint32_t flen = (uint32_t)m.b.len;
	buf_append(f, &flen, 4);
	buf_puts(f, "PAR1");
	buf_free(&m.b);
}

/* Builds the test file; `breakage` selects a defect (6: ill-formed UTF-8
 * in the strings). */
static void build(buf_t *f, int breakage)
{
	memset(f, 0, sizeof *f);
	buf_puts(f, "PAR1");
	chunk_info ch[3] = {0};

	/* a: optional INT32, v1 page, GZIP: 1 null 3 null. */
	uint8_t raw[64], z[256];
	size_t n = 0;
	uint32_t levlen = 2;
	memcpy(raw, &levlen, 4);
	raw[4] = 0x03;   /* bit-packed, one group of 8 */
	raw[5] = 0x05;   /* levels 1 0 1 0 */
	n = 6;
	int32_t vals[2] = {1, 3};
	memcpy(raw + n, vals, 8);
	n += 8;
	size_t zn = gz(raw, n, z, sizeof z);
	if (breakage == 1)
		z[zn / 2] ^= 0xff;   /* corrupt deflate data */
	ch[0].offset = (int64_t)f->len;
	page(f, 0, 4, 0, (int)n, z, (int)zn, 0);
	ch[0].size = (int64_t)f->len - ch[0].offset;
	ch[0].codec = 2;

	/* s: required BYTE_ARRAY, v2 page, DELTA_BYTE_ARRAY, GZIP. */
	static const uint8_t dba[] = {
		0x80, 0x01, 0x04, 0x04, 0x00, 0x03, 0x03, 0x00, 0x00, 0x00,
		0x44, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x80, 0x01, 0x04, 0x04, 0x08, 0x03, 0x03, 0x00, 0x00, 0x00,
		0x70, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		'a', 'x', 'i', 's', 'l', 'e', 'b', 'a', 'b', 'b', 'l', 'e', 'y', 'h', 'o', 'o', 'd'};
	uint8_t sv[sizeof dba];
	memcpy(sv, dba, sizeof dba);
	if (breakage == 6) /* "babble" -> F1 80 80 E1 80 C2, the start of Table 3-8 */
		memcpy(sv + sizeof dba - 11, "\xF1\x80\x80\xE1\x80\xC2", 6);
	zn = gz(sv, sizeof sv, z, sizeof z);
	ch[1].offset = (int64_t)f->len;
	page(f, 1, 4, 7, breakage == 2 ? (int)sizeof dba + 1 : (int)sizeof dba, z, (int)zn, 0);
	ch[1].size = (int64_t)f->len - ch[1].offset;
	ch[1].codec = 2;

	/* d: required DOUBLE, v2 page, BYTE_STREAM_SPLIT, uncompressed. */
	double dv[4] = {1.5, -2.25, 1e300, 0.1};
	uint8_t bss[32];
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 8; k++)
			bss[k * 4 + i] = ((uint8_t *)&dv[i])[k];
	ch[2].offset = (int64_t)f->len;
	page(f, 1, breakage == 3 ? 5 : breakage == 5 ? 0 : 4, 9, 32, bss, 32, 0);
	ch[2].size = (int64_t)f->len - ch[2].offset;
	ch[2].codec = 0;

	ch[0].name = "a", ch[0].type = 1, ch[0].repetition = 1, ch[0].encoding = 0;
	ch[1].name = "s", ch[1].type = 6, ch[1].repetition = 0, ch[1].encoding = 7;
	ch[2].name = "d", ch[2].type = 5, ch[2].repetition = 0, ch[2].encoding = 9;
	ch[0].converted = ch[2].converted = -1;
	ch[1].converted = 0; /* UTF8 */
	footer(f, ch, 3, 4, breakage == 4 ? (int64_t)1 << 40 : 4); /* 2^40: a lie about the rows */
}

static jmp_buf env;
static char errmsg[512];
static void hook(const char *msg)
{
	snprintf(errmsg, sizeof errmsg, "%s", msg);
	longjmp(env, 1);
}

static pq_source *src;
static pq_file pf;
static pq_colbuf cols[16]; /* the most columns a file here has */

/* Writes the file build makes, reads it back as JSON Lines; NULL on a
 * reader error. */
static char *roundtrip_of(void (*build_file)(buf_t *, int), int breakage)
{
	buf_t f;
	build_file(&f, breakage);
	char path[] = "/tmp/test_fetch_synth.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, f.data, f.len) != (ssize_t)f.len)
		return NULL;
	close(fd);
	buf_free(&f);
	buf_t out = {0};
	errmsg[0] = 0;
	src = pq_source_file(path);
	unlink(path);
	memset(cols, 0, sizeof cols);
	pq_error_hook = hook;
	if (setjmp(env)) {
		for (int c = 0; c < (int)(sizeof cols / sizeof cols[0]); c++)
			pq_colbuf_free(&cols[c]);
		pq_close(&pf);
		pq_source_close(src);
		buf_free(&out);
		pq_error_hook = NULL;
		return NULL;
	}
	pq_open(&pf, src);
	pq_select(&pf, NULL);
	pq_read_rowgroup(&pf, 0, -1, cols);
	pq_json_rows(&out, &pf, cols, 0, pf.meta.rgs[0].num_rows);
	for (int c = 0; c < (int)(sizeof cols / sizeof cols[0]); c++)
		pq_colbuf_free(&cols[c]);
	pq_close(&pf);
	pq_source_close(src);
	pq_error_hook = NULL;
	buf_cstr(&out);
	return out.data;
}

static char *roundtrip(int breakage)
{
	return roundtrip_of(build, breakage);
}

/* ---- logical types: what each converted type means (the parquet spec),
 * the expected text computed here by other means than the reader's ---- */

enum { LROWS = 5, LCOLS = 10 };
static const int32_t L_DATE[LROWS] = { 0, 19782, -1, -719162, 2932896 }; /* days since 1970-01-01 */
static const int32_t L_DEC[LROWS] = { 12345, -5, 0, -999999999, 999999999 }; /* DECIMAL(9, 2) */
/* TIME_MILLIS; the last (as TIME MICROS's one day and TIME NANOS's -1)
 * outside the day, as a careless writer may store it */
static const int32_t L_TIME[LROWS] = { 45296789, 0, 86399999, 1, -1 };
static const int32_t L_U32[LROWS] = { -1, 0, 7, INT32_MIN, 1 };      /* UINT_32 */
static const int64_t L_TS[LROWS] = { 1709210096789000, -1, 0, 1000000, 253402300799999999 }; /* TIMESTAMP_MICROS */
/* as LogicalTypes only (no ConvertedType has these units) */
static const int64_t L_TSN[LROWS] = { 1709210096789012345, -1, 0, 1, INT64_MAX };        /* TIMESTAMP NANOS */
static const int64_t L_TSM[LROWS] = { 1709210096789, -1, -62135596800000, 1, 253402300799999 }; /* TIMESTAMP MILLIS */
static const int64_t L_TMU[LROWS] = { 45296789012, 0, 86399999999, 1, 86400000000 };       /* TIME MICROS */
static const int64_t L_TMN[LROWS] = { 45296789012345, 0, 86399999999999, 1, -1 }; /* TIME NANOS */
static const uint8_t L_FLBA[LROWS][5] = {                        /* DECIMAL(12, 3), 5 bytes */
	{ 0x00, 0x00, 0x00, 0x30, 0x39 }, { 0xff, 0xff, 0xff, 0xff, 0xff },
	{ 0x7f, 0xff, 0xff, 0xff, 0xff }, { 0x80, 0x00, 0x00, 0x00, 0x00 }, { 0, 0, 0, 0, 1 } };

/* unknown: with fields of ids no reader knows yet (with_unknown) */
static void build_logical(buf_t *f, int unknown)
{
	with_unknown = unknown;
	memset(f, 0, sizeof *f);
	buf_puts(f, "PAR1");
	chunk_info ch[LCOLS] = {
		{ .name = "date", .type = 1, .converted = 6 },
		{ .name = "dec", .type = 1, .converted = 5, .scale = 2, .precision = 9 },
		{ .name = "time", .type = 1, .converted = 7 },
		{ .name = "u32", .type = 1, .converted = 13 },
		{ .name = "ts", .type = 2, .converted = 10 },
		{ .name = "flba", .type = 7, .converted = 5, .scale = 3, .precision = 12, .type_length = 5 },
		{ .name = "tsn", .type = 2, .converted = -1, .logical = 8, .unit = 3 },
		{ .name = "tsm", .type = 2, .converted = -1, .logical = 8, .unit = 1 },
		{ .name = "tmu", .type = 2, .converted = -1, .logical = 7, .unit = 2 },
		{ .name = "tmn", .type = 2, .converted = -1, .logical = 7, .unit = 3 },
	};
	const void *vals[LCOLS] = { L_DATE, L_DEC, L_TIME, L_U32, L_TS, L_FLBA, L_TSN, L_TSM, L_TMU, L_TMN };
	const int size[LCOLS] = { 4, 4, 4, 4, 8, 5, 8, 8, 8, 8 };
	for (int c = 0; c < LCOLS; c++) {
		ch[c].offset = (int64_t)f->len;
		page(f, 0, LROWS, 0, size[c] * LROWS, vals[c], size[c] * LROWS, 0);
		ch[c].size = (int64_t)f->len - ch[c].offset;
	}
	footer(f, ch, LCOLS, LROWS, LROWS);
	with_unknown = 0;
}

/* "YYYY-MM-DD" (and " HH:MM:SS" with the time) of seconds since the
 * epoch, by the C library. */
static void gm(char *out, size_t cap, int64_t secs, int with_time)
{
	time_t t = (time_t)secs;
	struct tm tm;
	gmtime_r(&t, &tm);
	int n = snprintf(out, cap, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	if (with_time)
		snprintf(out + n, cap - (size_t)n, " %02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* An unscaled integer with scale digits after the point. */
static void decimal(char *out, size_t cap, long long v, int scale)
{
	long long p = 1;
	for (int i = 0; i < scale; i++)
		p *= 10;
	unsigned long long a = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	snprintf(out, cap, "%s%llu.%0*llu", v < 0 ? "-" : "", a / (unsigned long long)p, scale,
		 a % (unsigned long long)p);
}

/* A time of day in ticks of 1/unit s, fraction without trailing zeros;
 * a negative one with a minus sign before its magnitude. */
static void clock_text(char *out, size_t cap, long long ticks, long long unit, int digits)
{
	int n = 0;
	if (ticks < 0) {
		n = snprintf(out, cap, "-");
		ticks = -ticks;
	}
	long long s = ticks / unit, f = ticks % unit;
	n += snprintf(out + n, cap - (size_t)n, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
	if (f) {
		char fr[16];
		snprintf(fr, sizeof fr, "%0*lld", digits, f);
		int k = digits;
		while (fr[k - 1] == '0')
			k--;
		snprintf(out + n, cap - (size_t)n, ".%.*s", k, fr);
	}
}

/* "YYYY-MM-DD HH:MM:SS[.fff]" of ticks of 1/unit s since the epoch */
static void timestamp_text(char *out, size_t cap, long long ticks, long long unit, int digits)
{
	long long secs = ticks / unit, frac = ticks % unit;
	if (frac < 0)
		frac += unit, secs--;
	char f[40];
	gm(out, cap, secs, 1);
	clock_text(f, sizeof f, frac, unit, digits); /* "00:00:00.fff" */
	snprintf(out + strlen(out), cap - strlen(out), "%s", f + 8);
}

static char *logical_want(void)
{
	buf_t w = {0};
	for (int r = 0; r < LROWS; r++) {
		char date[32], dec[32], tm[32], ts[48], fl[32], tsn[48], tsm[48], tmu[32], tmn[32];
		gm(date, sizeof date, (int64_t)L_DATE[r] * 86400, 0);
		decimal(dec, sizeof dec, L_DEC[r], 2);
		clock_text(tm, sizeof tm, L_TIME[r], 1000, 3);
		timestamp_text(ts, sizeof ts, L_TS[r], 1000000, 6);
		timestamp_text(tsn, sizeof tsn, L_TSN[r], 1000000000, 9);
		timestamp_text(tsm, sizeof tsm, L_TSM[r], 1000, 3);
		clock_text(tmu, sizeof tmu, L_TMU[r], 1000000, 6);
		clock_text(tmn, sizeof tmn, L_TMN[r], 1000000000, 9);
		long long be = 0;
		for (int i = 0; i < 5; i++)
			be = be * 256 + L_FLBA[r][i];
		if (L_FLBA[r][0] & 0x80)
			be -= 1ll << 40;
		decimal(fl, sizeof fl, be, 3);
		buf_printf(&w, "{\"date\":\"%s\",\"dec\":%s,\"time\":\"%s\",\"u32\":%u,"
			   "\"ts\":\"%s\",\"flba\":%s,\"tsn\":\"%s\",\"tsm\":\"%s\",\"tmu\":\"%s\","
			   "\"tmn\":\"%s\"}\n",
			   date, dec, tm, (unsigned)L_U32[r], ts, fl, tsn, tsm, tmu, tmn);
	}
	buf_cstr(&w);
	return w.data;
}

int main(void)
{
	cli_init("test_fetch_synth");
	char *s = roundtrip(0);
	is_str(s, "{\"a\":1,\"s\":\"axis\",\"d\":1.5}\n"
		"{\"a\":null,\"s\":\"axle\",\"d\":-2.25}\n"
		"{\"a\":3,\"s\":\"babble\",\"d\":1e+300}\n"
		"{\"a\":null,\"s\":\"babyhood\",\"d\":0.1}\n",
		"GZIP v1 optional INT32, GZIP v2 DELTA_BYTE_ARRAY, v2 BYTE_STREAM_SPLIT DOUBLE");
	free(s);
	s = roundtrip(1);
	ok(!s && strstr(errmsg, "GZIP page"), "corrupt GZIP data is an error (%s)", errmsg);
	free(s);
	s = roundtrip(2);
	ok(!s && strstr(errmsg, "GZIP"), "GZIP size differing from the page header is an error (%s)", errmsg);
	free(s);
	s = roundtrip(3);
	ok(!s && strstr(errmsg, "more values"), "page with more values than rows is an error (%s)", errmsg);
	free(s);
	s = roundtrip(4);
	ok(!s && strstr(errmsg, "ends after 4 of"), "a row group claiming 2^40 rows fails without allocating for them (%s)", errmsg);
	free(s);
	/* Invalid UTF-8 in a string: one U+FFFD per maximal subpart (Unicode
	 * 3.9, Table 3-8), as bonsai-filter repairs it; row 4 shares the first
	 * 3 bytes of row 3 (DELTA_BYTE_ARRAY) and adds "yhood". */
	s = roundtrip(6);
	is_str(s, "{\"a\":1,\"s\":\"axis\",\"d\":1.5}\n"
		"{\"a\":null,\"s\":\"axle\",\"d\":-2.25}\n"
		"{\"a\":3,\"s\":\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\",\"d\":1e+300}\n"
		"{\"a\":null,\"s\":\"\xEF\xBF\xBDyhood\",\"d\":0.1}\n",
		"ill-formed string bytes: one U+FFFD per maximal subpart");
	free(s);
	s = roundtrip(5);
	ok(!s && strstr(errmsg, "ends after 0 of 4"), "an empty first page is read, then the short chunk reported (%s)", errmsg);
	free(s);
	/* DATE, DECIMAL in INT32 and in 5 fixed bytes, TIME_MILLIS, UINT_32,
	 * TIMESTAMP_MICROS as ConvertedTypes; TIMESTAMP in nanoseconds and
	 * milliseconds, TIME in micro- and nanoseconds as LogicalTypes: before
	 * 1970, at the extremes, with and without a fraction */
	s = roundtrip_of(build_logical, 0);
	char *want = logical_want();
	is_str(s, want, "logical types: the dates, decimals, times and unsigned values they stand for");
	free(s);
	buf_t plain, extra;
	build_logical(&plain, 0);
	build_logical(&extra, 1);
	/* 10 page headers of 2 structs, 10 schema elements, 10 column chunks
	 * of 2, a row group, the file: 52 structs of about 80 bytes more each */
	ok(extra.len > plain.len + 52 * 70, "the unknown fields are there: %zu bytes, %zu without",
	   extra.len, plain.len);
	buf_free(&plain);
	buf_free(&extra);
	s = roundtrip_of(build_logical, 1);
	is_str(s, want, "the same file with fields of unknown ids of every Thrift type in every struct "
		   "of its metadata and page headers: the same rows");
	free(want);
	free(s);
	return done_testing();
}
