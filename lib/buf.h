/* buf.h - a growable byte buffer. */
#ifndef BONSAI_BUF_H
#define BONSAI_BUF_H

#include <stddef.h>

typedef struct {
	char *data;
	size_t len, cap;
} buf_t;

void buf_reserve(buf_t *b, size_t extra);
void buf_append(buf_t *b, const void *p, size_t n);
void buf_putc(buf_t *b, char c);
void buf_puts(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes data a NUL-terminated string (the NUL is not counted in len). */
const char *buf_cstr(buf_t *b);
void buf_free(buf_t *b);

#endif
