/* pretok_speed.c - the pre-tokenizer alone: MB/s of cutting a text into
 * pieces with a built-in matcher (lib/pretok.c) and with PCRE2
 * (lib/pretok_pcre.c) on the same pattern's text, best of 5 passes.
 *   cc -O2 -Ilib bench/pretok_speed.c build/libbonsai.a -lutf8proc -lpcre2-8 \
 *      -lzstd -lbz2 -lm -lpthread -o /tmp/pretok_speed
 *   /tmp/pretok_speed FILE [cl100k_base|o200k_base|r50k_base]
 * Also checks that both give the same pieces. */
#include "cli.h"
#include "pretok.h"
#include "pretok_pcre.h"
#include "tokenizer.h"
#include "xio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
	cli_init("pretok_speed");
	if (argc < 2)
		die("usage: pretok_speed FILE [PATTERN-NAME]");
	size_t n;
	char err[512];
	unsigned char *s = (unsigned char *)read_file(argv[1], &n);
	int k = pretok_lookup(argc > 2 ? argv[2] : "cl100k_base");
	if (k < 0)
		die("unknown pattern name");
	pretok_init();
	const char *re = pretok_pattern_text(k);
	pretok_regex *r = pretok_regex_new(re, strlen(re), err, sizeof err);
	if (!r)
		die("%s", err);
	double best[2] = { 1e9, 1e9 };
	size_t pieces[2] = { 0, 0 };
	unsigned long long sum[2] = { 0, 0 };
	for (int pass = 0; pass < 5; pass++) {
		for (int m = 0; m < 2; m++) {
			double t0 = now();
			size_t np = 0;
			unsigned long long h = 0;
			for (size_t i = 0; i < n;) {
				size_t st = i, e;
				if (m == 0)
					e = pretok_next(k, s, n, i);
				else if (pretok_regex_next(r, s, n, i, &st, &e, err, sizeof err) < 0)
					die("%s", err);
				h = h * 31 + e + st;
				np++;
				i = e;
			}
			double dt = now() - t0;
			if (dt < best[m])
				best[m] = dt;
			pieces[m] = np, sum[m] = h;
		}
	}
	printf("%s: %zu bytes; built-in %.1f MB/s, PCRE2 %.1f MB/s; pieces %zu / %zu%s\n",
	       argc > 2 ? argv[2] : "cl100k_base", n, n / best[0] / 1e6, n / best[1] / 1e6,
	       pieces[0], pieces[1], sum[0] == sum[1] ? " (the same)" : " (DIFFERENT)");
	pretok_regex_free(r);
	free(s);
	return 0;
}
