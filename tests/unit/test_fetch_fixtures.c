/* test_fetch_fixtures.c - the parquet reader on every fixture in
 * ../shared/fixtures, checked against facts that do not come from our own
 * code: row counts from the fixtures' README and parquet-testing's
 * documentation, relations between columns that the writer guaranteed
 * (token_count = len(text)/4, int_score = round(score), text_length =
 * len(text)), and agreement of the same documents stored with different
 * codecs, encodings and page versions. */
#include "tap.h"
#include "cli.h"
#include "json.h"
#include "../../fetch/pq_read.h"
#include "../../fetch/pq_json.h"

#include <math.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	json_doc **docs;
	size_t n;
	buf_t text;
} rows_t;

static jmp_buf on_error;
static char last_error[512];
static void error_hook(const char *msg)
{
	snprintf(last_error, sizeof last_error, "%s", msg);
	longjmp(on_error, 1);
}

/* Reads a file through the reader and the JSON writer, then parses every
 * line back with the project's strict JSON parser. */
static pq_source *src;   /* static: they must survive a longjmp */
static pq_file f;

static int read_rows(const char *path, const char *columns, rows_t *out)
{
	memset(out, 0, sizeof *out);
	src = pq_source_file(path);
	pq_error_hook = error_hook;
	if (setjmp(on_error)) {
		pq_error_hook = NULL;
		pq_close(&f);
		pq_source_close(src);
		return -1;
	}
	pq_open(&f, src);
	pq_select(&f, columns);
	pq_colbuf cols[64];
	for (int g = 0; g < f.meta.nrg; g++) {
		pq_read_rowgroup(&f, g, -1, cols);
		pq_json_rows(&out->text, &f, cols, 0, f.meta.rgs[g].num_rows);
		for (int c = 0; c < f.nsel; c++)
			pq_colbuf_free(&cols[c]);
	}
	pq_error_hook = NULL;
	pq_close(&f);
	pq_source_close(src);
	char *p = out->text.data, *end = p + out->text.len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return -2;
		char err[200];
		json_doc *d = json_parse(p, (size_t)(nl - p), err, sizeof err);
		if (!d) {
			printf("# bad JSON line: %s\n", err);
			return -3;
		}
		out->docs = xreallocarray(out->docs, out->n + 1, sizeof *out->docs);
		out->docs[out->n++] = d;
		p = nl + 1;
	}
	return 0;
}

static void rows_free(rows_t *r)
{
	for (size_t i = 0; i < r->n; i++)
		json_free(r->docs[i]);
	free(r->docs);
	buf_free(&r->text);
}

static json_value *row(rows_t *r, size_t i) { return json_root(r->docs[i]); }

static size_t codepoints(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xC0) != 0x80;
	return k;
}

static const char *fineweb_edu_keys[] = {"text", "id", "dump", "url", "file_path", "language",
	"language_score", "token_count", "score", "int_score"};

/* The FineWeb-Edu schema and the relations its fixture writer kept. */
static void check_fineweb_edu(const char *name, rows_t *r, size_t want_rows)
{
	is_int(r->n, want_rows, "%s: %zu rows", name, want_rows);
	size_t bad_keys = 0, bad_tokens = 0, bad_int = 0, bad_range = 0, bad_const = 0;
	for (size_t i = 0; i < r->n; i++) {
		json_value *d = row(r, i);
		if (d->type != JSON_OBJECT || d->len != 10) {
			bad_keys++;
			continue;
		}
		for (int k = 0; k < 10; k++)
			if (strcmp(d->keys[k], fineweb_edu_keys[k]) != 0)
				bad_keys++;
		json_value *text = json_get(d, "text");
		double tc = json_get_num(d, "token_count", -1);
		if (!text || text->type != JSON_STRING || tc != (double)(codepoints(text->str, text->len) / 4))
			bad_tokens++;
		double score = json_get_num(d, "score", -1), is = json_get_num(d, "int_score", -1);
		if (is != round(score))
			bad_int++;
		double ls = json_get_num(d, "language_score", -1);
		if (!(ls >= 0.6 && ls <= 1.0 && score >= 0 && score <= 5))
			bad_range++;
		const char *dump = json_get_str(d, "dump"), *lang = json_get_str(d, "language");
		const char *id = json_get_str(d, "id"), *url = json_get_str(d, "url");
		if (!dump || strcmp(dump, "CC-MAIN-2024-10") || !lang || strcmp(lang, "en") ||
		    !id || strncmp(id, "<urn:uuid:", 10) || !url || strncmp(url, "http", 4))
			bad_const++;
	}
	is_int(bad_keys, 0, "%s: every row has the 10 FineWeb-Edu columns in order", name);
	is_int(bad_tokens, 0, "%s: token_count = len(text)/4 on every row", name);
	is_int(bad_int, 0, "%s: int_score = round(score) on every row", name);
	is_int(bad_range, 0, "%s: language_score and score in range", name);
	is_int(bad_const, 0, "%s: dump, language, id and url look right", name);
}

