/* test_tokenize_api.c - the tokenizer API beyond the reference cases:
 * empty text, bytes that are not UTF-8, a 1 MB piece (time-bounded: the
 * merge loop must not be quadratic), that cutting Gemma's text into words
 * and the piece cache change nothing, fingerprints, token bytes. */
#include "tap.h"
#include "bpe.h"
#include "cli.h"
#include "tokenizer.h"
#include "tokenizer_test.h"
#include "tokenizer_internal.h"
#include "xio.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int same_ids(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static int roundtrip(const tokenizer *t, const char *s, size_t n)
{
	uint32_t *ids = NULL;
	size_t k = 0, cap = 0, dl;
	tokenizer_encode(t, s, n, &ids, &k, &cap, NULL, 0);
	char *d = tokenizer_decode(t, ids, k, &dl, NULL, 0);
	int ok_ = dl == n && memcmp(d, s, n) == 0;
	free(d);
	free(ids);
	return ok_;
}

/* Encoding a long text with Gemma's word cutting and without. */
static void check_word_cut(tokenizer *t, const char *text, size_t len)
{
	uint32_t *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, ca = 0, cb = 0;
	for (size_t o = 0; o < len; o += 5000)
		tokenizer_encode(t, text + o, o + 5000 > len ? len - o : 5000, &a, &na, &ca, NULL, 0);
	uint32_t saved = t->word_cp;
	t->word_cp = 0;
	t->serial += 1000000; /* a cache of its own */
	for (size_t o = 0; o < len; o += 5000)
		tokenizer_encode(t, text + o, o + 5000 > len ? len - o : 5000, &b, &nb, &cb, NULL, 0);
	t->word_cp = saved;
	t->serial -= 1000000;
	ok(saved != 0, "gemma3 cuts text into words at U+2581");
	ok(same_ids(a, na, b, nb), "gemma3: tinyshakespeare gives the same %zu ids with and without word cutting and cache", na);
	free(a);
	free(b);
}

/* More distinct words than the piece cache holds (256 Ki), every fourth
 * one of 2,000 frequent words: the cache drops its least-hit entries and
 * moves the others, and its ids must stay those of encoding without it
 * (no word cutting: pieces too long to cache). Twice over, the second time
 * from what the first kept. */
static void check_cache_full(tokenizer *t)
{
	size_t nw = 420000, len = 0;
	char *text = xmalloc(nw * 8);
	for (size_t i = 0; i < nw; i++) {
		size_t w = i % 4 == 0 ? i / 4 % 2000 : i;
		text[len++] = ' ';
		do {
			text[len++] = (char)('a' + w % 26);
			w /= 26;
		} while (w);
	}
	uint32_t *a = NULL, *b = NULL, *r = NULL;
	size_t na = 0, nb = 0, nr = 0, ca = 0, cb = 0, cr = 0;
	t->serial += 2000000; /* an empty cache */
	for (size_t o = 0; o < len; o += 5000)
		tokenizer_encode(t, text + o, o + 5000 > len ? len - o : 5000, &a, &na, &ca, NULL, 0);
	for (size_t o = 0; o < len; o += 5000)
		tokenizer_encode(t, text + o, o + 5000 > len ? len - o : 5000, &b, &nb, &cb, NULL, 0);
	uint32_t saved = t->word_cp;
	t->word_cp = 0;
	for (size_t o = 0; o < len; o += 5000)
		tokenizer_encode(t, text + o, o + 5000 > len ? len - o : 5000, &r, &nr, &cr, NULL, 0);
	t->word_cp = saved;
	t->serial -= 2000000;
	ok(same_ids(a, na, r, nr), "gemma3: %zu words through a full piece cache give the ids of no cache", nw);
	ok(same_ids(b, nb, r, nr), "gemma3: ... and again from the entries the cache kept");
	free(a);
	free(b);
	free(r);
	free(text);
}

/* The merge loop alone: the heap path equals the scan path. ids: a=1 b=2;
 * (a,a)->3 rank 0, (3,b)->4 rank 1, (b,b)->5 rank 2, (a,b)->6 rank 3. */
