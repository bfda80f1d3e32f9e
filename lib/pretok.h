/* pretok.h - the pre-tokenizer patterns of OpenAI's encodings, matched by
 * hand with exactly the regex semantics (leftmost-first alternation, greedy
 * quantifiers with backtracking, \s = Unicode White_Space, \p{..} general
 * categories from utf8proc). Bytes that are not valid UTF-8 count as single
 * characters of no class (they match [^\s\p{L}\p{N}]). */
#ifndef BONSAI_PRETOK_H
#define BONSAI_PRETOK_H

#include <stddef.h>

typedef enum {
	PRETOK_NONE = 0, /* the whole text is one piece */
	PRETOK_R50K,     /* GPT-2 / r50k_base / p50k_base */
	PRETOK_CL100K,   /* cl100k_base (also Llama 3) */
	PRETOK_O200K,    /* o200k_base */
	PRETOK_REGEX     /* any other: matched by PCRE2 (pretok_pcre.h), not here */
} pretok_kind;

/* The regex source text of a pattern (as tiktoken spells it). */
const char *pretok_pattern_text(pretok_kind k);
/* A pattern given by name (r50k_base, gpt2, cl100k_base, o200k_base, ...) or
 * by its exact regex text; -1 when unknown. */
int pretok_lookup(const char *name_or_regex);

/* Fills the class tables; tokenizer_load calls it, so that threads that
 * encode later only read them. */
void pretok_init(void);

/* The end of the piece that starts at s[i] (i < n); always > i. */
size_t pretok_next(pretok_kind k, const unsigned char *s, size_t n, size_t i);

#endif