/* Rows with the same id must carry the same text and url in every file. */
static size_t disagreements(rows_t *a, rows_t *b, size_t *shared)
{
	size_t bad = 0;
	*shared = 0;
	for (size_t i = 0; i < b->n; i++) {
		const char *id = json_get_str(row(b, i), "id");
		for (size_t j = 0; j < a->n; j++) {
			if (strcmp(json_get_str(row(a, j), "id"), id) != 0)
				continue;
			(*shared)++;
			json_value *ta = json_get(row(a, j), "text"), *tb = json_get(row(b, i), "text");
			if (ta->len != tb->len || memcmp(ta->str, tb->str, ta->len) ||
			    strcmp(json_get_str(row(a, j), "url"), json_get_str(row(b, i), "url")))
				bad++;
			break;
		}
	}
	return bad;
}

static char *fixture(const char *rel)
{
	static char path[4][1024];
	static int k;
	k = (k + 1) % 4;
	snprintf(path[k], sizeof path[k], "%s/fixtures/%s", shared_dir(), rel);
	return path[k];
}

static void test_fineweb(void)
{
	rows_t a, b, p, legal;
	ok(read_rows(fixture("fineweb-edu/sample/10BT/000_00000.parquet"), NULL, &a) == 0,
		"000_00000 (SNAPPY, dictionary, v1 pages) reads");
	check_fineweb_edu("000_00000", &a, 3250);
	ok(read_rows(fixture("fineweb-edu/sample/10BT/001_00000.parquet"), NULL, &b) == 0,
		"001_00000 (ZSTD, v2 pages) reads");
	check_fineweb_edu("001_00000", &b, 3250);
	ok(read_rows(fixture("fineweb-edu/plain_uncompressed.parquet"), NULL, &p) == 0,
		"plain_uncompressed (UNCOMPRESSED, PLAIN) reads");
	check_fineweb_edu("plain_uncompressed", &p, 300);

	size_t shared;
	is_int(disagreements(&a, &p, &shared), 0, "plain_uncompressed agrees with 000_00000 on shared ids");
	ok(shared == 300, "all 300 plain_uncompressed documents are in 000_00000 (%zu)", shared);
	for (size_t i = 0; i < 300 && i < p.n; i++)
		if (strcmp(json_get_str(row(&p, i), "id"), json_get_str(row(&a, i), "id")) != 0) {
			ok(0, "plain_uncompressed holds the first 300 ids of 000_00000 in order");
			goto next;
		}
	ok(1, "plain_uncompressed holds the first 300 ids of 000_00000 in order");
next:
	is_int(disagreements(&a, &b, &shared), 0, "001_00000 agrees with 000_00000 on shared ids");
	ok(shared > 1000, "000 and 001 share many documents (%zu rows)", shared);

	/* The real third-party file: its own columns, and text_length = len(text). */
	ok(read_rows(fixture("fineweb/fineweb_legal_batch_000001.parquet"), NULL, &legal) == 0,
		"fineweb_legal (parquet-cpp-arrow 22) reads");
	is_int(legal.n, 100, "fineweb_legal: 100 rows");
	size_t bad = 0;
	for (size_t i = 0; i < legal.n; i++) {
		json_value *d = row(&legal, i), *t = json_get(d, "text");
		double sc = json_get_num(d, "score", -100);
		if (!t || json_get_num(d, "text_length", -1) != (double)codepoints(t->str, t->len) ||
		    sc != floor(sc) || sc < -128 || sc > 127 || !json_get_str(d, "timestamp"))
			bad++;
	}
	is_int(bad, 0, "fineweb_legal: text_length = len(text), score an int8, timestamp present");
	size_t s1, s2;
	size_t d1 = disagreements(&a, &legal, &s1), d2 = disagreements(&b, &legal, &s2);
	is_int(d1 + d2, 0, "fineweb_legal agrees with fineweb-edu fixtures on shared ids");
	ok(s1 + s2 >= 100, "fineweb_legal's documents are found in fineweb-edu fixtures (%zu)", s1 + s2);
	rows_free(&a);
	rows_free(&b);
	rows_free(&p);
	rows_free(&legal);
}

static void expect_line(rows_t *r, size_t i, const char *want, const char *what)
{
	const char *s = r->text.data;
	size_t line = 0;
	const char *p = s, *end = s ? s + r->text.len : s;
	while (p && p < end && line < i) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p) p++;
		line++;
	}
	const char *nl = p ? memchr(p, '\n', (size_t)(end - p)) : NULL;
	char got[2048] = "";
	if (nl)
		snprintf(got, sizeof got, "%.*s", (int)(nl - p), p);
	is_str(got, want, "%s", what);
}

