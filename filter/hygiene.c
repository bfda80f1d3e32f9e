/* hygiene.c - see hygiene.h. Both passes are single scans over the text, so
 * a document of any size costs time in proportion to its length. */
#include "hygiene.h"
#include "cli.h"
#include "utf8.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* 1 if the 8 bytes at p are all printable ASCII (0x20..0x7E). */
static inline int printable8(const unsigned char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	uint64_t del = x ^ (0x7F * ONES);
	return !((x & HIGHS) | ((x - 0x20 * ONES) & ~x & HIGHS) | ((del - ONES) & ~del & HIGHS));
}

/* 1 if the 8 bytes at p are all ASCII. */
static inline int ascii8(const unsigned char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return !(x & HIGHS);
}

int hygiene_repair(const char *str, size_t n, buf_t *out, hygiene_info *info)
{
	const unsigned char *s = (const unsigned char *)str;
	int high = 0;
	size_t i = 0, run = 0; /* s[run..i) is valid and still to be copied */
	out->len = 0;
	buf_reserve(out, n);
	while (i < n) {
		unsigned c = s[i];
		if (c >= 0x20 && c < 0x7F) {
			i++;
			while (i + 8 <= n && printable8(s + i))
				i += 8;
			continue;
		}
		if (c < 0x80) {
			if (c == '\t' || c == '\n' || c == '\r') {
				i++;
				continue;
			}
			buf_append(out, s + run, i - run); /* C0 control or DEL */
			run = ++i;
			info->controls++;
			continue;
		}
		int32_t cp;
		size_t len = utf8_decode(str + i, n - i, &cp);
		if (cp < 0) {
			/* s[i..i+len) is a maximal subpart: one U+FFFD for all of it */
			buf_append(out, s + run, i - run);
			buf_append(out, UTF8_REPLACEMENT, 3);
			i += len;
			run = i;
			info->invalid++;
			continue;
		}
		if (cp <= 0x9F) { /* C1 control (two bytes, U+0080..U+009F) */
			buf_append(out, s + run, i - run);
			i += len;
			run = i;
			info->controls++;
			continue;
		}
		if (cp >= 0x300) {
			high = 1;
			if (cp == 0xFFFD)
				info->had_fffd = 1;
		}
		i += len;
	}
	buf_append(out, s + run, n - run);
	return high;
}

/* NFC can be applied piece by piece, cutting before any "inert" code
 * point: one with combining class 0, that NFC leaves as it is, and whose
 * canonical decomposition does not start with a character that composes
 * with what precedes it (the second of a canonical pair). Across such a cut
 * nothing reorders or composes. Every code point below U+0300 is inert;
 * above, most are (CJK, Cyrillic, curly quotes, ...), and the table below,
 * built from utf8proc's own data once per process, says which.
 * A side effect that matters: utf8proc 2.8 deletes U+11A7 (not a trailing
 * consonant) when it directly follows a Hangul LV syllable. Both are inert,
 * and an inert code point enters a piece only when a non-inert one follows
 * it, so utf8proc never sees that pair and the text stays as Unicode says. */
#define N_CP 0x110000
static uint8_t inert_bits[N_CP / 8];
static pthread_once_t inert_once = PTHREAD_ONCE_INIT;

