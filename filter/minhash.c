/* minhash.c - see minhash.h. */
#include "minhash.h"
#include "cli.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>


void minhash_init(minhash *m)
{
	memset(m, 0, sizeof *m);
	uint64_t seed = 0x6d696e68617368ULL; /* fixed: results are reproducible */
	for (int i = 0; i < MH_HASHES; i++) {
		m->a[i] = splitmix64(&seed) | 1; /* odd: h -> a h + b is a bijection */
		m->b[i] = splitmix64(&seed);
	}
	for (int i = 0; i < MH_BANDS; i++)
		hashset_init(&m->bands[i], 0);
}

void minhash_free(minhash *m)
{
	for (int i = 0; i < MH_BANDS; i++)
		hashset_free(&m->bands[i]);
}

void mh_scratch_free(mh_scratch *w)
{
	free(w->words);
	w->words = NULL;
	w->nwords = w->cap = 0;
}

static void push_word(mh_scratch *m, uint64_t h)
{
	if (m->nwords == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->words = xreallocarray(m->words, m->cap, sizeof *m->words);
	}
	m->words[m->nwords++] = h;
}

/* Splits into words and hashes each one's normalized UTF-8. Words are
 * gathered in a small buffer and hashed in one call; a word longer than
 * the buffer is hashed by pieces. */
static void split_words(mh_scratch *m, const char *str, size_t n)
{
	const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)str;
	unsigned char w[256];
	size_t wl = 0;
	uint64_t carry = 0; /* hash of the pieces of a long word so far */
	int in_word = 0;
	size_t i = 0;
	m->nwords = 0;
	while (i < n) {
		utf8proc_int32_t cp = s[i];
		if (cp < 0x80) {
			i++;
		} else {
			utf8proc_ssize_t l = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
			if (l <= 0) { /* cannot happen after hygiene; step over the byte */
				cp = 0xFFFD;
				l = 1;
			}
			i += (size_t)l;
		}
		int alnum;
		if (cp < 0x80) {
			alnum = (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
			if (cp >= 'A' && cp <= 'Z')
				cp |= 0x20;
			else if (cp >= '0' && cp <= '9')
				cp = '0';
		} else {
			utf8proc_category_t c = utf8proc_category(cp);
			alnum = (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
				(c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME) ||
				(c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
			if (c == UTF8PROC_CATEGORY_ND)
				cp = '0';
			else
				cp = utf8proc_tolower(cp);
		}
		if (!alnum) {
			if (in_word)
				push_word(m, xxh64(w, wl, carry));
			in_word = 0;
			continue;
		}
		if (!in_word) {
			wl = 0;
			carry = 0;
		}
		in_word = 1;
		if (wl > sizeof w - 4) {
			carry = xxh64(w, wl, carry) + 1;
			wl = 0;
		}
		if (cp < 0x80)
			w[wl++] = (unsigned char)cp;
		else
			wl += (size_t)utf8proc_encode_char(cp, w + wl);
	}
	if (in_word)
		push_word(m, xxh64(w, wl, carry));
}

int minhash_signature(const minhash *m, mh_scratch *w, const char *s, size_t n,
	uint64_t mins[MH_HASHES])
{
	split_words(w, s, n);
	if (w->nwords == 0)
		return 0;
	for (int k = 0; k < MH_HASHES; k++)
		mins[k] = UINT64_MAX;
	size_t nshingles = w->nwords >= MH_NGRAM ? w->nwords - MH_NGRAM + 1 : 1;
	size_t width = w->nwords >= MH_NGRAM ? MH_NGRAM : w->nwords;
	for (size_t i = 0; i < nshingles; i++) {
		uint64_t h = xxh64(w->words + i, width * sizeof *w->words, 0);
		for (int k = 0; k < MH_HASHES; k++) {
			uint64_t v = m->a[k] * h + m->b[k];
			mins[k] = v < mins[k] ? v : mins[k];
		}
	}
	return 1;
}

int minhash_bands(const minhash *m, mh_scratch *w, const char *s, size_t n,
	uint64_t band[MH_BANDS])
{
	uint64_t mins[MH_HASHES];
	if (!minhash_signature(m, w, s, n, mins))
		return 0;
	for (int b = 0; b < MH_BANDS; b++)
		band[b] = xxh64(mins + b * MH_ROWS, MH_ROWS * sizeof *mins, (uint64_t)b);
	return 1;
}

int minhash_seen(minhash *m, mh_scratch *w, const char *s, size_t n)
{
	uint64_t band[MH_BANDS];
	return minhash_bands(m, w, s, n, band) && minhash_seen_bands(m, band);
}

int minhash_seen_bands(minhash *m, const uint64_t band[MH_BANDS])
{
	int seen = 0;
	for (int b = 0; b < MH_BANDS; b++)
		if (!hashset_add(&m->bands[b], band[b]))
			seen = 1;
	return seen;
}

size_t minhash_bytes(const minhash *m)
{
	size_t t = 0;
	for (int b = 0; b < MH_BANDS; b++)
		t += hashset_bytes(&m->bands[b]);
	return t;
}
