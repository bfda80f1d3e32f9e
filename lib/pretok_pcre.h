/* pretok_pcre.h - a pre-tokenizer pattern that is none of pretok.h's
 * built-in ones, matched by PCRE2 (compiled to machine code by its JIT
 * where the system allows, else interpreted).
 *
 * The pattern is in the syntax of tiktoken (Rust regex) and Hugging Face
 * tokenizers (Oniguruma) patterns, which PCRE2 reads alike for what these
 * patterns use, with one difference made good here: PCRE2's \s (and so
 * \S) also takes U+180E MONGOLIAN VOWEL SEPARATOR, which is not Unicode
 * White_Space; the pattern is rewritten so that \s means White_Space. */
#ifndef BONSAI_PRETOK_PCRE_H
#define BONSAI_PRETOK_PCRE_H

#include <stddef.h>

typedef struct pretok_regex pretok_regex;

/* The compiled pattern[0..len), or NULL with PCRE2's message and the
 * offset it points at in err. */
pretok_regex *pretok_regex_new(const char *pattern, size_t len, char *err, size_t errlen);
void pretok_regex_free(pretok_regex *r);
/* The pattern as given (NUL-terminated) and its length. */
const char *pretok_regex_text(const pretok_regex *r, size_t *len);

/* The first non-empty match in s[i..n): its start in *start and its end
 * returned; *start = n and n returned when there is none. Safe to call from
 * several threads at once (each thread has its own match state). Bytes
 * that are not valid UTF-8 match nothing. */
size_t pretok_regex_next(const pretok_regex *r, const unsigned char *s, size_t n, size_t i,
			 size_t *start);

#endif
