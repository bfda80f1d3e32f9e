/* test_lib_parse_errors.c - the shard, manifest, token stream and model readers
 * report what is wrong with an input to their caller (NULL or -1 and a
 * message naming the file) instead of ending the process: every case here
 * runs in one process, after the one before it failed. */
#include "tap.h"

#include "cli.h"
#include "gemma3.h"
#include "hash.h"
#include "le.h"
#include "shard.h"
#include "tokstream.h"
#include "xio.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/bonsai-parse-errors.XXXXXX";

static char *at(const char *name) { return xpath_join(dir, name); }

static void put(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static unsigned char *get(const char *path, size_t *n) { return (unsigned char *)read_file(path, n); }

/* A shard of 5 tokens in 2 documents, vocabulary 10. */
static void write_shard(const char *path)
{
	shard_header h = {.token_width = 2, .vocab_size = 10, .bos_id = -1, .eos_id = -1};
	char err[600];
	shard_writer *w = shard_writer_open(path, &h, 0, err, sizeof err);
	uint32_t a[3] = {1, 2, 3}, b[2] = {4, 5};
	if (!w || shard_writer_doc_start(w, err, sizeof err) || shard_writer_tokens(w, a, 3, err, sizeof err) ||
	    shard_writer_doc_start(w, err, sizeof err) || shard_writer_tokens(w, b, 2, err, sizeof err) ||
	    shard_writer_close(w, NULL, err, sizeof err))
		die("%s", err);
}

/* A token stream of 2 documents, vocabulary 10. */
static void write_stream(const char *path)
{
	FILE *f = fopen(path, "wb");
	tokstream_info info = {.vocab_size = 10, .bos_id = -1, .eos_id = -1, .fingerprint = 42};
	char err[600];
	tokwriter *w = tokwriter_open(f, path, &info, err, sizeof err);
	uint32_t a[3] = {1, 2, 3}, b[2] = {4, 5};
	if (!w || tokwriter_doc(w, a, 3, err, sizeof err) || tokwriter_doc(w, b, 2, err, sizeof err) ||
	    tokwriter_close(w, err, sizeof err))
		die("%s", err);
	fclose(f);
}

static int says(const char *err, const char *path, const char *what)
{
	int yes = strstr(err, path) && strstr(err, what);
	if (!yes)
		printf("#   message: %s\n", err);
	return yes;
}

int main(void)
{
	cli_init("test_lib_parse_errors");
	if (!mkdtemp(dir))
		return 1;
	char err[600];
	size_t n;

	/* shards */
	char *good = at("good.bin"), *bad = at("bad.bin"), *none = at("none.bin");
	write_shard(good);
	shard *s = shard_open(good, 1, err, sizeof err);
	ok(s && s->h.n_tokens == 5 && s->h.n_docs == 2, "a good shard opens");
	shard_close(s);
	ok(!shard_open(none, 1, err, sizeof err) && says(err, none, "cannot open"), "a missing shard: NULL, named");
	put(bad, "", 0);
	ok(!shard_open(bad, 0, err, sizeof err) && says(err, bad, "empty file"), "an empty file");
	put(bad, "NOTASHARD", 9);
	ok(!shard_open(bad, 0, err, sizeof err) && says(err, bad, "wrong magic"), "a wrong magic");
	unsigned char *b = get(good, &n);
	put(bad, b, 100);
	ok(!shard_open(bad, 0, err, sizeof err) && says(err, bad, "ends inside the shard header"),
	   "a file cut inside the header");
	put(bad, b, n - 1);
	ok(!shard_open(bad, 0, err, sizeof err) && says(err, bad, "truncated"), "a file cut in the payload");
	b[130] ^= 1;
	put(bad, b, n);
	ok(!shard_open(bad, 1, err, sizeof err) && says(err, bad, "checksum mismatch"),
	   "a damaged payload, with verify");
	b[130] ^= 1;
	b[128] = 11; /* token 0 past the vocabulary, the checksums made right */
	le_put64(b + 88, xxh64(b + 128, n - 128, 0));
	le_put64(b + 96, xxh64(b, 96, 0));
	put(bad, b, n);
	s = shard_open(bad, 0, err, sizeof err);
	ok(s != NULL, "without verify the token ids are not read");
	shard_close(s);
	ok(!shard_open(bad, 1, err, sizeof err) && says(err, bad, "has id 11"),
	   "with verify, an id outside the vocabulary");
	free(b);

	/* a manifest */
	char *mdir = at("set"), *mpath;
	mkdir_p(mdir);
	mpath = xpath_join(mdir, "manifest");
	ok(!manifest_read(mdir, err, sizeof err) && says(err, mpath, "cannot open"), "no manifest: NULL, named");
	put(mpath, "{\"format\": 3", 12);
	ok(!manifest_read(mdir, err, sizeof err) && says(err, mpath, ""), "a manifest that is not JSON");
	const char *wrong = "{\"format\": \"bonsai-shards\", \"version\": 1, \"token_width\": 2, "
			    "\"vocab_size\": 10, \"fingerprint\": \"000000000000002a\", "
			    "\"shards\": [{\"file\": \"../x\", \"split\": \"train\"}]}";
	put(mpath, wrong, strlen(wrong));
	ok(!manifest_read(mdir, err, sizeof err) && says(err, mpath, ""), "a manifest with a bad entry");
	ok(!shardset_open(mdir, SPLIT_TRAIN, 0, err, sizeof err) && says(err, mpath, ""),
	   "shardset_open passes the manifest's error on");
	/* a token id beyond int32_t: refused, not converted (undefined) */
	const char *huge = "{\"format\": \"bonsai-shards\", \"version\": 1, \"token_width\": 2, "
			   "\"vocab_size\": 10, \"bos_id\": 1e300, \"fingerprint\": \"000000000000002a\", "
			   "\"shards\": []}";
	put(mpath, huge, strlen(huge));
	ok(!manifest_read(mdir, err, sizeof err) && says(err, mpath, "\"bos_id\" is not a token id"),
	   "a manifest with a bos_id of 1e300: NULL, named: %s", err);

	/* token streams */
	char *ts = at("stream"), *tbad = at("stream.bad");
	write_stream(ts);
	const uint32_t *ids;
	size_t k;
	tokreader *r = tokreader_open(ts, err, sizeof err);
	ok(r && tokreader_next(r, &ids, &k, err, sizeof err) == 1 && k == 3 &&
	   tokreader_next(r, &ids, &k, err, sizeof err) == 1 && k == 2 &&
	   tokreader_next(r, &ids, &k, err, sizeof err) == 0, "a good stream reads to its end");
	ok(r && tokreader_expect(r, 42, 10, err, sizeof err) == 0, "and is the tokenizer's");
	ok(r && tokreader_expect(r, 43, 10, err, sizeof err) < 0 && says(err, ts, "another tokenizer"),
	   "another tokenizer's: -1, named");
	tokreader_close(r);
	ok(!tokreader_open(none, err, sizeof err) && says(err, none, "cannot open"), "a missing stream");
	put(tbad, "", 0);
	ok(!tokreader_open(tbad, err, sizeof err) && says(err, tbad, "empty input"), "an empty stream");
	put(tbad, "BONSAITX", 8);
	ok(!tokreader_open(tbad, err, sizeof err) && says(err, tbad, "wrong magic"), "a wrong magic");
	b = get(ts, &n);
	put(tbad, b, 20);
	ok(!tokreader_open(tbad, err, sizeof err) && says(err, tbad, "inside the token stream header"),
	   "a stream cut in its header");
	put(tbad, b, 48 + 4 + 3);
	r = tokreader_open(tbad, err, sizeof err);
	ok(r && tokreader_next(r, &ids, &k, err, sizeof err) < 0 && says(err, tbad, "inside a document"),
	   "a stream cut inside a document: -1, named");
	tokreader_close(r);
	put(tbad, b, 48 + 4 + 6);
	r = tokreader_open(tbad, err, sizeof err);
	ok(r && tokreader_next(r, &ids, &k, err, sizeof err) == 1 &&
	   tokreader_next(r, &ids, &k, err, sizeof err) < 0 && says(err, tbad, "without its end mark"),
	   "a stream without its end mark");
	tokreader_close(r);
	b[48 + 4] = 10; /* id 10 in a vocabulary of 10 */
	put(tbad, b, n);
	r = tokreader_open(tbad, err, sizeof err);
	ok(r && tokreader_next(r, &ids, &k, err, sizeof err) < 0 && says(err, tbad, "token id 10"),
	   "an id outside the vocabulary");
	tokreader_close(r);
	b[48 + 4] = 1;
	put(tbad, b, n - 1);
	r = tokreader_open(tbad, err, sizeof err);
	ok(r && tokreader_next(r, &ids, &k, err, sizeof err) == 1 &&
	   tokreader_next(r, &ids, &k, err, sizeof err) == 1 &&
	   tokreader_next(r, &ids, &k, err, sizeof err) < 0 && says(err, tbad, "end mark"),
	   "a damaged end mark");
	tokreader_close(r);
	/* zstd that is cut short: the transport's error comes back too */
	unsigned char z[64] = {0x28, 0xB5, 0x2F, 0xFD, 0x00};
	put(tbad, z, sizeof z);
	r = tokreader_open(tbad, err, sizeof err);
	ok(!r && says(err, tbad, "zstd"), "damaged zstd: NULL, named");
	tokreader_close(r);
	free(b);

	/* models: a missing file, a folder that is no model, weights without config.json */
	char *gnone = at("none.safetensors"), *gdir = at("nomodel"), *gw = at("w.safetensors");
	gemma3_model *gm = gemma3_model_open(gnone, err, sizeof err);
	ok(!gm && says(err, gnone, ""), "gemma3_model_open: a missing file: NULL, named");
	mkdir_p(gdir);
	gm = gemma3_model_open(gdir, err, sizeof err);
	ok(!gm && says(err, gdir, "neither a model directory"),
	   "gemma3_model_open: a folder with no model: NULL, named");
	put(gw, "not safetensors at all", 22);
	gm = gemma3_model_open(gw, err, sizeof err);
	ok(!gm && says(err, gw, ""), "gemma3_model_open: a damaged weights file: NULL, named");
	char *gj = at("model.safetensors.index.json");
	put(gj, "{}", 2);
	gm = gemma3_model_open(gj, err, sizeof err);
	ok(!gm && says(err, dir, "no config.json next to the weights"),
	   "gemma3_model_open: weights without config.json: NULL, named");
	free(gnone), free(gdir), free(gw), free(gj);

	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	free(good), free(bad), free(none), free(mdir), free(mpath), free(ts), free(tbad);
	return done_testing();
}
