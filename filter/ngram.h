/* ngram.h - the words of --decontaminate and the keys of their runs.
 *
 * The text is case-folded (Unicode full case folding) and put in
 * compatibility decomposition (NFKD) code point by code point with
 * utf8proc; a word is a maximal run of code points of general category L
 * (letters), M (marks) or N (numbers); every other code point (categories
 * P, S, Z, C) and every invalid byte separates words. A word is known by
 * the XXH64 of its folded UTF-8 bytes, a run of m words by a polynomial
 * of its words' hashes (mod 2^64, mixed, never 0), so that every run of a
 * text is hashed in one pass. */
#ifndef BONSAI_FILTER_NGRAM_H
#define BONSAI_FILTER_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct {
	uint64_t *hash;          /* each word's hash */
	size_t *start, *end;     /* its bytes in the text */
	size_t n, cap;           /* words, room */
	uint64_t *key;           /* ngram_keys(): a key per run */
	uint64_t *pre;           /* ngram_keys(): prefix hashes, cap + 1 */
	buf_t word;              /* the word being folded */
} ngram_words;

/* Appends the words of t[0..len) to w (set w->n = 0 first to start over). */
void ngram_split(ngram_words *w, const char *t, size_t len);
/* w->key[i] = the key of words i..i+m-1 of the first nw words, for every
 * i; returns how many there are (0 when nw < m). */
size_t ngram_keys(ngram_words *w, size_t nw, int m);
void ngram_words_free(ngram_words *w);

#endif
