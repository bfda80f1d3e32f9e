/* buf.h - a growable byte buffer.
 *
 * A buffer made with BUF_CHECKED reports running out of memory: the call
 * that could not grow it returns -1, the buffer keeps what it had and
 * ignores every later addition (each returns -1), and buf_cstr() returns
 * NULL; library code builds its text this way and checks once at the end.
 * A zero buffer ({0}) is the tools': running out of memory ends the
 * program with a message, as xmalloc() does. */
#ifndef BONSAI_BUF_H
#define BONSAI_BUF_H

#include <stddef.h>

typedef struct {
	char *data;
	size_t len, cap;
	int checked; /* report running out of memory instead of exiting */
	int failed;  /* a checked buffer ran out: later additions are ignored */
} buf_t;

#define BUF_CHECKED { .checked = 1 }

/* Each returns 0, or -1 when a checked buffer could not grow. */
int buf_reserve(buf_t *b, size_t extra);
int buf_append(buf_t *b, const void *p, size_t n);
int buf_putc(buf_t *b, char c);
int buf_puts(buf_t *b, const char *s);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes data a NUL-terminated string (the NUL is not counted in len);
 * NULL when a checked buffer ran out of memory. */
const char *buf_cstr(buf_t *b);
/* Hands the text over, NUL-terminated, for the caller to free (len, when
 * not NULL, gets its length), and leaves b empty; NULL (b freed) when a
 * checked buffer ran out of memory. */
char *buf_take(buf_t *b, size_t *len);
void buf_free(buf_t *b);

#endif
