/* buf.c - see buf.h. */
#include "buf.h"
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int out_of_memory(buf_t *b, size_t extra)
{
	if (!b->checked)
		die("out of memory (buffer of %zu + %zu bytes)", b->len, extra);
	b->failed = 1;
	return -1;
}

int buf_reserve(buf_t *b, size_t extra)
{
	if (b->failed)
		return -1;
	if (extra > SIZE_MAX - b->len - 1)
		return out_of_memory(b, extra);
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *data = realloc(b->data, cap);
	if (!data)
		return out_of_memory(b, extra);
	b->data = data;
	b->cap = cap;
	return 0;
}

int buf_append(buf_t *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_putc(buf_t *b, char c)
{
	if (buf_reserve(b, 1))
		return -1;
	b->data[b->len++] = c;
	return 0;
}

int buf_puts(buf_t *b, const char *s) { return buf_append(b, s, strlen(s)); }

int buf_printf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("internal error: bad format");
	if (buf_reserve(b, (size_t)n))
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *buf_cstr(buf_t *b)
{
	if (buf_reserve(b, 0))
		return NULL;
	b->data[b->len] = '\0';
	return b->data;
}

char *buf_take(buf_t *b, size_t *len)
{
	char *text = NULL;
	if (buf_cstr(b)) {
		text = b->data;
		if (len)
			*len = b->len;
		b->data = NULL;
	}
	buf_free(b);
	return text;
}

void buf_free(buf_t *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}
