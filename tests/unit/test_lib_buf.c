/* The growable buffer: what it holds, and a checked buffer's out-of-memory
 * report (the allocation made to fail, tests/unit/failalloc.h). */
#include "buf.h"
#include "cli.h"
#include "failalloc.h"

/* Builds a text longer than the first few growths in a checked buffer. */
static int build_text(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	buf_t b = BUF_CHECKED;
	for (int i = 0; i < 200; i++)
		buf_printf(&b, "%d,", i);
	buf_puts(&b, "end");
	const char *s = buf_cstr(&b);
	int r = 0;
	if (!s)
		r = errf(err, errlen, "out of memory for a text");
	else if (strncmp(s, "0,1,2,", 6) != 0 || strcmp(s + b.len - 7, "199,end") != 0)
		r = errf(err, errlen, "wrong text");
	buf_free(&b);
	return r;
}

int main(void)
{
	buf_t b = { 0 };
	buf_puts(&b, "ab");
	buf_putc(&b, 'c');
	buf_printf(&b, "%d", 42);
	buf_append(&b, "\0z", 2);
	ok(b.len == 7 && memcmp(b.data, "abc42\0z", 7) == 0, "appends keep bytes, NUL included");
	buf_free(&b);

	long n = failalloc_sweep("a checked buffer", build_text, NULL);
	ok(n >= 3, "the text needed several growths (%ld)", n);

	/* after a failure the buffer keeps what it had and takes nothing more */
	buf_t c = BUF_CHECKED;
	buf_puts(&c, "kept");
	failalloc_left = 0;
	int r1 = buf_reserve(&c, 1000);
	failalloc_left = -1;
	int r2 = buf_puts(&c, "x");
	ok(r1 == -1 && r2 == -1 && c.failed && c.len == 4 && memcmp(c.data, "kept", 4) == 0,
	   "a failed growth keeps the contents and refuses later additions");
	ok(buf_cstr(&c) == NULL, "buf_cstr of a failed buffer is NULL");
	buf_free(&c);
	ok(buf_puts(&c, "again") == 0 && strcmp(buf_cstr(&c), "again") == 0, "a freed buffer is usable again");
	buf_free(&c);

	/* buf_take hands the text over and leaves the buffer empty */
	buf_t t = BUF_CHECKED;
	buf_puts(&t, "taken");
	size_t len = 0;
	char *text = buf_take(&t, &len);
	ok(text && strcmp(text, "taken") == 0 && len == 5 && !t.data && t.len == 0,
	   "buf_take: the NUL-terminated text and its length; the buffer empty");
	free(text);
	buf_puts(&t, "kept");
	failalloc_left = 0;
	buf_reserve(&t, 1000);
	failalloc_left = -1;
	len = 99;
	ok(buf_take(&t, &len) == NULL && !t.data && !t.failed && len == 99,
	   "buf_take of a failed buffer: NULL, the buffer freed, len untouched");
	return done_testing();
}
