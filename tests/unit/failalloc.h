/* failalloc.h - allocation failures on demand, for the unit tests that show
 * a library function returns an error when memory runs out (instead of
 * exiting, crashing or leaking). A test that includes this header is linked
 * with -Wl,--wrap for the allocation functions (FAILALLOC_LIBS in the
 * Makefile: set TEST_<name>_LIBS := $(FAILALLOC_LIBS) in a module.mk), so
 * that every allocation the project's own code makes goes through here;
 * the libraries it uses (zstd, libc's own) allocate as usual.
 *
 * failalloc_sweep() runs a call with its first allocation failing, then
 * its second, and so on until a run makes no failure; each failed run must
 * return -1 with "out of memory" in its message. Leaks on those paths are
 * AddressSanitizer's to find (make check-asan). */
#ifndef BONSAI_FAILALLOC_H
#define BONSAI_FAILALLOC_H

#include "tap.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_reallocarray(void *p, size_t n, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

/* Allocations left before the one that fails; -1: none fails. */
static long failalloc_left = -1;
static int failalloc_hit;

static int failalloc_fail_now(void)
{
	if (failalloc_left < 0)
		return 0;
	if (failalloc_left-- > 0)
		return 0;
	failalloc_hit = 1;
	return 1;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n) { return failalloc_fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
	return failalloc_fail_now() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n) { return failalloc_fail_now() ? NULL : __real_realloc(p, n); }
void *__wrap_reallocarray(void *p, size_t n, size_t size);
void *__wrap_reallocarray(void *p, size_t n, size_t size)
{
	return failalloc_fail_now() ? NULL : __real_reallocarray(p, n, size);
}
char *__wrap_strdup(const char *s);
char *__wrap_strdup(const char *s) { return failalloc_fail_now() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n);
char *__wrap_strndup(const char *s, size_t n)
{
	return failalloc_fail_now() ? NULL : __real_strndup(s, n);
}

/* A call under test: 0 when it worked, -1 with a message in err. It must
 * undo what it did before returning (free what it made), so that it can
 * run again; ctx is the test's. */
typedef int (*failalloc_fn)(void *ctx, char *err, size_t errlen);

/* Runs fn with allocation 0, 1, 2, ... failing until a run needs no
 * failure, then once more with none failing; one TAP line for the lot,
 * and a diagnostic for the first run that went wrong. Returns the number
 * of allocations the successful run made (0 when the sweep failed). */
static long failalloc_sweep(const char *what, failalloc_fn fn, void *ctx)
{
	char err[512];
	long k;
	for (k = 0; k < 1000000; k++) {
		err[0] = '\0';
		failalloc_hit = 0;
		failalloc_left = k;
		int r = fn(ctx, err, sizeof err);
		failalloc_left = -1;
		if (!failalloc_hit) {
			if (!ok(r == 0, "%s: returns an error when any of its %ld allocations fails", what, k)) {
				printf("#   with no failure it returned %d: %s\n", r, err);
				return 0;
			}
			return k;
		}
		if (r != -1 || !strstr(err, "out of memory")) {
			ok(0, "%s: returns an error when any of its allocations fails", what);
			printf("#   allocation %ld failed: returned %d, message '%s'\n", k, r, err);
			return 0;
		}
	}
	ok(0, "%s: more than %ld allocations", what, k);
	return 0;
}

#endif
