/* test_lib_utf8 - lib/utf8's decoder and U+FFFD repair against the Unicode
 * Standard's own examples (section 3.9, Table 3-8 and the text around it)
 * and, for every short string over the bytes that matter, against the
 * standard's definition of a maximal subpart worked out by brute force with
 * json.c's independent utf8_valid. */
#include "tap.h"
#include "buf.h"
#include "json.h"
#include "utf8.h"

#define FFFD "\xEF\xBF\xBD"

static int repair_is(const char *in, size_t n, const char *want, size_t wn, size_t wrepl,
	const char *name)
{
	buf_t b = {0};
	buf_puts(&b, "<"); /* repair appends */
	size_t r = utf8_repair(in, n, &b);
	int pass = ok(r == wrepl && b.len == wn + 1 && memcmp(b.data + 1, want, wn) == 0, "%s", name);
	if (!pass) {
		printf("#   %zu replacements; got:", r);
		for (size_t i = 1; i < b.len; i++)
			printf(" %02x", (unsigned char)b.data[i]);
		printf("\n");
	}
	buf_free(&b);
	return pass;
}
#define R(in, want, k, name) repair_is(in, sizeof in - 1, want, sizeof want - 1, k, name)

/* 1 if s[0..k) (lead byte not ASCII) starts some well-formed character:
 * tried with every second byte and 0x80 after it, lengths up to 4. */
static int is_prefix(const unsigned char *s, size_t k)
{
	unsigned char t[4];
	memcpy(t, s, k);
	for (size_t len = k + 1; len <= 4; len++) {
		for (unsigned b = 0x80; b <= 0xBF; b++) {
			if (k == 1)
				t[1] = (unsigned char)b;
			else if (b > 0x80)
				break;
			for (size_t j = k == 1 ? 2 : k; j < len; j++)
				t[j] = 0x80;
			if (utf8_valid((const char *)t, len))
				return 1;
		}
	}
	return 0;
}

/* The standard's definition: a well-formed character, else the longest
 * start of one (at least one byte). kind: 0 character, 1 maximal subpart,
 * 2 a start cut short by the end of the input. */
static size_t reference(const unsigned char *s, size_t n, int *kind)
{
	for (size_t k = 1; k <= 4 && k <= n; k++)
		if (utf8_valid((const char *)s, k)) {
			*kind = 0;
			return k;
		}
	size_t k = n < 3 ? n : 3;
	while (k > 1 && !is_prefix(s, k))
		k--;
	*kind = k == n && is_prefix(s, k) ? 2 : 1;
	return k;
}

static const unsigned char interesting[] = {
	0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
	0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFF};
