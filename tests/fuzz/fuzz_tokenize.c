/* fuzz_tokenize.c - libFuzzer target for the tokenizer: the first byte
 * picks what the rest is:
 *   0: a tokenizer.json (the loader must refuse it cleanly or load it; a
 *      loaded one must encode and decode a sample text back exactly);
 *   1, 2, 3: text for r50k_base, o200k_base and gemma3: decode(encode(x))
 *      must be x, whatever the bytes;
 *   4: a JSON Lines document: parsed as encode parses it, its text then as 1;
 *   5: a .tiktoken ranks file with r50k_base's pattern (refused with a
 *      message, or loaded: then a sample text must decode back exactly).
 * A refused tokenizer.json comes back as NULL with a message, so leaks are
 * bugs too.
 * Build and run (from the project root, ../shared present; tests/fuzz/fuzz.mk):
 *   make fuzz && build/fuzz/fuzz_tokenize -close_fd_mask=2 -max_len=4096 CORPUS_DIR
 * (the corpus: a minimal tokenizer.json prefixed by byte 0, texts prefixed
 * by 1, 2 or 3, a JSON line prefixed by 4). */
#include "cli.h"
#include "json.h"
#include "tokenizer.h"
#include "tokenizer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tokenizer *tok[3];

/* decode(encode(s)) must be s; with Gemma's lossy normalizer, s with each
 * U+2581 turned into the space it decodes to. */
static void roundtrip(const tokenizer *t, const char *s, size_t n, int lossy)
{
	uint32_t *ids = NULL;
	size_t k = 0, cap = 0, dl, wl = 0;
	char *want = malloc(n + 1);
	for (size_t i = 0; i < n;) {
		if (lossy && i + 3 <= n && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
			want[wl++] = ' ';
			i += 3;
		} else {
			want[wl++] = s[i++];
		}
	}
	if (tokenizer_encode(t, s, n, &ids, &k, &cap, NULL, 0) < 0)
		abort(); /* the fixtures' patterns are all built in: nothing to fail */
	char *d = tokenizer_decode(t, ids, k, &dl, NULL, 0);
	if (dl != wl || memcmp(d, want, wl) != 0)
		abort();
	free(want);
	free(d);
	free(ids);
}

/* A loaded tokenizer encodes a sample; with exact set, one whose pattern
 * is built in (nothing to fail) must also decode it back byte for byte.
 * Frees t. */
static void encode_sample(tokenizer *t, const char *path, int exact)
{
	t->path = strdup(path);
	static uint64_t serial = 1ull << 40; /* tokenizer_load's job: a cache of its own */
	t->serial = ++serial;
	static const char sample[] = "Hello, world! 123 \xe2\x96\x81 <bos>\n\n caf\xc3\xa9 \xff";
	uint32_t *ids = NULL;
	size_t k = 0, cap = 0, dl;
	/* a fuzzed regex may meet one of PCRE2's limits: an error, no crash */
	int rc = tokenizer_encode(t, sample, sizeof sample - 1, &ids, &k, &cap, NULL, 0);
	if (exact && rc)
		abort();
	if (rc == 0) {
		char *d = tokenizer_decode(t, ids, k, &dl, NULL, 0);
		if (exact && (!d || dl != sizeof sample - 1 || memcmp(d, sample, dl)))
			abort();
		free(d);
	}
	free(ids);
	tokenizer_free(t);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cli_init("fuzz_tokenize");
	const char *sh = getenv("BONSAI_SHARED") ? getenv("BONSAI_SHARED") : "../shared";
	static const char *const rel[] = { "fixtures/tokenizers/tiktoken/r50k_base.tiktoken",
		"fixtures/tokenizers/tiktoken/o200k_base.tiktoken",
		"fixtures/tokenizers/gemma3/tokenizer.json" };
	for (int i = 0; i < 3; i++) {
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", sh, rel[i]);
		char err[512];
		tok[i] = tokenizer_load(p, NULL, err, sizeof err);
		if (!tok[i])
			die("%s", err);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0] % 6;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	if (mode == 0) {
		char *copy = malloc(n + 1);
		memcpy(copy, s, n);
		copy[n] = 0;
		char err[512];
		tokenizer *t = tokenizer_load_hf("fuzz.json", copy, n, err, sizeof err);
		if (!t) { /* refused with a message: fine */
			free(copy);
			return 0;
		}
		encode_sample(t, "fuzz.json", 0);
		free(copy);
	} else if (mode <= 3) {
		roundtrip(tok[mode - 1], s, n, mode == 3);
	} else if (mode == 5) {
		char err[512];
		tokenizer *t = tokenizer_load_tiktoken("fuzz.tiktoken", s, n, "r50k_base", err, sizeof err);
		if (t)
			encode_sample(t, "fuzz.tiktoken", 1);
	} else {
		char err[200];
		json_doc *d = json_parse(s, n, err, sizeof err);
		if (d) {
			const json_value *r = json_root(d);
			const json_value *v = r->type == JSON_OBJECT ? json_get(r, "text") : NULL;
			if (v && v->type == JSON_STRING)
				roundtrip(tok[0], v->str, v->len, 0);
			json_free(d);
		}
	}
	return 0;
}
