/* test_lib_nomem_tok.c - the tokenizer library returns errors instead of
 * exiting: every allocation of loading (a Hugging Face tokenizer.json of
 * each kind, a .tiktoken with the .json beside it, the compiled form in the
 * cache, written and read), encoding, decoding, the tokenizer.json writer
 * and the tokenizer folder's functions is made to fail in turn
 * (failalloc.h), and each must come back as -1 with "out of memory"; a
 * full disk is a write error; the limits that used to end the program
 * (a merge out of the table, a piece too long to merge, a token too long
 * for the tables, a pre-tokenizer regex failing on a text) are errors with
 * their messages.
 *
 * Encoding is swept on this one thread: the library's encoder has no
 * parallel region of its own (bonsai-tokenize encodes documents in
 * parallel, each call on one thread), and failalloc's counter is not
 * thread-safe.
 *
 * The sweeps include the allocations of what loading calls in lib/json.c
 * and lib/evaldir.c. The fixtures are written here: nothing of ../shared
 * is needed. */
#include "buf.h"
#include "cli.h"
#include "failalloc.h"
#include "json.h"
#include "tokenizer.h"
#include "tokenizer_dir.h"
#include "tokenizer_internal.h"
#include "tokenizer_test.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/bonsai-nomem-tok-XXXXXX";

/* dir/name, in a static buffer of its own (the last eight kept). */
static const char *at(const char *name)
{
	static char p[8][4200];
	static int k;
	k = (k + 1) % 8;
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

static void put_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(s, 1, n, f) != n || fclose(f) != 0)
		die("%s: cannot write", path);
}

static void base64(buf_t *b, const unsigned char *s, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		buf_putc(b, a[v >> 18]);
		buf_putc(b, a[v >> 12 & 63]);
		buf_putc(b, i + 1 < n ? a[v >> 6 & 63] : '=');
		buf_putc(b, i + 2 < n ? a[v & 63] : '=');
	}
}

/* A .tiktoken: the 256 bytes, merges up to "hello" and a token of 70 a's
 * (longer than the loader hashes: its prefix trees), a pattern of its own
 * (PCRE2) and a special token in the .json beside it; pad blank lines make
 * it large enough for the compiled form. */