static void check_merge_loop(bpe_table *m)
{
	bpe_table_put(m, 1, 1, 0, 3, NULL, 0);
	bpe_table_put(m, 3, 2, 1, 4, NULL, 0);
	bpe_table_put(m, 2, 2, 2, 5, NULL, 0);
	bpe_table_put(m, 1, 2, 3, 6, NULL, 0);
	bpe_scratch s = { 0 };
	uint32_t small[] = { 1, 1, 1, 2, 2, 1, 2 };
	size_t n = 7;
	bpe_merge(m, small, &n, &s, NULL, 0);
	uint32_t want[] = { 3, 1, 5, 6 }; /* (1,1) at 0, then (2,2), then (1,2) */
	ok(same_ids(small, n, want, 4), "bpe: lowest rank first, leftmost on ties");
	/* the same sequence 20 times (over the scan limit) takes the heap */
	uint32_t big[140], ref[140];
	for (int r = 0; r < 20; r++)
		memcpy(big + 7 * r, (uint32_t[]){ 1, 1, 1, 2, 2, 1, 2 }, 7 * sizeof(uint32_t));
	memcpy(ref, big, sizeof big);
	size_t nb = 140;
	bpe_merge(m, big, &nb, &s, NULL, 0);
	/* reference: repeated scans, one merge at a time (quadratic, fine here) */
	size_t nr = 140;
	for (;;) {
		size_t best = SIZE_MAX;
		uint32_t bv = BPE_NONE, v;
		for (size_t i = 0; i + 1 < nr; i++)
			if ((v = bpe_rank(m, ref[i], ref[i + 1])) < bv)
				bv = v, best = i;
		if (best == SIZE_MAX)
			break;
		ref[best] = m->merged[bv];
		memmove(ref + best + 1, ref + best + 2, (nr - best - 2) * sizeof *ref);
		nr--;
	}
	ok(same_ids(big, nb, ref, nr), "bpe: the heap path equals one-merge-at-a-time (%zu symbols)", nb);
	bpe_scratch_free(&s);
}

/* A bad tokenizer file comes back as NULL and a message that names it
 * (the library never exits). */
