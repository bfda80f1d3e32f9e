/* test_fetch_zip.c - fetch/zipread.c on archives built here byte by byte
 * (APPNOTE.TXT layout, zlib raw deflate): members read back equal to what
 * went in, and every kind of damage is refused with a message rather than
 * read out of bounds (the archive comes from the network). */
#include "tap.h"
#include "../../fetch/zipread.h"
#include "cli.h"
#include "le.h"

#include <stdint.h>
#include <zlib.h>

/* ---- an archive writer, for the tests only ---- */

typedef struct {
	const char *name;
	const uint8_t *data;
	size_t len;
	int method;           /* 0 stored, 8 deflate */
} member;

static void put16(buf_t *b, unsigned v)
{
	uint8_t x[2];
	le_put16(x, (uint16_t)v);
	buf_append(b, x, 2);
}

static void put32(buf_t *b, uint32_t v)
{
	uint8_t x[4];
	le_put32(x, v);
	buf_append(b, x, 4);
}

static void deflate_raw(const uint8_t *p, size_t n, buf_t *out)
{
	z_stream zs = {0};
	if (deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	uLong bound = deflateBound(&zs, (uLong)n);
	buf_reserve(out, bound);
	zs.next_in = (Bytef *)p;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)out->data + out->len;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		abort();
	out->len += zs.total_out;
	deflateEnd(&zs);
}

/* Where each member's central directory fields are, to damage them. */
typedef struct {
	size_t cd_entry[8], local[8], eocd;
} layout;

static void build(buf_t *zip, const member *m, int n, const char *comment, layout *lay)
{
	zip->len = 0;
	uint32_t crc[8];
	size_t csize[8];
	for (int i = 0; i < n; i++) {
		buf_t c = {0};
		if (m[i].method == 8)
			deflate_raw(m[i].data, m[i].len, &c);
		else
			buf_append(&c, m[i].data, m[i].len);
		crc[i] = (uint32_t)crc32(0, m[i].data, (uInt)m[i].len);
		csize[i] = c.len;
		lay->local[i] = zip->len;
		put32(zip, 0x04034b50);
		put16(zip, 20); put16(zip, 0); put16(zip, (unsigned)m[i].method);
		put16(zip, 0); put16(zip, 0x4c41);
		put32(zip, crc[i]); put32(zip, (uint32_t)c.len); put32(zip, (uint32_t)m[i].len);
		put16(zip, (unsigned)strlen(m[i].name)); put16(zip, 4);
		buf_puts(zip, m[i].name);
		put32(zip, 0xcafe0000);   /* an extra field the central header lacks */
		buf_append(zip, c.data, c.len);
		buf_free(&c);
	}
	size_t cd = zip->len;
	for (int i = 0; i < n; i++) {
		lay->cd_entry[i] = zip->len;
		put32(zip, 0x02014b50);
		put16(zip, 0x31e); put16(zip, 20); put16(zip, 0); put16(zip, (unsigned)m[i].method);
		put16(zip, 0); put16(zip, 0x4c41);
		put32(zip, crc[i]); put32(zip, (uint32_t)csize[i]); put32(zip, (uint32_t)m[i].len);
		put16(zip, (unsigned)strlen(m[i].name)); put16(zip, 0); put16(zip, 0);
		put16(zip, 0); put16(zip, 0); put32(zip, 0);
		put32(zip, (uint32_t)lay->local[i]);
		buf_puts(zip, m[i].name);
	}
	lay->eocd = zip->len;
	put32(zip, 0x06054b50);
	put16(zip, 0); put16(zip, 0); put16(zip, (unsigned)n); put16(zip, (unsigned)n);
	put32(zip, (uint32_t)(lay->eocd - cd)); put32(zip, (uint32_t)cd);
	put16(zip, (unsigned)strlen(comment));
	buf_puts(zip, comment);
}

static void set16(buf_t *b, size_t at, unsigned v) { le_put16((unsigned char *)b->data + at, (uint16_t)v); }
static void set32(buf_t *b, size_t at, uint32_t v) { le_put32((unsigned char *)b->data + at, v); }

/* ---- a byte source over memory that reports reads out of range ---- */

static int out_of_range;

static const uint8_t *mem_get(pq_source *s, uint64_t off, size_t len, buf_t *scratch)
{
	scratch->len = 0;
	buf_reserve(scratch, len + 1);
	if (off > s->size || len > s->size - off) {
		out_of_range++;
		memset(scratch->data, 0, len + 1);
	} else {
		memcpy(scratch->data, (const char *)s->ctx + off, len);
	}
	scratch->len = len;
	return (const uint8_t *)scratch->data;
}