static void write_tiktoken(const char *name, const char *side, size_t pad)
{
	static const char *const merges[] = { "he", "ll", "llo", "hello", "aa", "aaaa", "aaaaaaaa",
		"aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL };
	buf_t b = { 0 };
	uint32_t r = 0;
	for (; r < 256; r++) {
		unsigned char c = (unsigned char)r;
		base64(&b, &c, 1);
		buf_printf(&b, " %u\n", r);
	}
	for (int i = 0; merges[i]; i++, r++) {
		base64(&b, (const unsigned char *)merges[i], strlen(merges[i]));
		buf_printf(&b, " %u\n", r);
	}
	char a[71];
	memset(a, 'a', 70);
	base64(&b, (const unsigned char *)a, 64);
	buf_printf(&b, " %u\n", r++);
	base64(&b, (const unsigned char *)a, 6);
	buf_printf(&b, " %u\n", r++);
	base64(&b, (const unsigned char *)a, 70);
	buf_printf(&b, " %u\n", r++);
	for (size_t i = 0; i < pad; i++)
		buf_putc(&b, '\n');
	put_file(at(name), b.data, b.len);
	b.len = 0;
	buf_printf(&b, "{\"pat_str\": \"'s|\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+|\\\\s+\", "
		   "\"special_tokens\": {\"<|endoftext|>\": %u}}\n", r);
	put_file(at(side), b.data, b.len);
	buf_free(&b);
}

/* A SentencePiece-style tokenizer.json (Gemma's kind): a normalizer, a
 * literal Split, characters with byte fallback, U+2581 word starts, added
 * tokens special and not, merges of both spellings; padded with spaces
 * (outside the JSON) for the compiled form. */
static void write_hf(const char *name, size_t pad)
{
	static const char *const chars[] = { "\xe2\x96\x81", "h", "e", "l", "o", "w", "r", "d",
		"\xc3\xa9", "\xe6\x97\xa5", "\xe6\x9c\xac", "he", "ll", "hell", "hello",
		"\xe2\x96\x81w", "\xe6\x97\xa5\xe6\x9c\xac", ">", ">\xe2\x96\x81", NULL };
	buf_t b = { 0 };
	buf_puts(&b, "{\"version\": \"1.0\", \"added_tokens\": [");
	static const char *const added[] = { "<pad>", "<eos>", "<bos>", "\\n\\n" };
	for (int i = 0; i < 4; i++)
		buf_printf(&b, "%s{\"id\": %d, \"content\": \"%s\", \"single_word\": false, "
			   "\"lstrip\": false, \"rstrip\": false, \"normalized\": false, "
			   "\"special\": %s}", i ? ", " : "", i, added[i], i < 3 ? "true" : "false");
	buf_puts(&b, "], \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": "
		 "\"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\xe2\x96\x81\"}]}, "
		 "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \"\xe2\x96\x81\"}, "
		 "\"behavior\": \"MergedWithNext\", \"invert\": false}, "
		 "\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", "
		 "\"pattern\": {\"String\": \"\xe2\x96\x81\"}, \"content\": \" \"}, "
		 "{\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}]}, "
		 "\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"unk_token\": \"<unk>\", "
		 "\"fuse_unk\": true, \"vocab\": {\"<pad>\": 0, \"<eos>\": 1, \"<bos>\": 2, "
		 "\"\\n\\n\": 3, \"<unk>\": 4");
	int id = 5;
	for (int c = 0; c < 256; c++)
		buf_printf(&b, ", \"<0x%02X>\": %d", c, id++);
	for (int i = 0; chars[i]; i++)
		buf_printf(&b, ", \"%s\": %d", chars[i], id++);
	buf_puts(&b, "}, \"merges\": [\"h e\", \"l l\", [\"he\", \"ll\"], \"hell o\", "
		 "\"\xe2\x96\x81 w\", \"\xe6\x97\xa5 \xe6\x9c\xac\", \"> \xe2\x96\x81\"]}}\n");
	for (size_t i = 0; i < pad; i++)
		buf_putc(&b, ' ');
	put_file(at(name), b.data, b.len);
	buf_free(&b);
}

static const char TEXT[] = "Hello, w\xc3\xb6rld! hello world \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
	"\xe2\x80\x94 \xc3\xa7" "a va? <bos>x\n\n> \xff "
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 12345";

/* What a swept call works on. */
typedef struct {
	char path[4200];
	const char *pattern;
	tokenizer *t;
	int compiled; /* 1: the load must come from the compiled form; -1: must not */
} job;

static void remove_cache(void)
{
	char cmd[sizeof test_cache_dir + 32];
	snprintf(cmd, sizeof cmd, "rm -rf '%s/tokenizers'", test_cache_dir);
	if (system(cmd) != 0)
		die("cannot empty %s", test_cache_dir);
}

static int load(void *ctx, char *err, size_t errlen)
{
	job *j = ctx;
	if (j->compiled < 0)
		remove_cache();
	tokenizer *t = tokenizer_load(j->path, j->pattern, err, errlen);
	if (!t)
		return -1;
	int rc = 0;
	if (j->compiled > 0 && !t->map)
		rc = errf(err, errlen, "%s: not loaded from its compiled form", j->path);
	if (j->t && tokenizer_fingerprint(t) != tokenizer_fingerprint(j->t))
		rc = errf(err, errlen, "%s: another fingerprint", j->path);
	tokenizer_free(t);
	return rc;
}

/* Encodes TEXT (from an empty piece cache: every merge made again) and
 * decodes it back. */
static int encode_decode(void *ctx, char *err, size_t errlen)
{
	job *j = ctx;
	j->t->serial += 1u << 20;
	uint32_t *ids = NULL;
	size_t n = 0, cap = 0, len;
	int rc = tokenizer_encode(j->t, TEXT, sizeof TEXT - 1, &ids, &n, &cap, err, errlen);
	char *d = rc == 0 ? tokenizer_decode(j->t, ids, n, &len, err, errlen) : NULL;
	if (rc == 0 && !d)
		rc = -1;
	/* the SentencePiece one's unk and byte fallback lose nothing either */
	if (d && (len != sizeof TEXT - 1 || memcmp(d, TEXT, len) != 0))
		rc = errf(err, errlen, "%s: the text does not come back: '%s'", j->path, d);
	free(d);
	free(ids);
	return rc;
}

/* After a writer's call (rc) into the empty folder out: want files there
 * on success, none on an error; rc, or -1 with what was found. The folder
 * is removed. */
static int all_or_none(const char *out, int rc, int want, char *err, size_t errlen)
{
	DIR *d = opendir(out);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	if (rc < 0 ? n > 0 : n != want) {
		char was[512];
		snprintf(was, sizeof was, "%s", rc < 0 ? err : "success");
		rc = errf(err, errlen, "%d files in %s after %s", n, out, was);
	}
	char cmd[4400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
	if (system(cmd) != 0)
		die("cannot remove %s", out);
	return rc;
}

/* The tokenizer.json of j->t into an empty folder: whole, or nothing. */
static int write_json(void *ctx, char *err, size_t errlen)
{
	job *j = ctx;
	const char *out = at("out");
	char p[4300];
	snprintf(p, sizeof p, "%s/tokenizer.json", out);
	mkdir(out, 0777);
	return all_or_none(out, tokenizer_write_hf_json(j->t, p, err, errlen), 1, err, errlen);
}

static int in_dir(void *ctx, char *err, size_t errlen)
{
	job *j = ctx;
	char *found;
	if (tokenizer_in_dir(j->path, &found, err, errlen) < 0)
		return -1;
	int rc = found && strcmp(found, at("mini.tiktoken")) == 0 ? 0
		 : errf(err, errlen, "found %s", found ? found : "nothing");
	free(found);
	return rc;
}

/* The tokenizer (.tiktoken and .json) copied into an empty folder, all of
 * it or none. */
static int copy_to_dir(void *ctx, char *err, size_t errlen)
{
	job *j = ctx;
	const char *out = at("copy");
	mkdir(out, 0777);
	int rc = tokenizer_copy_to_dir(j->path, out, tokenizer_fingerprint(j->t), "the test's", err,
				       errlen);
	return all_or_none(out, rc, 2, err, errlen);
}

static int check_fp(void *ctx, char *err, size_t errlen)
{
	job *j = ctx;
	return tokenizer_check_fingerprint(j->path, tokenizer_fingerprint(j->t), "the test's", err,
					   errlen);
}

/* What used to end the program, now an error with its message. */
static void check_limits(tokenizer *tt)
{
	char err[512] = "";
	bpe_table m;
	ok(bpe_table_init(&m, 8, 2, 4, err, sizeof err) == 0, "a merge table of 8 ids, 2 ranks");
	int r = bpe_table_put(&m, 1, 2, 2, 5, err, sizeof err);
	ok(r == -1 && strstr(err, "out of the merge table's range"), "a rank out of range: %s", err);
	r = bpe_table_put(&m, 9, 2, 0, 5, err, sizeof err);
	ok(r == -1 && strstr(err, "out of the merge table's range"), "an id out of range: %s", err);
	bpe_table_free(&m);

	bpe_scratch s = { 0 };
	uint32_t ids[2] = { 0, 0 };
	size_t n = (size_t)INT32_MAX + 1;
	err[0] = 0;
	r = bpe_merge(&m, ids, &n, &s, err, sizeof err);
	ok(r == -1 && strstr(err, "a piece of 2147483648 symbols is too long to merge"), "%s", err);
	bpe_scratch_free(&s);

	strmap sm;
	ok(strmap_init(&sm, 4, NULL) == 0, "a string table");
	err[0] = 0;
	r = strmap_put(&sm, "x", UINT32_MAX, 1, err, sizeof err);
	ok(r == -1 && strstr(err, "token of 4294967295 bytes is too long"), "%s", err);
	strmap_free(&sm);

	/* a pattern that backtracks beyond PCRE2's match limit on the a's
	 * (it overrides the one in the .json beside the file) */
	tokenizer *t = load_or_die(at("mini.tiktoken"), "(?:a|aa|aaa)+(?:b|c)");
	uint32_t *out = NULL;
	size_t k = 0, cap = 0;
	char a[75];
	memset(a, 'a', sizeof a);
	err[0] = 0;
	r = tokenizer_encode(t, a, sizeof a, &out, &k, &cap, err, sizeof err);
	ok(r == -1 && strstr(err, "the pre-tokenizer regex failed at byte 0 of a text"),
	   "a regex that fails on the text: %s", err);
	free(out);
	tokenizer_free(t);

	ok(tokenizer_write_hf_json(tt, "/dev/full", err, sizeof err) == -1 &&
	   strstr(err, "No space left"), "a tokenizer.json to a full disk: %s", err);
}

int main(int argc, char **argv)
{
	(void)argc;
	cli_init(argv[0]);
	use_test_cache();
	if (!mkdtemp(dir))
		die("mkdtemp: cannot make a folder in /tmp");

	write_tiktoken("mini.tiktoken", "mini.json", 0);
	write_tiktoken("big.tiktoken", "big.json", 300 << 10);
	write_hf("sp.json", 0);
	write_hf("sp-big.json", 300 << 10);

	job tk = { .t = NULL }, sp = { .t = NULL };
	snprintf(tk.path, sizeof tk.path, "%s", at("mini.tiktoken"));
	snprintf(sp.path, sizeof sp.path, "%s", at("sp.json"));
	failalloc_sweep("tokenizer_load of a .tiktoken with its .json", load, &tk);
	failalloc_sweep("tokenizer_load of a SentencePiece-style tokenizer.json", load, &sp);
	tk.t = load_or_die(tk.path, NULL);
	sp.t = load_or_die(sp.path, NULL);

	failalloc_sweep("tokenizer_write_hf_json", write_json, &tk);
	/* the byte-level tokenizer.json written from the ranks: a Split regex,
	 * ignore_merges */
	job bj = { .t = NULL };
	snprintf(bj.path, sizeof bj.path, "%s", at("bl.json"));
	char err[512];
	if (tokenizer_write_hf_json(tk.t, bj.path, err, sizeof err) < 0)
		die("%s", err);
	failalloc_sweep("tokenizer_load of a byte-level tokenizer.json", load, &bj);
	bj.t = load_or_die(bj.path, NULL);

	failalloc_sweep("tokenizer_encode and _decode (tiktoken, PCRE2 pattern)", encode_decode, &tk);
	failalloc_sweep("tokenizer_encode and _decode (SentencePiece-style)", encode_decode, &sp);
	failalloc_sweep("tokenizer_encode and _decode (byte-level tokenizer.json)", encode_decode,
			&bj);

	job big_tk = { .t = tk.t, .compiled = -1 }, big_sp = { .t = sp.t, .compiled = -1 };
	snprintf(big_tk.path, sizeof big_tk.path, "%s", at("big.tiktoken"));
	snprintf(big_sp.path, sizeof big_sp.path, "%s", at("sp-big.json"));
	failalloc_sweep("tokenizer_load of a .tiktoken, writing its compiled form", load, &big_tk);
	failalloc_sweep("tokenizer_load of a tokenizer.json, writing its compiled form", load,
			&big_sp);
	tokenizer *ct = load_or_die(big_tk.path, NULL), *cs = load_or_die(big_sp.path, NULL);
	tokenizer_free(ct);
	tokenizer_free(cs);
	big_tk.compiled = big_sp.compiled = 1;
	failalloc_sweep("tokenizer_load of a .tiktoken's compiled form", load, &big_tk);
	failalloc_sweep("tokenizer_load of a tokenizer.json's compiled form", load, &big_sp);
	ct = load_or_die(big_tk.path, NULL);
	job cj = big_tk;
	cj.t = ct;
	failalloc_sweep("tokenizer_encode and _decode (compiled form)", encode_decode, &cj);
	tokenizer_free(ct);

	/* the folder: mini.tiktoken is its only .tiktoken once big's is gone */
	unlink(at("big.tiktoken"));
	job dj = sp;
	failalloc_sweep("tokenizer_in_dir", in_dir, &dj);
	ok(tokenizer_dir_file(dir, "mini.json") == 2 && tokenizer_dir_file(dir, "sp.json") == 0 &&
	   tokenizer_dir_file(dir, "x.tiktoken") == 1, "tokenizer_dir_file tells the side .json");
	failalloc_sweep("tokenizer_copy_to_dir", copy_to_dir, &tk);
	failalloc_sweep("tokenizer_check_fingerprint", check_fp, &tk);

	check_limits(tk.t);

	tokenizer_free(tk.t);
	tokenizer_free(sp.t);
	tokenizer_free(bj.t);
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return done_testing();
}
