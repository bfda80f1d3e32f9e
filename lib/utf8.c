/* utf8.c - see utf8.h. */
#include "utf8.h"

size_t utf8_repair(const char *s, size_t n, buf_t *out)
{
	size_t i = 0, run = 0, repl = 0; /* s[run..i) is well-formed, not yet copied */
	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		int32_t cp;
		size_t k = utf8_decode(s + i, n - i, &cp);
		if (cp < 0) {
			buf_append(out, s + run, i - run);
			buf_append(out, UTF8_REPLACEMENT, 3);
			repl++;
			run = i + k;
		}
		i += k;
	}
	buf_append(out, s + run, n - run);
	return repl;
}