static void test_parquet_testing(void)
{
	rows_t r;
	/* apache/parquet-testing: alltypes_plain.snappy holds rows 6 and 7 of
	 * the alltypes table, alltypes_dictionary rows 0 and 1; timestamps are
	 * INT96; float_col 1.1f widens to 1.100000023841858. */
	ok(read_rows(fixture("parquet-testing/alltypes_plain.snappy.parquet"), NULL, &r) == 0,
		"alltypes_plain.snappy reads");
	is_int(r.n, 2, "alltypes_plain.snappy: 2 rows");
	expect_line(&r, 0, "{\"id\":6,\"bool_col\":true,\"tinyint_col\":0,\"smallint_col\":0,\"int_col\":0,"
		"\"bigint_col\":0,\"float_col\":0.0,\"double_col\":0.0,\"date_string_col\":\"04/01/09\","
		"\"string_col\":\"0\",\"timestamp_col\":\"2009-04-01 00:00:00\"}", "alltypes_plain.snappy row 0");
	expect_line(&r, 1, "{\"id\":7,\"bool_col\":false,\"tinyint_col\":1,\"smallint_col\":1,\"int_col\":1,"
		"\"bigint_col\":10,\"float_col\":1.100000023841858,\"double_col\":10.1,\"date_string_col\":\"04/01/09\","
		"\"string_col\":\"1\",\"timestamp_col\":\"2009-04-01 00:01:00\"}", "alltypes_plain.snappy row 1");
	rows_free(&r);

	ok(read_rows(fixture("parquet-testing/alltypes_dictionary.parquet"), "id,bool_col,bigint_col,double_col,string_col,timestamp_col", &r) == 0,
		"alltypes_dictionary reads");
	is_int(r.n, 2, "alltypes_dictionary: 2 rows");
	expect_line(&r, 0, "{\"id\":0,\"bool_col\":true,\"bigint_col\":0,\"double_col\":0.0,\"string_col\":\"0\",\"timestamp_col\":\"2009-01-01 00:00:00\"}", "alltypes_dictionary row 0");
	expect_line(&r, 1, "{\"id\":1,\"bool_col\":false,\"bigint_col\":10,\"double_col\":10.1,\"string_col\":\"1\",\"timestamp_col\":\"2009-01-01 00:01:00\"}", "alltypes_dictionary row 1");
	rows_free(&r);

	/* datapage_v2.snappy: a = abc,abc,abc,null,abc; b = 1..5;
	 * c = 2,3,4,5,2; d = true,true,true,false,true (RLE booleans in v2
	 * pages); e is a list column. */
	ok(read_rows(fixture("parquet-testing/datapage_v2.snappy.parquet"), "a,b,c,d", &r) == 0,
		"datapage_v2.snappy reads (flat columns)");
	is_int(r.n, 5, "datapage_v2: 5 rows");
	static const char *v2[] = {
		"{\"a\":\"abc\",\"b\":1,\"c\":2.0,\"d\":true}",
		"{\"a\":\"abc\",\"b\":2,\"c\":3.0,\"d\":true}",
		"{\"a\":\"abc\",\"b\":3,\"c\":4.0,\"d\":true}",
		"{\"a\":null,\"b\":4,\"c\":5.0,\"d\":false}",
		"{\"a\":\"abc\",\"b\":5,\"c\":2.0,\"d\":true}",
	};
	for (int i = 0; i < 5; i++)
		expect_line(&r, (size_t)i, v2[i], "datapage_v2 row");
	rows_free(&r);
	ok(read_rows(fixture("parquet-testing/datapage_v2.snappy.parquet"), NULL, &r) == -1 &&
		strstr(last_error, "nested"), "datapage_v2: the list column e is refused cleanly (%s)", last_error);
	rows_free(&r);

	/* delta_length_byte_array: 1000 rows "apple_banana_mango" + i*i. */
	ok(read_rows(fixture("parquet-testing/delta_length_byte_array.parquet"), NULL, &r) == 0,
		"delta_length_byte_array reads");
	is_int(r.n, 1000, "delta_length_byte_array: 1000 rows");
	size_t bad = 0;
	for (size_t i = 0; i < r.n; i++) {
		char want[64];
		snprintf(want, sizeof want, "apple_banana_mango%zu", i * i);
		const char *got = json_get_str(row(&r, i), "FRUIT");
		bad += !got || strcmp(got, want) != 0;
	}
	is_int(bad, 0, "delta_length_byte_array: FRUIT = apple_banana_mango<i*i>");
	rows_free(&r);

	/* binary.parquet: 12 rows, the single bytes 0..11. */
	ok(read_rows(fixture("parquet-testing/binary.parquet"), NULL, &r) == 0, "binary reads");
	is_int(r.n, 12, "binary: 12 rows");
	bad = 0;
	for (size_t i = 0; i < r.n; i++) {
		json_value *v = json_get(row(&r, i), "foo");
		bad += !v || v->type != JSON_STRING || v->len != 1 || (unsigned char)v->str[0] != i;
	}
	is_int(bad, 0, "binary: foo = byte i");
	rows_free(&r);
}

int main(void)
{
	struct stat st;
	if (stat(fixture("fineweb-edu/sample/10BT/000_00000.parquet"), &st) != 0) {
		printf("1..0 # SKIP no fixtures in %s\n", shared_dir());
		return 0;
	}
	cli_init("test_fetch_fixtures");
	test_fineweb();
	test_parquet_testing();
	return done_testing();
}
