/* tokenizer_test.h - for the tokenizer's unit tests: a tokenizer loaded or
 * the test stopped with the loader's message. */
#ifndef BONSAI_TOKENIZER_TEST_H
#define BONSAI_TOKENIZER_TEST_H

#include "cli.h"
#include "tokenizer.h"

static inline tokenizer *load_or_die(const char *path, const char *pattern)
{
	char err[512];
	tokenizer *t = tokenizer_load(path, pattern, err, sizeof err);
	if (!t)
		die("%s", err);
	return t;
}

#endif
