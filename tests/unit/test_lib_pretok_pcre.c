/* The pre-tokenizer patterns PCRE2 matches (lib/pretok_pcre.c): \s and \S
 * mean Unicode White_Space and its complement, in and out of classes, and
 * the rewrite that makes them so leaves alone what only looks like them:
 * \Q..\E quoting, a ] first in a class (plain or negated), POSIX classes
 * inside a class. Each case is the pieces a pattern cuts a text into. */
#include "cli.h"
#include "pretok_pcre.h"
#include "tap.h"

#include <string.h>

/* The matches of pattern in text, each followed by '|'; or "error: ...". */
static void pieces(const char *pattern, const char *text, char *out, size_t cap)
{
	char err[256];
	out[0] = '\0';
	pretok_regex *r = pretok_regex_new(pattern, strlen(pattern), err, sizeof err);
	if (!r) {
		snprintf(out, cap, "error: %s", err);
		return;
	}
	size_t n = strlen(text), i = 0, start, end, used = 0;
	while (i < n) {
		if (pretok_regex_next(r, (const unsigned char *)text, n, i, &start, &end, err,
				      sizeof err)) {
			snprintf(out, cap, "error: %s", err);
			break;
		}
		if (start == n)
			break;
		used += (size_t)snprintf(out + used, cap - used, "%.*s|", (int)(end - start),
					 text + start);
		if (used >= cap)
			break;
		i = end;
	}
	pretok_regex_free(r);
}

static void cuts(const char *pattern, const char *text, const char *want, const char *why)
{
	char got[512];
	pieces(pattern, text, got, sizeof got);
	is_str(got, want, "%s: /%s/", why, pattern);
}

/* U+3000 IDEOGRAPHIC SPACE (White_Space), U+180E MONGOLIAN VOWEL
 * SEPARATOR (not White_Space, though PCRE2's \s takes it) */
#define IDEO "\xe3\x80\x80"
#define MVS "\xe1\xa0\x8e"

int main(void)
{
	cli_init("test_lib_pretok_pcre");
	cuts("\\s+", "a" IDEO "b c", IDEO "| |", "\\s is White_Space");
	cuts("\\s+", "a" MVS "b", "", "\\s does not take U+180E");
	cuts("\\S+", "a" MVS "b c", "a" MVS "b|c|", "\\S takes U+180E");
	cuts("[\\s]+", "a" IDEO " b", IDEO " |", "\\s inside a class");
	cuts("[^\\s]+", "a" MVS "b c", "a" MVS "b|c|", "\\s inside a negated class");
	cuts("\\Q\\s\\E", "x\\sy z", "\\s|", "\\Q\\s\\E is the two characters");
	cuts("a\\Q[\\s", "a[\\s a", "a[\\s|", "\\Q without \\E quotes to the end");
	cuts("[]\\s]+", "a] b]", "] |]|", "] first in a class is a character, \\s after it in the class");
	cuts("[^]\\s]+", "]a b]", "a|b|", "] first in a negated class");
	cuts("[[:alpha:]\\s]+", "ab c1 d", "ab c| d|", "a POSIX class, then \\s in the same class");
	cuts("[\\]\\s]+", "x] y", "] |", "an escaped ] stays in the class");
	char got[512];
	pieces("(", "x", got, sizeof got);
	ok(strstr(got, "error: ") == got && strlen(got) > 8, "a pattern that does not compile: an error saying why: %s", got);
	return done_testing();
}
