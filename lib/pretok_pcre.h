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

/* The compiled pattern[0..len), or NULL with the message in err: that it
 * does not compile (PCRE2's message and the offset it points at), or that
 * memory ran out. */
pretok_regex *pretok_regex_new(const char *pattern, size_t len, char *err, size_t errlen);
void pretok_regex_free(pretok_regex *r);
/* The pattern as given (NUL-terminated) and its length. */
const char *pretok_regex_text(const pretok_regex *r, size_t *len);

/* The first non-empty match in s[i..n): its start in *start and its end in
 * *end, both n when there is none; 0, or -1 with the message in err[errlen]
 * when the match fails (a limit of PCRE2's, or no memory for the thread's
 * match state). Safe to call from several threads at once (each thread has
 * its own match state). Bytes that are not valid UTF-8 match nothing. */
int pretok_regex_next(const pretok_regex *r, const unsigned char *s, size_t n, size_t i,
		      size_t *start, size_t *end, char *err, size_t errlen);

#endif
