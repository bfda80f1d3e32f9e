/* utf8.h - UTF-8 decoding by the Unicode Standard's rules (section 3.9):
 * well-formed sequences as in its Table 3-7, and ill-formed input cut into
 * maximal subparts, each replaced by one U+FFFD ("U+FFFD Substitution of
 * Maximal Subparts", the practice the standard recommends and that Python's
 * errors="replace" and the WHATWG decoder follow). Every tool that repairs
 * text goes through here, so the same bytes become the same text in all. */
#ifndef BONSAI_UTF8_H
#define BONSAI_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define UTF8_INVALID (-1)   /* a maximal subpart: one U+FFFD stands for it */
#define UTF8_TRUNCATED (-2) /* a well-formed start cut short by the end of input */

#define UTF8_REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* Decodes what starts s[0..n), n >= 1. Returns its length in bytes and
 * stores the code point in *cp, or, when s starts ill-formed, the length of
 * the maximal subpart there, with *cp = UTF8_INVALID, or UTF8_TRUNCATED when
 * the subpart reaches the end of s and more bytes could still complete it
 * (a streaming decoder waits for them; at the true end it is one U+FFFD).
 * Inline: bonsai-filter calls it for every non-ASCII character. */
static inline size_t utf8_decode(const char *str, size_t n, int32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = (int32_t)c;
		return 1;
	}
	/* Table 3-7: the lead byte fixes the length and the range allowed for
	 * the second byte; later bytes are 80..BF. */
	size_t need;
	unsigned lo = 0x80, hi = 0xBF;
	uint32_t v;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0) lo = 0xA0;       /* no overlongs */
		else if (c == 0xED) hi = 0x9F;  /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0) lo = 0x90;       /* no overlongs */
		else if (c == 0xF4) hi = 0x8F;  /* nothing above U+10FFFF */
	} else {
		*cp = UTF8_INVALID; /* 80..C1, F5..FF never start a character */
		return 1;
	}
	for (size_t j = 1; j <= need; j++) {
		if (j >= n) {
			*cp = UTF8_TRUNCATED;
			return j;
		}
		unsigned b = s[j];
		if (b < lo || b > hi) {
			*cp = UTF8_INVALID;
			return j;
		}
		lo = 0x80;
		hi = 0xBF;
		v = (v << 6) | (b & 0x3F);
	}
	*cp = (int32_t)v;
	return need + 1;
}

/* Appends s[0..n) to out with each maximal subpart (a truncated sequence at
 * the end included) replaced by U+FFFD. Returns the number of U+FFFD put in;
 * a checked buffer that runs out of memory says so itself (out->failed). */
size_t utf8_repair(const char *s, size_t n, buf_t *out);

#endif