static pq_source src_of(const buf_t *zip)
{
	pq_source s = {.name = "test.zip", .size = zip->len, .get = mem_get, .ctx = zip->data};
	return s;
}

/* Reads member name out of zip; returns 0 with its bytes in out, or -1 with
 * the message in err. */
static int read_member(const buf_t *zip, const char *name, uint64_t max, buf_t *out,
	char *err, size_t errlen)
{
	pq_source s = src_of(zip);
	zip_dir d;
	out->len = 0;
	if (zip_read_dir(&s, &d, err, errlen) < 0)
		return -1;
	const zip_entry *e = zip_find(&d, name);
	int rc = e ? zip_extract(&s, &d, e, max, out, NULL, NULL, err, errlen) :
		errf(err, errlen, "no member %s", name);
	zip_dir_free(&d);
	return rc;
}

#define MAXSZ ((uint64_t)16 << 20)

/* Expects read_member to fail with a message containing want. */
static void refused(const buf_t *zip, const char *name, uint64_t max, const char *want, const char *what)
{
	buf_t out = {0};
	char err[300] = "";
	int rc = read_member(zip, name, max, &out, err, sizeof err);
	if (!ok(rc < 0 && strstr(err, want), "%s: refused", what))
		printf("#   rc %d, message '%s', want '%s'\n", rc, err, want);
	buf_free(&out);
}

int main(void)
{
	cli_init("test_fetch_zip");
	/* A megabyte of text: more than one read chunk when compressed. */
	buf_t text = {0};
	for (int i = 0; text.len < (1 << 20); i++)
		buf_printf(&text, "{\"id\": %d, \"question\": \"q%d\", \"answerKey\": \"%c\"}\n", i, i * 7919 % 1000, 'A' + i % 4);
	uint8_t rnd[300000];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof rnd; i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(x >> 23);
	}
	member m[] = {
		{"dir/corpus.bin", rnd, sizeof rnd, 0},
		{"dir/test.jsonl", (const uint8_t *)text.data, text.len, 8},
		{"dir/empty-stored", (const uint8_t *)"", 0, 0},
		{"dir/empty-deflated", (const uint8_t *)"", 0, 8},
	};
	buf_t zip = {0}, out = {0};
	layout lay;
	char err[300];

	/* Round trips, with a comment holding a false end-record signature. */
	build(&zip, m, 4, "PK\x05\x06 not the end record", &lay);
	for (int i = 0; i < 4; i++) {
		int rc = read_member(&zip, m[i].name, MAXSZ, &out, err, sizeof err);
		ok(rc == 0 && out.len == m[i].len && memcmp(out.data ? out.data : "", m[i].data, m[i].len) == 0,
			"%s (%s, %zu bytes) reads back equal", m[i].name, m[i].method ? "deflate" : "stored", m[i].len);
		if (rc)
			printf("#   %s\n", err);
	}
	{
		pq_source s = src_of(&zip);
		zip_dir d;
		ok(zip_read_dir(&s, &d, err, sizeof err) == 0 && d.n == 4 && !zip_find(&d, "dir/none") &&
			zip_find(&d, "dir/test.jsonl") == &d.e[1], "directory: 4 entries, found by exact name");
		zip_dir_free(&d);
	}
	build(&zip, m, 2, "", &lay);
	ok(read_member(&zip, "dir/test.jsonl", MAXSZ, &out, err, sizeof err) == 0 && out.len == text.len,
		"an archive without a comment reads");

	/* Damage, one kind at a time. */
	buf_t bad = {0};
