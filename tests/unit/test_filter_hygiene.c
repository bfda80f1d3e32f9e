/* test_filter_hygiene - UTF-8 repair, control removal and the piecewise NFC
 * of bonsai-filter, against the Unicode Standard's examples and against
 * utf8proc's NFC of the whole string. */
#define _GNU_SOURCE /* memmem */
#include "tap.h"
#include "buf.h"
#include "../../filter/hygiene.h"

#include <stdint.h>
#include <utf8proc.h>

static int repaired_is(const char *in, size_t n, const char *want, size_t wn, const char *name)
{
	buf_t b = {0};
	hygiene_info hi = {0, 0, 0, 0};
	hygiene_repair(in, n, &b, &hi);
	int r = ok(b.len == wn && memcmp(b.data, want, wn) == 0, "%s", name);
	if (!r) {
		printf("#   got:");
		for (size_t i = 0; i < b.len; i++)
			printf(" %02x", (unsigned char)b.data[i]);
		printf("\n");
	}
	buf_free(&b);
	return r;
}

#define R(in, want, name) repaired_is(in, sizeof in - 1, want, sizeof want - 1, name)
#define FFFD "\xEF\xBF\xBD"

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Code points that exercise composition: starters below and above U+0300,
 * combining marks of several classes, Hangul jamo, singletons. */
static const int32_t pool[] = {
	'a', 'e', 'A', ' ', 'o', 0xE9, 0x1E0A, 0x300, 0x301, 0x302, 0x308, 0x323, 0x327,
	0x31B, 0x345, 0x340, 0x344, 0x3B1, 0x1100, 0x1161, 0x11A8, 0xAC00, 0x212B, 0x2126,
	0x0F73, 0x0F71, 0x0F72, 0x3099, 0x304B, 0x30AB, 0x0915, 0x093C, 0x1D15E, 0x1D165,
	0x05D0, 0x05B7, 0x0CBF, 0x0CD5, 0x0B47, 0x0B3E, 0x2ADC, 0x1F80, 0x0342, 0xFB2C,
	/* vowel signs of class 0 that compose with what precedes them */
	0x0DD9, 0x0DCF, 0x0DCA, 0x0DDC, 0x1025, 0x102E, 0x0BC6, 0x0BBE, 0x0BD7, 0x09C7,
	0x09BE, 0x09D7, 0x0D46, 0x0D3E, 0x0D57, 0x1B05, 0x1B35, 0x0CC6, 0x0CC2, 0x0CD6,
	0x110A5, 0x110BA, 0x11131, 0x11127, 0x11347, 0x1133E, 0x11357, 0x114B9, 0x114BA,
	0x114B0, 0x115B8, 0x115AF, 0x11935, 0x11930,
	/* singletons, exclusions, compatibility-only, inert punctuation */
	0x2000, 0x2001, 0x2019, 0x201C, 0x0374, 0x037E, 0x0387, 0x0958, 0x0F43, 0x1F00,
	0x11A8, 0xAC01, 0x1161, 0xFB1D, 0x2329, 0xF900, 0x2F800, 0x1D15F, 0x1D160, 0x0436,
	0x0419, 0x0306, 0x4E00, 0xFF21,
};