static int nfc_is_identity(utf8proc_int32_t cp)
{
	utf8proc_int32_t b[8];
	utf8proc_ssize_t k = utf8proc_decompose_char(cp, b, 8, UTF8PROC_DECOMPOSE, NULL);
	if (k < 0 || k > 8)
		return 0;
	if (k == 1 && b[0] == cp)
		return 1;
	k = utf8proc_normalize_utf32(b, k, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	return k == 1 && b[0] == cp;
}

static void build_inert(void)
{
	static uint8_t second[N_CP / 8];
	utf8proc_int32_t b[8];
	/* seconds: every element after the first of a canonical decomposition */
	for (utf8proc_int32_t cp = 0xC0; cp < N_CP; cp++) {
		if (utf8proc_get_property(cp)->decomp_seqindex == UINT16_MAX)
			continue;
		utf8proc_ssize_t k = utf8proc_decompose_char(cp, b, 8, UTF8PROC_DECOMPOSE, NULL);
		for (utf8proc_ssize_t i = 1; i < k && i < 8; i++)
			second[b[i] >> 3] |= (uint8_t)(1u << (b[i] & 7));
	}
	for (utf8proc_int32_t cp = 0x1161; cp <= 0x1175; cp++) /* Hangul V */
		second[cp >> 3] |= (uint8_t)(1u << (cp & 7));
	for (utf8proc_int32_t cp = 0x11A8; cp <= 0x11C2; cp++) /* Hangul T */
		second[cp >> 3] |= (uint8_t)(1u << (cp & 7));
	for (utf8proc_int32_t cp = 0; cp < N_CP; cp++) {
		const utf8proc_property_t *p = utf8proc_get_property(cp);
		if (p->combining_class != 0)
			continue;
		utf8proc_int32_t first = cp;
		if (cp >= 0xAC00 && cp <= 0xD7A3) {
			first = 0x1100; /* a syllable starts with a leading consonant */
		} else if (p->decomp_seqindex != UINT16_MAX) {
			if (!nfc_is_identity(cp))
				continue;
			if (utf8proc_decompose_char(cp, b, 8, UTF8PROC_DECOMPOSE, NULL) >= 1)
				first = b[0];
		}
		if (second[first >> 3] & (1u << (first & 7)))
			continue;
		inert_bits[cp >> 3] |= (uint8_t)(1u << (cp & 7));
	}
}

int hygiene_inert(int32_t cp)
{
	if (cp < 0x300)
		return 1;
	if (cp >= N_CP)
		return 0;
	pthread_once(&inert_once, build_inert);
	return (inert_bits[cp >> 3] >> (cp & 7)) & 1;
}

/* Decodes the valid UTF-8 code point at s; *len gets its length. */
static int32_t decode(const unsigned char *s, size_t *len)
{
	unsigned c = s[0];
	if (c < 0x80) { *len = 1; return (int32_t)c; }
	if (c < 0xE0) { *len = 2; return (int32_t)(((c & 0x1F) << 6) | (s[1] & 0x3F)); }
	if (c < 0xF0) {
		*len = 3;
		return (int32_t)(((c & 0x0F) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3F));
	}
	*len = 4;
	return (int32_t)(((c & 0x07) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3F));
}

/* NFC of one piece through utf8proc, with a buffer kept between calls. */
static size_t nfc_piece(const unsigned char *s, size_t n, buf_t *out)
{
	/* one per thread; grows to the longest piece seen, never freed */
	static _Thread_local utf8proc_int32_t *cps;
	static _Thread_local size_t cap;
	const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
	utf8proc_ssize_t k;
	for (;;) {
		k = utf8proc_decompose(s, (utf8proc_ssize_t)n, cps, (utf8proc_ssize_t)cap, opt);
		if (k < 0)
			die("utf8proc: %s", utf8proc_errmsg(k));
		if ((size_t)k + 1 <= cap)
			break;
		cap = (size_t)k + 1 > 2 * cap ? (size_t)k + 1 : 2 * cap;
		cps = xreallocarray(cps, cap, sizeof *cps);
	}
	/* re-encodes into the same array, which has room to spare */
	utf8proc_ssize_t m = utf8proc_reencode(cps, k, opt);
	if (m < 0)
		die("utf8proc: %s", utf8proc_errmsg(m));
	buf_append(out, cps, (size_t)m);
	return (size_t)m;
}

int hygiene_nfc(const char *str, size_t n, buf_t *out)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, copied = 0; /* s[copied..i) is inert text still to copy */
	int changed = 0;
	out->len = 0;
	buf_reserve(out, n);
	while (i < n) {
		/* Bytes below 0xCC are ASCII, continuation bytes, or lead bytes of
		 * code points below U+0300: all inert, skipped without decoding. */
		if (s[i] < 0xCC) {
			i++;
			while (i + 8 <= n && ascii8(s + i))
				i += 8;
			continue;
		}
		size_t l;
		if (hygiene_inert(decode(s + i, &l))) {
			i += l;
			continue;
		}
		/* A piece: from the code point before this one (a starter that
		 * may compose with it) to the next inert code point. */
		size_t start = i;
		if (start > copied) {
			start--;
			while (start > copied && (s[start] & 0xC0) == 0x80)
				start--;
		}
		size_t j = i + l;
		for (;;) {
			while (j < n) {
				if (s[j] < 0x80 || ((s[j] & 0xC0) != 0x80 && hygiene_inert(decode(s + j, &l))))
					break;
				j++;
			}
			/* One inert code point and then more to normalize (as in a
			 * text in NFD): take them into this piece rather than making
			 * a call into utf8proc per character, up to 64 KiB. */
			if (j >= n || j - start > (64u << 10))
				break;
			size_t k = j + (s[j] < 0x80 ? 1 : l), l2;
			if (k >= n || s[k] < 0xCC || hygiene_inert(decode(s + k, &l2)))
				break;
			j = k;
		}
		buf_append(out, s + copied, start - copied);
		size_t at = out->len;
		size_t m = nfc_piece(s + start, j - start, out);
		if (m != j - start || memcmp(out->data + at, s + start, m) != 0)
			changed = 1;
		copied = i = j;
	}
	buf_append(out, s + copied, n - copied);
	return changed;
}

size_t utf8_count(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += (s[i] & 0xC0) != 0x80;
	return c;
}
