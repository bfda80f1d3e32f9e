/* tokenizer_test.h - for the tokenizer's unit tests: a tokenizer loaded or
 * the test stopped with the loader's message, and a cache folder of the
 * test's own. */
#ifndef BONSAI_TOKENIZER_TEST_H
#define BONSAI_TOKENIZER_TEST_H

#include "cli.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>

static inline tokenizer *load_or_die(const char *path, const char *pattern)
{
	char err[512];
	tokenizer *t = tokenizer_load(path, pattern, err, sizeof err);
	if (!t)
		die("%s", err);
	return t;
}

static char test_cache_dir[] = "/tmp/bonsai-test-cache-XXXXXX";

static inline void test_cache_remove(void)
{
	char cmd[sizeof test_cache_dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_cache_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", test_cache_dir);
}

/* Compiled tokenizers go to a temporary folder (BONSAI_CACHE) removed at
 * exit, not into the user's cache: a test neither leaves files there nor
 * depends on what an earlier run left. */
static inline void use_test_cache(void)
{
	if (!mkdtemp(test_cache_dir))
		die("mkdtemp: cannot make a folder in /tmp");
	setenv("BONSAI_CACHE", test_cache_dir, 1);
	atexit(test_cache_remove);
}

#endif
