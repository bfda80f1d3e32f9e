/* evaltext.c - see evaltext.h. */
#include "evaltext.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "buf.h"

int py_isspace(int32_t c)
{
	if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f))
		return 1;
	if (c < 0x85)
		return 0;
	return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
	       c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Decodes one code point at s[i..n); an invalid byte decodes as itself
 * (never whitespace, never a letter) with length 1. */
static size_t next_cp(const char *s, size_t i, size_t n, int32_t *cp)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
					      (utf8proc_ssize_t)(n - i), &c);
	if (k <= 0) {
		*cp = -1;
		return 1;
	}
	*cp = c;
	return (size_t)k;
}

size_t py_rstrip_len(const char *s, size_t n)
{
	/* Whitespace code points are 1 to 3 bytes long: scan forward and
	 * remember where the last non-space character ended. */
	size_t i = 0, keep = 0;
	while (i < n) {
		int32_t c;
		size_t k = next_cp(s, i, n, &c);
		i += k;
		if (!py_isspace(c))
			keep = i;
	}
	return keep;
}

char *py_strip(const char *s)
{
	size_t n = strlen(s), i = 0;
	while (i < n) {
		int32_t c;
		size_t k = next_cp(s, i, n, &c);
		if (!py_isspace(c))
			break;
		i += k;
	}
	size_t end = i + py_rstrip_len(s + i, n - i);
	return strndup(s + i, end - i);
}

static void put_cp(buf_t *b, int32_t c)
{
	utf8proc_uint8_t tmp[4];
	utf8proc_ssize_t k = utf8proc_encode_char(c, tmp);
	buf_append(b, tmp, (size_t)k);
}

char *py_capitalize(const char *s)
{
	size_t n = strlen(s), i = 0;
	buf_t b = BUF_CHECKED;
	buf_reserve(&b, n + 1);
	while (i < n) {
		int32_t c;
		size_t k = next_cp(s, i, n, &c);
		if (c < 0)
			buf_append(&b, s + i, 1);
		else
			put_cp(&b, i == 0 ? utf8proc_totitle(c) : utf8proc_tolower(c));
		i += k;
	}
	return buf_take(&b, NULL);
}

size_t py_len(const char *s, size_t n)
{
	size_t i = 0, count = 0;
	while (i < n) {
		int32_t c;
		i += next_cp(s, i, n, &c);
		count++;
	}
	return count;
}

char *hellaswag_preprocess(const char *s)
{
	char *t = py_strip(s);
	if (!t)
		return NULL;
	size_t n = strlen(t);
	buf_t a = BUF_CHECKED, b = BUF_CHECKED;
	buf_reserve(&a, n + 1);
	buf_reserve(&b, n + 1);

	/* text.replace(" [title]", ". ") */
	for (size_t i = 0; i < n;) {
		if (strncmp(t + i, " [title]", 8) == 0) {
			buf_append(&a, ". ", 2);
			i += 8;
		} else {
			buf_putc(&a, t[i++]);
		}
	}
	/* re.sub("\\[.*?\\]", "", text): from each '[', the nearest ']' on the
	 * same line; a '[' with none stays. */
	for (size_t i = 0; i < a.len;) {
		if (a.data[i] == '[') {
			size_t j = i + 1;
			while (j < a.len && a.data[j] != ']' && a.data[j] != '\n')
				j++;
			if (j < a.len && a.data[j] == ']') {
				i = j + 1;
				continue;
			}
		}
		buf_putc(&b, a.data[i++]);
	}
	/* text.replace("  ", " "): one left-to-right pass, so four spaces
	 * become two. */
	a.len = 0;
	for (size_t i = 0; i < b.len;) {
		if (i + 1 < b.len && b.data[i] == ' ' && b.data[i + 1] == ' ') {
			buf_putc(&a, ' ');
			i += 2;
		} else {
			buf_putc(&a, b.data[i++]);
		}
	}
	int failed = a.failed || b.failed;
	buf_free(&b);
	free(t);
	if (failed) {
		buf_free(&a);
		return NULL;
	}
	return buf_take(&a, NULL);
}

char *str_cat(const char *first, ...)
{
	buf_t b = BUF_CHECKED;
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		buf_puts(&b, s);
	va_end(ap);
	return buf_take(&b, NULL);
}