int main(void)
{
	/* Unicode Standard 15, section 3.9, Table 3-8 (U+FFFD for maximal subparts) */
	R("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
	  "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d", "Table 3-8 example");
	R("\xC0\xAF", FFFD FFFD, "overlong C0 AF: two replacements");
	R("\xE0\x80\xAF", FFFD FFFD FFFD, "overlong E0 80 AF: three");
	R("\xED\xA0\x80", FFFD FFFD FFFD, "surrogate ED A0 80: three");
	R("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD, "above U+10FFFF: four");
	R("\xF0\x9F\x98", FFFD, "truncated 4-byte sequence: one");
	R("x\xE2\x82", "x" FFFD, "truncated at the end");
	R("\xFF\xFE", FFFD FFFD, "FF FE");
	R("ok \xF0\x9F\x98\x80 \xC3\xA9", "ok \xF0\x9F\x98\x80 \xC3\xA9", "valid text unchanged");
	R("a\x01" "b\x7F" "c\xC2\x80" "d\xC2\x9F" "e\xC2\xA0", "abcde\xC2\xA0", "C0, DEL, C1 removed; NBSP kept");
	R("t\tn\nr\r", "t\tn\nr\r", "TAB LF CR kept");
	{
		buf_t b = {0};
		hygiene_info hi = {0, 0, 0, 0};
		hygiene_repair("\0a\0", 3, &b, &hi);
		ok(b.len == 1 && b.data[0] == 'a' && hi.controls == 2, "NUL removed, counted");
		buf_free(&b);
	}

	/* A bad byte at every offset of a long ASCII run (the scan skips 8
	 * bytes at a time). */
	{
		static const char bads[] = {0x01, 0x7F, (char)0xFF, 0x1F, 0x00};
		int fails = 0;
		for (size_t b = 0; b < sizeof bads; b++) {
			for (int k = 0; k < 40; k++) {
				char in[40], want[48];
				memset(in, 'x', sizeof in);
				in[k] = bads[b];
				size_t wn = 0;
				for (int i = 0; i < 40; i++) {
					if (i != k)
						want[wn++] = 'x';
					else if (bads[b] == (char)0xFF)
						memcpy(want + wn, FFFD, 3), wn += 3;
				}
				buf_t o = {0};
				hygiene_info hi = {0, 0, 0, 0};
				hygiene_repair(in, sizeof in, &o, &hi);
				fails += o.len != wn || memcmp(o.data, want, wn) != 0;
				buf_free(&o);
			}
		}
		is_int(fails, 0, "a control, DEL or invalid byte at each of 40 offsets");
	}

	/* NFC */
	buf_t out = {0};
	is_int(hygiene_nfc("e\xCC\x81", 3, &out), 1, "e + U+0301 changes");
	ok(out.len == 2 && memcmp(out.data, "\xC3\xA9", 2) == 0, "... into U+00E9");
	is_int(hygiene_nfc("\xC3\xA9t\xC3\xA9", 6, &out), 0, "NFC text unchanged");
	/* U+11A7 is not a trailing consonant: NFC keeps it after U+AC00
	 * (utf8proc 2.8's whole-string NFC deletes it). Also inside a piece. */
	is_int(hygiene_nfc("\xEA\xB0\x80\xE1\x86\xA7", 6, &out), 0, "U+AC00 U+11A7 is NFC");
	is_int(hygiene_nfc("\xEA\xB0\x80\xE1\x86\xA7\xCC\x81\xE1\x86\xA7", 11, &out), 0,
		"U+AC00 U+11A7 U+0301 U+11A7 is NFC");
	is_int(hygiene_nfc("\xEA\xB0\x80\xE1\x86\xA7\xCC\x81\xE1\x86\xA7\xCC\x81", 13, &out), 0,
		"U+AC00 (U+11A7 U+0301) x 2 is NFC (utf8proc 2.8 drops a U+11A7)");
	is_int(hygiene_nfc("e\xCC\x81\xEA\xB0\x80\xE1\x86\xA7\xCC\x81", 11, &out), 1,
		"e U+0301 U+AC00 U+11A7 U+0301 changes...");
	ok(out.len == 10 && memcmp(out.data, "\xC3\xA9\xEA\xB0\x80\xE1\x86\xA7\xCC\x81", 10) == 0,
		"... only in its first two code points");
	is_int(hygiene_nfc("\xE2\x84\xAB", 3, &out), 1, "U+212B ANGSTROM SIGN changes");
	ok(out.len == 2 && memcmp(out.data, "\xC3\x85", 2) == 0, "... into U+00C5");

	/* Piecewise NFC equals utf8proc's NFC of the whole text. */
	int bad = 0;
	for (int t = 0; t < 50000; t++) {
		int32_t cps[24];
		int n = 1 + (int)(next() % 24);
		for (int i = 0; i < n; i++) {
			switch (next() % 6) {
			case 0: cps[i] = (int32_t)(next() % 0x300); break;
			case 1: cps[i] = (int32_t)(0x300 + next() % 0x3000); break;
			default: cps[i] = pool[next() % (sizeof pool / sizeof pool[0])];
			}
			if (cps[i] >= 0xD800 && cps[i] < 0xE000)
				cps[i] = 'y';
		}
		uint8_t s[24 * 4 + 1];
		size_t len = 0;
		for (int i = 0; i < n; i++) {
			if (cps[i] < 0x20 || (cps[i] >= 0x7F && cps[i] < 0xA0))
				cps[i] = 'z';
			len += (size_t)utf8proc_encode_char(cps[i], s + len);
		}
		s[len] = 0;
		uint8_t *want = utf8proc_NFC(s);
		hygiene_nfc((const char *)s, len, &out);
		size_t wl = strlen((char *)want);
		/* utf8proc 2.8 deletes U+11A7 after a Hangul LV syllable */
		if (!memmem(s, len, "\xE1\x86\xA7", 3) && (out.len != wl || memcmp(out.data, want, wl) != 0))
			bad++;
		free(want);
	}
	is_int(bad, 0, "piecewise NFC == whole-string NFC on 50000 random texts");

	/* Every inert code point is its own NFC and of combining class 0. */
	int wrong = 0, inert = 0;
	for (int32_t cp = 0; cp < 0x30000; cp++) {
		if ((cp >= 0xD800 && cp < 0xE000) || !hygiene_inert(cp))
			continue;
		inert++;
		uint8_t s1[5] = {0};
		utf8proc_encode_char(cp, s1);
		uint8_t *nf = utf8proc_NFC(s1);
		if (cp && (strcmp((char *)nf, (char *)s1) != 0 || utf8proc_get_property(cp)->combining_class))
			wrong++;
		free(nf);
	}
	is_int(wrong, 0, "%d inert code points below U+30000: each is its own NFC, class 0", inert);
	ok(!hygiene_inert(0x301) && !hygiene_inert(0x1161) && !hygiene_inert(0x11A8) &&
		!hygiene_inert(0x0DCF) && !hygiene_inert(0x2000) && !hygiene_inert(0x212B) &&
		!hygiene_inert(0x3099), "combining marks, jamo V/T, class-0 vowel signs, singletons are not inert");
	ok(hygiene_inert(0x2019) && hygiene_inert(0x4E00) && hygiene_inert(0x0436) &&
		hygiene_inert(0xAC00) && hygiene_inert(0xE9), "quotes, CJK, Cyrillic, Hangul syllables, U+00E9 are");

	is_int((long long)utf8_count("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 10), 4, "code points counted");
	buf_free(&out);
	return done_testing();
}
