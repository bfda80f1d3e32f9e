/* hygiene.h - the text clean-up bonsai-filter applies to every document:
 * invalid UTF-8 repaired, control characters removed, NFC normalization. */
#ifndef BONSAI_FILTER_HYGIENE_H
#define BONSAI_FILTER_HYGIENE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

typedef struct {
	size_t invalid;   /* maximal invalid subsequences found (each one U+FFFD) */
	size_t controls;  /* control characters removed */
	int nfc_changed;  /* NFC normalization changed the text */
	int had_fffd;     /* the input already held a U+FFFD */
} hygiene_info;

/* Writes s[0..n) to out (which is reset first) with each maximal invalid
 * UTF-8 subsequence replaced by U+FFFD (Unicode 3.9, "substitution of
 * maximal subparts", by utf8_decode of lib/utf8.h, as bonsai-fetch does)
 * and every C0/C1 control character (category Cc) other than TAB, LF and
 * CR removed. Returns 1 when some code point of U+0300 or above was seen,
 * i.e. when NFC could change anything. */
int hygiene_repair(const char *s, size_t n, buf_t *out, hygiene_info *info);

/* Writes the NFC normalization of the valid UTF-8 s[0..n) to out (reset
 * first). Runs of inert code points (see hygiene_inert) are copied as they
 * are; only the pieces between them go through utf8proc. Returns 1 when
 * the result differs from the input. Dies when utf8proc fails (it cannot on
 * valid input short of memory). */
int hygiene_nfc(const char *s, size_t n, buf_t *out);

/* 1 if NFC never changes cp nor lets it interact with what precedes it
 * (combining class 0, NFC-stable, and its decomposition does not start with
 * the second character of a canonical composition). All code points below
 * U+0300 are; the table for the others is built once, on first use. */
int hygiene_inert(int32_t cp);

/* Number of code points in the valid UTF-8 s[0..n). */
size_t utf8_count(const char *s, size_t n);

#endif