#define FRESH() (build(&zip, m, 2, "", &lay), bad.len = 0, buf_append(&bad, zip.data, zip.len))
	FRESH();
	bad.len -= 1;
	refused(&bad, "dir/test.jsonl", MAXSZ, "no end of central directory", "archive cut by one byte");
	FRESH();
	set16(&bad, lay.eocd + 10, 0xffff);
	refused(&bad, "dir/test.jsonl", MAXSZ, "zip64", "zip64 entry count");
	FRESH();
	set16(&bad, lay.eocd + 4, 1);
	refused(&bad, "dir/test.jsonl", MAXSZ, "multi-disk", "a second disk");
	FRESH();
	set32(&bad, lay.eocd + 16, (uint32_t)lay.eocd);
	refused(&bad, "dir/test.jsonl", MAXSZ, "runs past its end record", "central directory offset past the end");
	FRESH();
	set16(&bad, lay.eocd + 8, 3);
	set16(&bad, lay.eocd + 10, 3);
	refused(&bad, "dir/test.jsonl", MAXSZ, "entry 3 is malformed", "more entries listed than there are");
	FRESH();
	set16(&bad, lay.cd_entry[1] + 28, 5000);
	refused(&bad, "dir/test.jsonl", MAXSZ, "runs past the directory", "a name longer than the directory");
	FRESH();
	set16(&bad, lay.cd_entry[1] + 10, 12);
	refused(&bad, "dir/test.jsonl", MAXSZ, "compression method 12", "bzip2 member");
	FRESH();
	set16(&bad, lay.cd_entry[1] + 8, 1);
	refused(&bad, "dir/test.jsonl", MAXSZ, "encrypted", "encrypted member");
	FRESH();
	set32(&bad, lay.cd_entry[1] + 42, (uint32_t)lay.eocd);
	refused(&bad, "dir/test.jsonl", MAXSZ, "outside the archive", "local header offset past the members");
	FRESH();
	set32(&bad, lay.cd_entry[1] + 42, (uint32_t)lay.local[0]);
	refused(&bad, "dir/test.jsonl", MAXSZ, "names another file", "local header of another member");
	FRESH();
	set32(&bad, lay.cd_entry[1] + 42, 7);
	refused(&bad, "dir/test.jsonl", MAXSZ, "no local file header", "local header offset into data");
	FRESH();
	set32(&bad, lay.cd_entry[1] + 20, 0x7fffffff);
	refused(&bad, "dir/test.jsonl", MAXSZ, "run into the central directory", "compressed size too large");
	FRESH();
	refused(&bad, "dir/test.jsonl", text.len - 1, "more than the", "member larger than the caller allows");
	FRESH();
	set32(&bad, lay.cd_entry[1] + 16, 0x12345678);
	refused(&bad, "dir/test.jsonl", MAXSZ, "CRC-32", "wrong CRC-32");
	FRESH();
	set32(&bad, lay.cd_entry[1] + 24, (uint32_t)text.len - 10);
	refused(&bad, "dir/test.jsonl", MAXSZ, "inflates to more than", "uncompressed size too small");
	FRESH();
	set32(&bad, lay.cd_entry[1] + 24, (uint32_t)text.len + 10);
	refused(&bad, "dir/test.jsonl", MAXSZ, "the central directory lists", "uncompressed size too large");
	FRESH();
	set32(&bad, lay.cd_entry[1] + 20, (uint32_t)(lay.cd_entry[0] - lay.local[1] - 30 - 14 - 4 - 50));
	refused(&bad, "dir/test.jsonl", MAXSZ, "cut short", "deflate data cut short");
	FRESH();
	set32(&bad, lay.cd_entry[0] + 24, (uint32_t)sizeof rnd - 1);
	refused(&bad, "dir/corpus.bin", MAXSZ, "stored member", "stored sizes that differ");
	FRESH();
	bad.data[lay.local[1] + 30 + 3] ^= 1;
	refused(&bad, "dir/test.jsonl", MAXSZ, "names another file", "local header with another name");
	ok(out_of_range == 0, "no read outside the archive so far");

	/* Every prefix and a few thousand byte flips of a small archive: an
	 * answer every time (ASan watches the rest). */
	member small[] = {{"a.txt", (const uint8_t *)text.data, 3000, 8}, {"b", rnd, 500, 0}};
	build(&zip, small, 2, "c", &lay);
	int errors = 0, reads = 0;
	for (size_t cut = 0; cut < zip.len; cut++) {
		bad.len = 0;
		buf_append(&bad, zip.data, cut);
		reads++;
		errors += read_member(&bad, "a.txt", MAXSZ, &out, err, sizeof err) < 0;
	}
	ok(errors == reads, "every one of the %d prefixes is refused", reads);
	x = 99;
	int same = 0, wrong = 0;
	for (int k = 0; k < 4000; k++) {
		bad.len = 0;
		buf_append(&bad, zip.data, zip.len);
		x = x * 1103515245u + 12345u;
		bad.data[(x >> 8) % zip.len] ^= (char)(1 + (x >> 3) % 255);
		for (int i = 0; i < 2; i++)
			if (read_member(&bad, small[i].name, MAXSZ, &out, err, sizeof err) == 0) {
				int eq = out.len == small[i].len && memcmp(out.data, small[i].data, out.len) == 0;
				same += eq;
				wrong += !eq;
			}
	}
	ok(wrong == 0, "4000 random byte flips: never wrong bytes without an error (%d reads unharmed)", same);
	ok(out_of_range == 0, "no read outside the archive (%d)", out_of_range);

	buf_free(&zip);
	buf_free(&bad);
	buf_free(&out);
	buf_free(&text);
	return done_testing();
}
