/* failalloc.c - LD_PRELOAD into a whole tool: the k-th malloc, calloc or
 * realloc of the process (FAILALLOC_NTH=k, from 0) returns NULL with
 * errno ENOMEM, as when memory runs out, whoever asked (our code, libc,
 * libgomp, zstd ...). FAILALLOC_COUNT=PATH: the number of allocations is
 * written there at exit, for a sweep to know its range of k.
 * tests/cli-nomem.t sweeps the tools with it; tests/unit/failalloc.h is the
 * same idea inside one unit test. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long left = -1, calls;
static int armed, in_dlsym;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
/* dlsym itself may calloc before there is a real calloc to call */
static char pool[1 << 14];
static size_t pool_used;

__attribute__((constructor)) static void init(void)
{
	const char *s = getenv("FAILALLOC_NTH");
	if (s)
		left = atol(s);
	armed = 1;
}

__attribute__((destructor)) static void report(void)
{
	const char *p = getenv("FAILALLOC_COUNT");
	if (!p)
		return;
	char line[32];
	int n = snprintf(line, sizeof line, "%ld\n", calls);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n)
			unlink(p);
		close(fd);
	}
}

static int fail_now(void)
{
	if (!armed)
		return 0;
	calls++;
	if (left < 0 || left-- > 0)
		return 0;
	errno = ENOMEM;
	return 1;
}

static void *sym(const char *name)
{
	in_dlsym = 1;
	void *p = dlsym(RTLD_NEXT, name);
	in_dlsym = 0;
	return p;
}

void *malloc(size_t n)
{
	if (!real_malloc)
		real_malloc = (void *(*)(size_t))sym("malloc");
	return fail_now() ? NULL : real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (in_dlsym) {
		size_t want = (n * size + 15) & ~(size_t)15;
		if (want > sizeof pool - pool_used)
			return NULL;
		void *p = pool + pool_used;
		pool_used += want;
		return p; /* static storage: already zero */
	}
	if (!real_calloc)
		real_calloc = (void *(*)(size_t, size_t))sym("calloc");
	return fail_now() ? NULL : real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (!real_realloc)
		real_realloc = (void *(*)(void *, size_t))sym("realloc");
	return fail_now() ? NULL : real_realloc(p, n);
}

void free(void *p)
{
	if ((char *)p >= pool && (char *)p < pool + sizeof pool)
		return;
	if (!real_free)
		real_free = (void (*)(void *))sym("free");
	real_free(p);
}
