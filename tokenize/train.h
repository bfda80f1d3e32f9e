/* train.h - byte-level BPE training: word counts in, merges out. */
#ifndef BONSAI_TOKENIZE_TRAIN_H
#define BONSAI_TOKENIZE_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "xio.h"

/* The distinct pre-tokenized words of the corpus and how often each came. */
typedef struct {
	buf_t bytes;        /* all words, back to back */
	uint64_t *off;      /* word i is bytes[off[i] .. off[i+1]) */
	uint64_t *count;
	size_t n, cap;
} word_counts;

/* Learns merges over base ids: byte b is id base + b. Merge i creates id
 * base + 256 + i from (pairs[2i], pairs[2i+1]). Stops after max_merges or
 * when no pair occurs min_count times. Returns the number of merges;
 * *pairs is malloc'd. Deterministic: the most frequent pair first, the
 * smallest (left, right) among equals. */
size_t bpe_train(const word_counts *wc, uint32_t base, size_t max_merges,
		 uint64_t min_count, uint32_t **pairs);

/* Writes the tokenizer.json of a byte-level BPE to out and commits it:
 * specials at ids 0..n_special-1, the 256 bytes, then the merges. */
void train_write_json(outfile *out, char **specials, size_t n_special,
		      const uint32_t *pairs, size_t n_merges);

/* The bytes whose byte-level text (GPT-2's alphabet, as in a byte-level
 * tokenizer.json's vocab) is s, into out: 0, or -1 when s is no such text. */
int bytelevel_text_bytes(const char *s, buf_t *out);

#endif
