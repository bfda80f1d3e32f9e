/* minhash.h - near-duplicate detection with MinHash LSH, after FineWeb
 * (datatrove's MinhashDedup): word 5-grams, 112 hash functions, 14 bands of
 * 8. Two texts are near-duplicates when all 8 minima of some band agree. */
#ifndef BONSAI_FILTER_MINHASH_H
#define BONSAI_FILTER_MINHASH_H

#include <stddef.h>
#include <stdint.h>
#include "dedup.h"

enum { MH_NGRAM = 5, MH_BANDS = 14, MH_ROWS = 8, MH_HASHES = MH_BANDS * MH_ROWS };

typedef struct {
	/* The 112 permutations of the 64-bit shingle hashes: h -> a h + b
	 * (mod 2^64, a odd). datatrove takes (a h + b) mod 2^61-1; a wrapping
	 * multiply is several times faster and as good a permutation here. */
	uint64_t a[MH_HASHES], b[MH_HASHES];
	hashset bands[MH_BANDS];             /* band hashes of every document seen */
} minhash;

/* Room for the word hashes of one text: one per thread. */
typedef struct {
	uint64_t *words;
	size_t nwords, cap;
} mh_scratch;

void mh_scratch_free(mh_scratch *w);

void minhash_init(minhash *m);
void minhash_free(minhash *m);

/* The 112 minima over the text's word 5-grams (one shingle of all words
 * when there are fewer than 5). Returns 0 when the text has no word. */
int minhash_signature(const minhash *m, mh_scratch *w, const char *s, size_t n,
	uint64_t mins[MH_HASHES]);

/* Computes the 14 band hashes of a text: words are maximal runs of letters
 * and digits, lower-cased, every digit read as 0. Returns 0 (and leaves
 * band alone) when the text has no word. */
int minhash_bands(const minhash *m, mh_scratch *w, const char *s, size_t n,
	uint64_t band[MH_BANDS]);

/* Returns 1 if the bands share one with an earlier text's; records them
 * either way, so chains of near-duplicates collapse to their first. */
int minhash_seen_bands(minhash *m, const uint64_t band[MH_BANDS]);
/* Both steps for one text (0 for a text without words). */
int minhash_seen(minhash *m, mh_scratch *w, const char *s, size_t n);

size_t minhash_bytes(const minhash *m);

#endif