static void check_refusals(void)
{
	static const struct { const char *name, *text, *want; } bad[] = {
		{ "nojson.json", "{\"model\": ", "nojson.json: " },
		{ "nomodel.json", "{\"x\": 1}", "no \"model\"" },
		{ "badmerge.json", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a b\"],"
		  "\"unk_token\":\"a\"}}", "merge 0: \"b\" is not in the vocabulary" },
		{ "nobytes.json", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
		  "no token (no byte fallback) and there is no unk token" },
		{ "bad.tiktoken", "YQ== 0\nnot base64!\n", "bad.tiktoken:2: " },
	};
	char dir[] = "/tmp/bonsai-tok-XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char p[4200], err[512] = "";
		snprintf(p, sizeof p, "%s/%s", dir, bad[i].name);
		FILE *f = fopen(p, "w");
		fputs(bad[i].text, f);
		fclose(f);
		tokenizer *t = tokenizer_load(p, strstr(p, ".tiktoken") ? "r50k_base" : NULL, err, sizeof err);
		ok(!t && strstr(err, bad[i].name) && strstr(err, bad[i].want),
		   "%s is refused with a message: %s", bad[i].name, err);
		tokenizer_free(t);
		remove(p);
	}
	char err[512] = "";
	tokenizer *t = tokenizer_load("/nonexistent/tok.json", NULL, err, sizeof err);
	ok(!t && strstr(err, "/nonexistent/tok.json"), "a missing file: %s", err);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	(void)argc;
	cli_init(argv[0]);
	use_test_cache();

	check_refusals();

	/* once with the packed merge table, once with the wide one */
	{
		bpe_table tabs[2];
		bpe_table_init(&tabs[0], 7, 4, 4, NULL, 0);
		bpe_table_init(&tabs[1], 1u << 31, 4, 4, NULL, 0);
		ok(!tabs[0].wide && tabs[1].wide, "bpe: a packed and a wide merge table");
		for (int w = 0; w < 2; w++) {
			check_merge_loop(&tabs[w]);
			bpe_table_free(&tabs[w]);
		}
	}

	char gp[4096], rp[4096], cp[4096], sp[4096];
	snprintf(gp, sizeof gp, "%s/fixtures/tokenizers/gemma3/tokenizer.json", shared_dir());
	snprintf(rp, sizeof rp, "%s/fixtures/tokenizers/tiktoken/r50k_base.tiktoken", shared_dir());
	snprintf(cp, sizeof cp, "%s/fixtures/tokenizers/tiktoken/cl100k_base.tiktoken", shared_dir());
	snprintf(sp, sizeof sp, "%s/fixtures/text/tinyshakespeare.txt", shared_dir());
	FILE *f = fopen(gp, "r");
	if (!f) {
		printf("# SKIP %s not found: only the merge loop was tested\n", gp);
		return done_testing();
	}
	fclose(f);
	tokenizer *tg = load_or_die(gp, NULL), *tr = load_or_die(rp, NULL);
	tokenizer *tc = load_or_die(cp, NULL);
	tokenizer *all[] = { tg, tr, tc };
	const char *names[] = { "gemma3", "r50k_base", "cl100k_base" };

	is_int(tokenizer_bos(tg), 2, "gemma3 <bos> = 2");
	is_int(tokenizer_eos(tg), 1, "gemma3 <eos> = 1");
	is_int(tokenizer_bos(tr), 50256, "r50k_base BOS = <|endoftext|> = 50256");
	ok(tokenizer_fingerprint(tg) != tokenizer_fingerprint(tr) &&
	   tokenizer_fingerprint(tr) != tokenizer_fingerprint(tc), "fingerprints differ between tokenizers");
	tokenizer *tr2 = load_or_die(rp, "r50k_base");
	ok(tokenizer_fingerprint(tr) == tokenizer_fingerprint(tr2), "the same file loads to the same fingerprint");
	tokenizer_free(tr2);

	for (int k = 0; k < 3; k++) {
		tokenizer *t = all[k];
		uint32_t *ids = NULL;
		size_t n = 0, cap = 0;
		tokenizer_encode(t, "", 0, &ids, &n, &cap, NULL, 0);
		is_int(n, 0, "%s: empty text, no ids", names[k]);
		/* not UTF-8: a lone continuation byte, a truncated sequence, an
		 * overlong encoding, a surrogate, 0xFF */
		static const char bad[] = "ok\x80 x\xe2\x82 y\xc0\xaf z\xed\xa0\x80 \xff\xfe end";
		ok(roundtrip(t, bad, sizeof bad - 1), "%s: bytes that are not UTF-8 decode back to themselves", names[k]);
		static const char nul[] = "a\0b";
		ok(roundtrip(t, nul, 3), "%s: a NUL byte round-trips", names[k]);
		free(ids);
	}

	/* 1 MB without a space: one piece; must be far from quadratic */
	size_t big = 1 << 20;
	char *text = xmalloc(big);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < big; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		text[i] = (char)('a' + x % 26);
	}
	for (int k = 0; k < 3; k++) {
		double t0 = now_seconds();
		int rt = roundtrip(all[k], text, big);
		double dt = now_seconds() - t0;
		ok(rt, "%s: 1 MB of letters without a space round-trips", names[k]);
		ok(dt < 20, "%s: ... in %.2f s (quadratic would take minutes)", names[k], dt);
	}
	free(text);

	char tb[256];
	size_t l = tokenizer_token_bytes(tg, 2, tb, sizeof tb, NULL, 0);
	ok(l == 5 && memcmp(tb, "<bos>", 5) == 0, "gemma3 token 2 is written as <bos>");
	l = tokenizer_token_bytes(tg, 236743, tb, sizeof tb, NULL, 0);
	(void)l;
	uint32_t *ids = NULL;
	size_t n = 0, cap = 0;
	tokenizer_encode(tg, "\xff", 1, &ids, &n, &cap, NULL, 0);
	l = n == 1 ? tokenizer_token_bytes(tg, ids[0], tb, sizeof tb, NULL, 0) : 0;
	ok(n == 1 && l == 1 && (unsigned char)tb[0] == 0xff, "gemma3: byte 0xFF is its byte-fallback token, written as that byte");
	free(ids);

	f = fopen(sp, "r");
	if (f) {
		fclose(f);
		size_t len;
		char *s = read_file(sp, &len);
		check_word_cut(tg, s, len);
		free(s);
	}
	double t0 = now_seconds();
	check_cache_full(tg);
	printf("# the full-cache check took %.2f s\n", now_seconds() - t0);
	for (int k = 0; k < 3; k++)
		tokenizer_free(all[k]);
	return done_testing();
}
