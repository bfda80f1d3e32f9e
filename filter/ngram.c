/* ngram.c - see ngram.h. */
#include "ngram.h"

#include "cli.h"
#include "hash.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define POLY_B 0x9E3779B97F4A7C15ull /* odd: a unit mod 2^64 */

static void reserve(ngram_words *w, size_t need)
{
	if (need <= w->cap)
		return;
	size_t c = w->cap ? 2 * w->cap : 256;
	while (c < need)
		c *= 2;
	w->hash = xreallocarray(w->hash, c, sizeof *w->hash);
	w->key = xreallocarray(w->key, c, sizeof *w->key);
	w->pre = xreallocarray(w->pre, c + 1, sizeof *w->pre);
	w->start = xreallocarray(w->start, c, sizeof *w->start);
	w->end = xreallocarray(w->end, c, sizeof *w->end);
	w->cap = c;
}

static void end_word(ngram_words *w, size_t start, size_t end)
{
	reserve(w, w->n + 1);
	w->hash[w->n] = xxh64(w->word.data, w->word.len, 0);
	w->start[w->n] = start;
	w->end[w->n] = end;
	w->n++;
	w->word.len = 0;
}

static int word_cp(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_NO; /* L*, M*, N* */
}

static void put_utf8(buf_t *b, int32_t c)
{
	utf8proc_uint8_t u[4];
	utf8proc_ssize_t k = utf8proc_encode_char(c, u);
	buf_append(b, u, (size_t)k);
}

void ngram_split(ngram_words *w, const char *t, size_t len)
{
	size_t i = 0, start = 0, end = 0;
	int in = 0;
	w->word.len = 0;
	while (i < len) {
		unsigned char c = (unsigned char)t[i];
		if (c < 0x80) { /* the same as below, without utf8proc */
			int lo = c >= 'a' && c <= 'z', up = c >= 'A' && c <= 'Z', dig = c >= '0' && c <= '9';
			if (lo || up || dig) {
				if (!in) {
					in = 1;
					start = i;
				}
				if (w->word.len + 1 >= w->word.cap)
					buf_reserve(&w->word, 64);
				w->word.data[w->word.len++] = (char)(up ? c + 32 : c);
				end = i + 1;
			} else if (in) {
				end_word(w, start, end);
				in = 0;
			}
			i++;
			continue;
		}
		int32_t cp, d[32];
		size_t k = utf8_decode(t + i, len - i, &cp);
		utf8proc_ssize_t m = 0;
		if (cp >= 0) {
			int bound = 0;
			m = utf8proc_decompose_char(cp, d, 32, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
				UTF8PROC_CASEFOLD, &bound);
			if (m > 32)
				m = 0; /* no character decomposes this far */
		}
		if (m <= 0 && in) {
			end_word(w, start, end);
			in = 0;
		}
		for (utf8proc_ssize_t j = 0; j < m; j++) {
			if (word_cp(d[j])) {
				if (!in) {
					in = 1;
					start = i;
				}
				put_utf8(&w->word, d[j]);
				end = i + k;
			} else if (in) {
				end_word(w, start, end);
				in = 0;
			}
		}
		i += k;
	}
	if (in)
		end_word(w, start, end);
}

/* The key of the m words whose polynomial hash is h. */
static inline uint64_t gram_key(uint64_t h, int m)
{
	uint64_t z = h ^ ((uint64_t)m << 56);
	z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDull;
	z = (z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53ull;
	z ^= z >> 33;
	return z ? z : 1;
}

size_t ngram_keys(ngram_words *w, size_t nw, int m)
{
	if (nw < (size_t)m)
		return 0;
	/* P[i] = sum of hash[j] * B^(i-1-j), j < i: the hash of words
	 * i..i+m-1 is P[i+m] - P[i] * B^m */
	uint64_t bm = 1, *pre = w->pre;
	for (int i = 0; i < m; i++)
		bm *= POLY_B;
	pre[0] = 0;
	for (size_t i = 0; i < nw; i++)
		pre[i + 1] = pre[i] * POLY_B + w->hash[i];
	size_t k = nw - (size_t)m + 1;
	for (size_t i = 0; i < k; i++)
		w->key[i] = gram_key(pre[i + (size_t)m] - pre[i] * bm, m);
	return k;
}

void ngram_words_free(ngram_words *w)
{
	free(w->hash);
	free(w->key);
	free(w->pre);
	free(w->start);
	free(w->end);
	buf_free(&w->word);
	memset(w, 0, sizeof *w);
}
