/* evaltext.h - the few Python str operations that lm-evaluation-harness applies
 * to prompts (strip, rstrip, capitalize, len), done the same way on UTF-8,
 * and HellaSwag's preprocess(). */
#ifndef BONSAI_EVALTEXT_H
#define BONSAI_EVALTEXT_H

#include <stddef.h>
#include <stdint.h>

/* Whether code point c is whitespace for Python's str.isspace(). */
int py_isspace(int32_t c);
/* Length in bytes of s[0..n) without its trailing whitespace (str.rstrip()). */
size_t py_rstrip_len(const char *s, size_t n);
/* The functions returning a new string return NULL when out of memory. */

/* str.strip(): a new string. */
char *py_strip(const char *s);
/* str.capitalize(): first character title-cased, the rest lower-cased. */
char *py_capitalize(const char *s);
/* len(str): code points of UTF-8 text (an invalid byte counts as one). */
size_t py_len(const char *s, size_t n);

/* lm-eval's HellaSwag preprocess(): strip, " [title]" -> ". ", delete every
 * "[...]" (shortest match, not across a newline), then one pass replacing
 * "  " with " ". Returns a new string. */
char *hellaswag_preprocess(const char *s);

/* Concatenates NULL-terminated arguments into a new string. */
char *str_cat(const char *first, ...);

#endif
