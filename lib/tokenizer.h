/* tokenizer.h - BPE tokenizers: Hugging Face tokenizer.json (Gemma 3's
 * included), tiktoken .tiktoken rank files, and bonsai's own (which are
 * tokenizer.json files). Used by bonsai-tokenize, bonsai-eval and
 * bonsai-generate. A loaded tokenizer is read-only: encode and decode may be
 * called from several threads at once. */
#ifndef BONSAI_TOKENIZER_H
#define BONSAI_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct tokenizer tokenizer;

/* Loads PATH (tokenizer.json or .tiktoken; pattern overrides the
 * pre-tokenizer regex of a .tiktoken file whose name is not one of the
 * built-in r50k_base, cl100k_base, o200k_base; may be NULL). On an error
 * (out of memory included), NULL and a message naming the file (and line)
 * in err[errlen]. */
tokenizer *tokenizer_load(const char *path, const char *pattern, char *err, size_t errlen);
void tokenizer_free(tokenizer *t);

uint32_t tokenizer_vocab_size(const tokenizer *t);
int32_t tokenizer_bos(const tokenizer *t); /* -1 when none */
int32_t tokenizer_eos(const tokenizer *t); /* -1 when none */
/* A 64-bit identity of the vocabulary, merges, pattern and special tokens:
 * equal fingerprints mean the same token ids for the same text. */
uint64_t tokenizer_fingerprint(const tokenizer *t);

/* Encodes text[0..len) with no special tokens added. Appends to *ids
 * (growing it with *cap, realloc-style), *n counting the ids: 0, or -1 with
 * the message in err[errlen] when out of memory, when a piece is too long
 * to merge, or when a PCRE2 pre-tokenizer fails on the text (one of its
 * limits). After an error *ids is still the caller's to free and *n counts
 * the ids appended so far (a part of the text's). */
int tokenizer_encode(const tokenizer *t, const char *text, size_t len, uint32_t **ids, size_t *n,
		     size_t *cap, char *err, size_t errlen);
/* Decodes ids to text (malloc'd, NUL-terminated, length in *len). Special
 * tokens are written as their text. An id that is not a token, or no
 * memory for the text: NULL and the message in err[errlen]. */
char *tokenizer_decode(const tokenizer *t, const uint32_t *ids, size_t n, size_t *len, char *err,
		       size_t errlen);
/* The text of one token id (bytes may be a partial UTF-8 sequence), for
 * streaming output; returns the byte count written to out (cap >= 256), or
 * -1 and the message in err[errlen] when id is not a token. */
long tokenizer_token_bytes(const tokenizer *t, uint32_t id, char *out, size_t cap, char *err,
			   size_t errlen);
/* Writes a tiktoken encoding as the Hugging Face tokenizer.json that gives
 * the same ids (byte-level BPE, merges derived from the ranks; whole, then
 * renamed): 0, or -1 with the message in err[errlen] when t is not one or
 * cannot be written so, when out of memory or on a write error (nothing is
 * left at path then). */
int tokenizer_write_hf_json(const tokenizer *t, const char *path, char *err, size_t errlen);

#endif