#define NI (sizeof interesting)

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(void)
{
	/* Unicode Standard 15, section 3.9, Table 3-8 */
	R("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
	  "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d", 6, "Table 3-8: a FFFD FFFD FFFD b FFFD c FFFD FFFD d");
	/* the examples before it: no prefix of a character, one U+FFFD a byte */
	R("\xC0\xAF", FFFD FFFD, 2, "overlong C0 AF: two");
	R("\xE0\x80\xAF", FFFD FFFD FFFD, 3, "overlong E0 80 AF: three");
	R("\xF8\x80\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD, 5, "five-byte form F8 80 80 80 80: five");
	R("\xED\xA0\x80", FFFD FFFD FFFD, 3, "surrogate ED A0 80: three");
	R("\xED\xBF\xBF", FFFD FFFD FFFD, 3, "surrogate ED BF BF: three");
	R("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD, 4, "F4 90 80 80, above U+10FFFF: four");
	R("\xF5\x80\x80\x80", FFFD FFFD FFFD FFFD, 4, "F5 80 80 80: four");
	R("\xF0\x80\x80\x80", FFFD FFFD FFFD FFFD, 4, "overlong F0 80 80 80: four");
	/* truncated sequences */
	R("\xF0\x9F\x98", FFFD, 1, "F0 9F 98 at the end: one");
	R("x\xE2\x82", "x" FFFD, 1, "E2 82 at the end: one");
	R("x\xE2", "x" FFFD, 1, "a lone E2 at the end: one");
	R("\xF1\x80\x80" "A", FFFD "A", 1, "F1 80 80 then A: one, then A");
	R("\xE2\x82\xF0\x9F\x98\x80", FFFD "\xF0\x9F\x98\x80", 1, "E2 82 then U+1F600: one, then it");
	R("\xFF\xFE", FFFD FFFD, 2, "FF FE: two");
	/* well-formed text at the boundaries of Table 3-7 stays */
	R("\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",
	  "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",
	  0, "U+007F U+0080 U+07FF U+0800 U+D7FF U+E000 U+FFFF U+10000 U+10FFFF unchanged");
	R("", "", 0, "empty input");

	static const struct { const char *s; int32_t cp; } cps[] = {
		{"A", 0x41}, {"\xC3\xA9", 0xE9}, {"\xDF\xBF", 0x7FF}, {"\xE0\xA0\x80", 0x800},
		{"\xE2\x82\xAC", 0x20AC}, {"\xED\x9F\xBF", 0xD7FF}, {"\xEE\x80\x80", 0xE000},
		{"\xEF\xBF\xBD", 0xFFFD}, {"\xF0\x9F\x98\x80", 0x1F600}, {"\xF4\x8F\xBF\xBF", 0x10FFFF}};
	int bad = 0;
	for (size_t i = 0; i < sizeof cps / sizeof *cps; i++) {
		int32_t cp;
		size_t k = utf8_decode(cps[i].s, strlen(cps[i].s), &cp);
		bad += k != strlen(cps[i].s) || cp != cps[i].cp;
	}
	is_int(bad, 0, "code points at the edges of each length decode right");
	{
		int32_t cp;
		size_t k = utf8_decode("\xF0\x9F\x98", 3, &cp);
		ok(k == 3 && cp == UTF8_TRUNCATED, "F0 9F 98 at the end: truncated, 3 bytes");
		k = utf8_decode("\xF0\x9F\x98" "A", 4, &cp);
		ok(k == 3 && cp == UTF8_INVALID, "F0 9F 98 then A: a maximal subpart of 3 bytes");
		k = utf8_decode("\xED", 1, &cp);
		ok(k == 1 && cp == UTF8_TRUNCATED, "a lone ED at the end: truncated");
		k = utf8_decode("\xED\xA0", 2, &cp);
		ok(k == 1 && cp == UTF8_INVALID, "ED A0: ED alone is the subpart, even at the end");
	}

	/* Every string of 1 to 4 of the interesting bytes: the first thing
	 * decoded is what the definition says. */
	bad = 0;
	size_t tried = 0;
	for (size_t n = 1; n <= 4; n++) {
		size_t total = 1;
		for (size_t j = 0; j < n; j++)
			total *= NI;
		for (size_t x = 0; x < total; x++) {
			unsigned char s[4];
			size_t y = x;
			for (size_t j = 0; j < n; j++, y /= NI)
				s[j] = interesting[y % NI];
			int kind;
			size_t want = reference(s, n, &kind);
			int32_t cp;
			size_t got = utf8_decode((const char *)s, n, &cp);
			int gkind = cp >= 0 ? 0 : cp == UTF8_INVALID ? 1 : 2;
			if (got != want || gkind != kind) {
				if (bad++ < 5)
					printf("#   %02x %02x %02x %02x (n %zu): got %zu/%d, want %zu/%d\n", s[0],
						n > 1 ? s[1] : 0, n > 2 ? s[2] : 0, n > 3 ? s[3] : 0, n, got, gkind, want, kind);
			}
			tried++;
		}
	}
	is_int(bad, 0, "all %zu strings of 1-4 interesting bytes: decoded as the definition says", tried);

	/* Random longer strings: the repair is the definition applied left to right. */
	bad = 0;
	for (int t = 0; t < 20000; t++) {
		unsigned char s[24];
		size_t n = next() % sizeof s;
		for (size_t j = 0; j < n; j++)
			s[j] = interesting[next() % NI];
		buf_t want = {0}, got = {0};
		size_t wr = 0;
		for (size_t i = 0; i < n;) {
			int kind;
			size_t k = reference(s + i, n - i, &kind);
			if (kind)
				buf_append(&want, FFFD, 3), wr++;
			else
				buf_append(&want, s + i, k);
			i += k;
		}
		size_t gr = utf8_repair((const char *)s, n, &got);
		bad += gr != wr || got.len != want.len || (want.len && memcmp(got.data, want.data, want.len));
		buf_free(&want);
		buf_free(&got);
	}
	is_int(bad, 0, "20000 random strings repaired as the definition says");
	return done_testing();
}
