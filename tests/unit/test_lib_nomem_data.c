/* The data library out of memory, and its other errors that used to end
 * the program: shards and their manifest, token streams, safetensors,
 * JSON, evaluation tasks, compressed inputs and the Hub cache's names all
 * return an error when any allocation fails (tests/unit/failalloc.h), and
 * a failed write leaves no file behind. The shard set is verified in an
 * OpenMP loop that allocates nothing: its allocations come before it. */
#include "evaldir.h"
#include "evaltasks.h"
#include "failalloc.h"
#include "hfcache.h"
#include "json.h"
#include "safetensors.h"
#include "shard.h"
#include "tokstream.h"
#include "xio.h"
#include "cli.h"

#include <bzlib.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static char dir[] = "/tmp/bonsai-nomem-data.XXXXXX";

/* dir/name, in one of a few rotating buffers. */
static const char *at(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
	return b;
}

static void put_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

static void put(const char *path, const char *text) { put_bytes(path, text, strlen(text)); }

static void make_dir(const char *path)
{
	if (mkdir(path, 0777) != 0 && errno != EEXIST)
		die("%s: %s", path, strerror(errno));
}

/* Files in d whose name holds part (all of them for ""). */
static int count_files(const char *d, const char *part)
{
	DIR *dd = opendir(d);
	int n = 0;
	struct dirent *e;
	while (dd && (e = readdir(dd)))
		n += e->d_name[0] != '.' && strstr(e->d_name, part) != NULL;
	if (dd)
		closedir(dd);
	return n;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* ---- shards ---- */

#define N_SMALL_DOCS 1100 /* more than the writer's first document table */
#define LONG_DOC 40000    /* more tokens than one conversion buffer holds */

typedef struct {
	const char *folder, *name;
	uint32_t compression, index;
	shard_header out;
} shard_case;

static int write_docs(shard_writer *w, char *err, size_t errlen)
{
	static uint32_t ids[LONG_DOC];
	for (uint32_t i = 0; i < LONG_DOC; i++)
		ids[i] = (i * 7) % 1000;
	for (int d = 0; d < N_SMALL_DOCS; d++)
		if (shard_writer_doc_start(w, err, errlen) || shard_writer_tokens(w, ids + d, 3, err, errlen))
			return -1;
	if (shard_writer_doc_start(w, err, errlen) || shard_writer_tokens(w, ids, LONG_DOC, err, errlen))
		return -1;
	return 0;
}

static int write_shard(void *ctx, char *err, size_t errlen)
{
	shard_case *c = ctx;
	char path[600];
	snprintf(path, sizeof path, "%s/%s", c->folder, c->name);
	shard_header h = {.token_width = 2, .vocab_size = 1000, .bos_id = -1, .eos_id = -1,
			  .compression = c->compression, .fingerprint = 7, .index = c->index};
	int before = count_files(c->folder, "");
	shard_writer *w = shard_writer_open(path, &h, 3, err, errlen);
	int rc = -1;
	if (w && write_docs(w, err, errlen) == 0)
		rc = shard_writer_close(w, &c->out, err, errlen);
	else
		shard_writer_abort(w);
	if (rc && count_files(c->folder, "") != before)
		return errf(err, errlen, "%s: a failed writer left a file behind", c->folder);
	return rc;
}

static int open_shard(void *ctx, char *err, size_t errlen)
{
	shard *s = shard_open(ctx, SHARD_VERIFY_NOW, err, errlen);
	if (!s)
		return -1;
	int rc = s->h.n_tokens == 3 * N_SMALL_DOCS + LONG_DOC && s->h.n_docs == N_SMALL_DOCS + 1
			 ? 0 : errf(err, errlen, "%s: wrong counts", (const char *)ctx);
	shard_close(s);
	return rc;
}

static manifest set_manifest;

static int write_manifest(void *ctx, char *err, size_t errlen)
{
	const char *folder = ctx;
	int rc = manifest_write(folder, &set_manifest, err, errlen);
	if (rc && count_files(folder, ".tmp.") != 0)
		return errf(err, errlen, "%s: a failed manifest_write left a file behind", folder);
	return rc;
}

static int read_manifest(void *ctx, char *err, size_t errlen)
{
	manifest *m = manifest_read(ctx, err, errlen);
	if (!m)
		return -1;
	int rc = m->n == 2 && strcmp(m->entries[1].file, set_manifest.entries[1].file) == 0 &&
			 m->entries[1].checksum == set_manifest.entries[1].checksum
		 ? 0 : errf(err, errlen, "manifest read back wrong");
	manifest_free(m);
	return rc;
}

static int open_set(void *ctx, char *err, size_t errlen)
{
	shardset *s = shardset_open(ctx, SPLIT_TRAIN, 1, err, errlen);
	if (!s)
		return -1;
	uint32_t t[4];
	/* the last tokens of the first shard and the first of the second */
	shardset_read(s, 3 * N_SMALL_DOCS + LONG_DOC - 2, t, 4);
	int rc = s->n == 2 && t[0] == ((LONG_DOC - 2) * 7) % 1000 && t[2] == 0 && t[3] == 7
		 ? 0 : errf(err, errlen, "the set reads wrong");
	shardset_close(s);
	return rc;
}

static void test_shards(void)
{
	make_dir(at("set"));
	shard_case plain = {at("set"), "train_000000.bin", SHARD_COMPRESS_NONE, 0, {0}};
	shard_case zst = {at("set"), "train_000001.bin", SHARD_COMPRESS_ZSTD, 1, {0}};
	failalloc_sweep("shard writer", write_shard, &plain);
	failalloc_sweep("shard writer, zstd", write_shard, &zst);
	ok(count_files(at("set"), "") == 2, "two shards written, no temporary file left");
	failalloc_sweep("shard_open", open_shard, (void *)at("set/train_000000.bin"));
	failalloc_sweep("shard_open, zstd", open_shard, (void *)at("set/train_000001.bin"));

	manifest_entry e[2] = {
		{"train_000000.bin", SPLIT_TRAIN, plain.out.n_tokens, plain.out.n_docs, plain.out.payload_checksum},
		{"train_000001.bin", SPLIT_TRAIN, zst.out.n_tokens, zst.out.n_docs, zst.out.payload_checksum},
	};
	set_manifest = (manifest){2, 1000, -1, -1, 7, e, 2};
	failalloc_sweep("manifest_write", write_manifest, (void *)at("set"));
	failalloc_sweep("manifest_read", read_manifest, (void *)at("set"));
	failalloc_sweep("shardset_open", open_set, (void *)at("set"));

	/* errors that used to end the program */
	char err[600];
	shard_header h = {.token_width = 2, .vocab_size = 1000, .bos_id = -1, .eos_id = -1};
	const char *bad = at("set/bad.bin");
	shard_writer *w = shard_writer_open(bad, &h, 0, err, sizeof err);
	uint32_t ids[3] = {1, 1000, 2};
	int rc = w ? shard_writer_tokens(w, ids, 3, err, sizeof err) : -2;
	ok(rc == -1 && strstr(err, bad) && strstr(err, "token id 1000 is not below the vocabulary size 1000"),
	   "shard writer: an id not below the vocabulary returns -1 naming the file and the id (%s)", err);
	shard_writer_abort(w);
	ok(count_files(at("set"), "bad") == 0, "shard writer: nothing left after shard_writer_abort");

	/* written in place, a device: the error comes with the tokens or at the end */
	w = shard_writer_open("/dev/full", &h, 0, err, sizeof err);
	rc = w ? write_docs(w, err, sizeof err) : -2;
	if (rc == 0)
		rc = shard_writer_close(w, NULL, err, sizeof err);
	else
		shard_writer_abort(w);
	ok(rc == -1 && strstr(err, "/dev/full") && strstr(err, "No space left"),
	   "shard writer to /dev/full: -1 with 'No space left' (%s)", err);

	w = shard_writer_open(at("missing/x.bin"), &h, 0, err, sizeof err);
	ok(!w && strstr(err, "missing/x.bin"), "shard writer into a missing folder: NULL (%s)", err);
	shard_writer_abort(w);

	rc = manifest_write(at("missing"), &set_manifest, err, sizeof err);
	ok(rc == -1 && strstr(err, "missing/manifest"), "manifest_write into a missing folder: -1 (%s)", err);
}

/* ---- token streams ---- */

typedef struct {
	uint32_t vocab;
	uint32_t expect_width;
} stream_case;

static int stream_round_trip(void *ctx, char *err, size_t errlen)
{
	const stream_case *c = ctx;
	const char *path = at("stream.bin");
	static uint32_t doc[3000];
	for (uint32_t i = 0; i < 3000; i++)
		doc[i] = (i * 131) % c->vocab;
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	tokstream_info info = {0, c->vocab, 1, 2, 99};
	tokwriter *w = tokwriter_open(fp, path, &info, err, errlen);
	int rc = w ? 0 : -1;
	for (size_t n = 1; rc == 0 && n <= 3000; n *= 3)
		if (tokwriter_doc(w, doc, n, err, errlen))
			rc = -1;
	if (rc == 0)
		rc = tokwriter_close(w, err, errlen);
	else
		tokwriter_abort(w);
	fclose(fp);
	if (rc)
		return rc;
	tokreader *r = tokreader_open(path, err, errlen);
	if (!r)
		return -1;
	if (tokreader_info(r)->token_width != c->expect_width)
		rc = errf(err, errlen, "width %u", tokreader_info(r)->token_width);
	const uint32_t *ids;
	size_t n, want = 1;
	int more;
	while (rc == 0 && (more = tokreader_next(r, &ids, &n, err, errlen)) > 0) {
		if (n != want || memcmp(ids, doc, n * sizeof *ids) != 0)
			rc = errf(err, errlen, "document of %zu tokens read back wrong", want);
		want *= 3;
	}
	if (rc == 0 && more < 0)
		rc = -1;
	tokreader_close(r);
	return rc;
}

static void test_token_streams(void)
{
	stream_case two = {1000, 2}, four = {70000, 4};
	failalloc_sweep("token stream, 2-byte tokens: written and read back", stream_round_trip, &two);
	failalloc_sweep("token stream, 4-byte tokens: written and read back", stream_round_trip, &four);

	char err[600];
	tokstream_info info = {2, 70000, -1, -1, 1};
	tokwriter *w = tokwriter_open(stdout, "out.ts", &info, err, sizeof err);
	ok(!w && strstr(err, "out.ts") && strstr(err, "vocabulary of 70000 does not fit 2-byte tokens"),
	   "tokwriter: 70000 words in 2-byte tokens is an error (%s)", err);
	info.token_width = 3;
	w = tokwriter_open(stdout, "out.ts", &info, err, sizeof err);
	ok(!w && strstr(err, "token width must be 2 or 4, not 3"), "tokwriter: width 3 is an error (%s)", err);

	FILE *full = fopen("/dev/full", "wb");
	info = (tokstream_info){0, 100, -1, -1, 1};
	w = full ? tokwriter_open(full, "/dev/full", &info, err, sizeof err) : NULL;
	uint32_t ids[2] = {5, 100};
	int rc = w ? tokwriter_doc(w, ids, 2, err, sizeof err) : -2;
	ok(rc == -1 && strstr(err, "/dev/full: token id 100 is not below the vocabulary size 100"),
	   "tokwriter: an id out of range is an error (%s)", err);
	rc = w && tokwriter_doc(w, ids, 1, err, sizeof err) == 0 ? tokwriter_close(w, err, sizeof err) : -2;
	ok(rc == -1 && strstr(err, "/dev/full: write failed: No space left"),
	   "tokwriter to /dev/full: -1 with 'No space left' (%s)", err);
	if (rc == -2)
		tokwriter_abort(w);
	if (full)
		fclose(full);
}

/* ---- safetensors ---- */

static float st_data[6] = {1, 2, 3, 4, 5, 6};
static int32_t st_ints[2] = {-3, 9};

static int check_set(const char *path, char *err, size_t errlen)
{
	st_set *s = st_set_open(path, err, errlen);
	if (!s)
		return -1;
	const safetensors *f;
	const st_tensor *t = st_set_find(s, "w", &f);
	int rc = t && t->numel == 6 && st_meta(f, "format") && !strcmp(st_meta(f, "format"), "pt")
		 ? 0 : errf(err, errlen, "%s: read back wrong", path);
	st_set_close(s);
	return rc;
}

static int safetensors_round_trip(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	st_out t[2] = {{"w", ST_F32, 2, {2, 3}, st_data}, {"ids", ST_I32, 1, {2}, st_ints}};
	const char *mk[2] = {"format", "note"}, *mv[2] = {"pt", "a \"quoted\" value\n"};
	const char *path = at("st/model.safetensors");
	if (st_write(path, t, 2, mk, mv, 2, err, errlen)) {
		if (count_files(at("st"), ".tmp.") != 0)
			return errf(err, errlen, "st_write left a temporary file");
		return -1;
	}
	safetensors *f = st_open(path, err, errlen);
	if (!f)
		return -1;
	float back[6];
	st_to_f32(f, st_find(f, "w"), back);
	int rc = memcmp(back, st_data, sizeof back) == 0 && f->n_meta == 2 &&
			 !strcmp(st_meta(f, "note"), mv[1])
		 ? 0 : errf(err, errlen, "st_open: read back wrong");
	st_close(f);
	if (rc || check_set(path, err, errlen) || check_set(at("st"), err, errlen) ||
	    check_set(at("st/model.safetensors.index.json"), err, errlen))
		return -1;
	size_t len;
	unsigned char *mem = st_write_mem(t, 2, mk, mv, 2, &len, err, errlen);
	if (!mem)
		return -1;
	f = st_parse(mem, len, "mem", err, errlen);
	rc = f ? 0 : -1;
	st_close(f);
	free(mem);
	return rc;
}

static int open_shared_model(void *ctx, char *err, size_t errlen)
{
	st_set *s = st_set_open(ctx, err, errlen);
	if (!s)
		return -1;
	int rc = s->n_files == 1 && s->files[0]->n > 0 ? 0 : errf(err, errlen, "no tensors");
	st_set_close(s);
	return rc;
}

static void test_safetensors(void)
{
	make_dir(at("st"));
	put(at("st/model.safetensors.index.json"),
	    "{\"metadata\": {}, \"weight_map\": {\"w\": \"model.safetensors\", \"ids\": \"model.safetensors\"}}");
	failalloc_sweep("st_write, st_open, st_set_open, st_write_mem, st_parse", safetensors_round_trip, NULL);

	char model[600];
	snprintf(model, sizeof model, "%s/fixtures/gemma3_tiny", shared_dir());
	if (exists(model))
		failalloc_sweep("st_set_open of the tiny Gemma 3", open_shared_model, model);
	else
		ok(1, "st_set_open of the tiny Gemma 3 # SKIP %s is absent", model);

	char err[600];
	st_out t = {"w", ST_F32, 1, {6}, st_data};
	int rc = st_write("/dev/full", &t, 1, NULL, NULL, 0, err, sizeof err);
	ok(rc == -1 && strstr(err, "/dev/full") && strstr(err, "No space left"),
	   "st_write to /dev/full: -1 with 'No space left' (%s)", err);
	rc = st_write(at("missing/m.safetensors"), &t, 1, NULL, NULL, 0, err, sizeof err);
	ok(rc == -1 && strstr(err, "missing/m.safetensors"), "st_write into a missing folder: -1 (%s)", err);
	st_set *s = st_set_open(at("missing/x.index.json"), err, sizeof err);
	ok(!s && strstr(err, "x.index.json: No such file"), "a missing index: NULL (%s)", err);
}

/* ---- JSON ---- */

static char *json_text;
static size_t json_len;

static void build_json(void)
{
	buf_t b = {0};
	buf_puts(&b, "{\"list\": [");
	for (int i = 0; i < 40; i++)
		buf_printf(&b, "%s%d", i ? ", " : "", i);
	buf_puts(&b, "], \"deep\": {\"a\": {\"b\": [{\"c\": true}, null, false, \"\\u00e9\\n\"]}},\n");
	/* a string longer than one arena chunk, with escapes */
	buf_puts(&b, "\"long\": \"");
	for (int i = 0; i < 9000; i++)
		buf_puts(&b, "abc\\tdefg");
	buf_puts(&b, "\", \"big\": 1");
	for (int i = 0; i < 80; i++)
		buf_putc(&b, '0');
	for (int i = 0; i < 30; i++)
		buf_printf(&b, ", \"k%d\": {\"v\": [%d, \"%d\"]}", i, i, i);
	buf_puts(&b, "}");
	json_len = b.len;
	json_text = (char *)buf_cstr(&b);
}

static int parse_json(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	json_doc *d = json_parse(json_text, json_len, err, errlen);
	if (!d)
		return -1;
	const json_value *r = json_root(d), *list = json_get(r, "list");
	const json_value *b = json_get(json_get(json_get(r, "deep"), "a"), "b");
	const json_value *k = json_get(json_get(r, "k29"), "v");
	int good = list && list->len == 40 && list->items[39].number == 39 && b && b->len == 4 &&
		   !strcmp(b->items[3].str, "\xc3\xa9\n") && json_get(r, "long")->len == 9000 * 8 &&
		   json_get_num(r, "big", 0) == 1e80 && k && !strcmp(k->items[1].str, "29");
	json_free(d);
	return good ? 0 : errf(err, errlen, "the document parsed wrong");
}

static void test_json(void)
{
	build_json();
	failalloc_sweep("json_parse of a nested document", parse_json, NULL);
	/* into a checked buffer: the failure is in its flag */
	buf_t b = BUF_CHECKED;
	failalloc_left = 0;
	json_write_string(&b, "a\"b", 3);
	failalloc_left = -1;
	ok(b.failed && buf_cstr(&b) == NULL, "json_write_string: a checked buffer out of memory says so");
	buf_free(&b);
	free(json_text);
}

/* ---- evaluation tasks ---- */

/* Small files of every form the task readers take. */
static const struct {
	const char *file, *text;
} eval_files[] = {
	{"piqa/valid.jsonl",
	 "{\"id\": \"p1\", \"goal\": \"Open a jar\", \"sol1\": \"twist the lid\", \"sol2\": \"eat it\"}\n"
	 "{\"goal\": \"Dry hands\", \"sol1\": \"use a towel\", \"sol2\": \"use water\"}\n"},
	{"piqa/valid-labels.lst", "0\n0\n"},
	{"arc_easy/ARC-Easy-Test.jsonl",
	 "{\"id\": \"a1\", \"question\": {\"stem\": \"Which is hot?\", \"choices\": ["
	 "{\"text\": \"ice\", \"label\": \"A\"}, {\"text\": \"fire\", \"label\": \"B\"}]}, \"answerKey\": \"B\"}\n"},
	{"arc_challenge/test.json",
	 "[{\"id\": \"c1\", \"question\": \"2+2?\", \"choices\": {\"text\": [\"3\", \"4\"], "
	 "\"label\": [\"1\", \"2\"]}, \"answerKey\": \"2\"}]"},
	{"hellaswag/hellaswag_val.jsonl",
	 "{\"ind\": \"7\", \"activity_label\": \"Cooking\", \"ctx_a\": \"A man cooks.\", \"ctx_b\": \"he [title] stirs\","
	 " \"endings\": [\"the pot.  slowly\", \"a [x] car.\"], \"label\": \"0\"}\n"},
	{"hs_text/hellaswag_val_full.txt", "Sports: A man runs.\n1\nhe stops.\nhe flies.\nhe sings.\nhe [title] sits.\n"},
	{"custom.jsonl",
	 "{\"task\": \"one\", \"context\": \"Q1\", \"choices\": [\"a\", \"b\"], \"gold\": 1}\n\n"
	 "{\"task\": \"two\", \"query\": \"Q2\", \"choices\": [\"c\", \"d\", \"e\"], \"gold\": null, \"id\": \"x\"}\n"
	 "{\"context\": \"Q3\", \"choices\": [\"f\", \"g\"], \"index\": 5}\n"},
};

static void write_eval_sets(const char *eval)
{
	char p[1024];
	make_dir(eval);
	for (size_t i = 0; i < sizeof eval_files / sizeof *eval_files; i++) {
		snprintf(p, sizeof p, "%s/%s", eval, eval_files[i].file);
		char *slash = strrchr(p, '/');
		*slash = 0;
		make_dir(p);
		*slash = '/';
		put(p, eval_files[i].text);
	}
}

typedef struct {
	const char *list, *eval_dir;
	size_t want;
} tasks_case;

static int load_tasks(void *ctx, char *err, size_t errlen)
{
	const tasks_case *c = ctx;
	eval_task **tasks = NULL;
	size_t n = 0;
	if (c->list) {
		int rc = tasks_load(c->list, c->eval_dir, &tasks, &n, err, errlen);
		if (rc)
			return -1;
	} else if (!(tasks = tasks_load_present(c->eval_dir, &n, err, errlen))) {
		return -1;
	}
	size_t items = 0;
	for (size_t i = 0; i < n; i++) {
		items += tasks[i]->n;
		eval_task_free(tasks[i]);
	}
	free(tasks);
	return items == c->want ? 0 : errf(err, errlen, "%zu items, not %zu", items, c->want);
}

/* The first lines of a shared evaluation file, copied into eval/name/file. */
static int copy_head(const char *from, const char *eval, const char *name, const char *file, int lines)
{
	char err[600], to[1024];
	instream *in = instream_open_err(from, err, sizeof err);
	if (!in)
		return -1;
	snprintf(to, sizeof to, "%s/%s", eval, name);
	make_dir(to);
	snprintf(to, sizeof to, "%s/%s/%s", eval, name, file);
	FILE *out = fopen(to, "w");
	char *line;
	size_t len;
	for (int i = 0; out && i < lines && instream_getline(in, &line, &len); i++)
		fprintf(out, "%s\n", line);
	int rc = out && !instream_error(in) ? 0 : -1;
	if (out)
		fclose(out);
	instream_close(in);
	return rc;
}

static void test_eval_tasks(void)
{
	char eval[512], list[800];
	snprintf(eval, sizeof eval, "%s", at("eval"));
	write_eval_sets(eval);
	snprintf(list, sizeof list, "piqa,arc_easy,arc_challenge,hellaswag,%s/custom.jsonl", eval);
	tasks_case all = {list, eval, 2 + 1 + 1 + 1 + 3};
	failalloc_sweep("tasks_load: the four known tasks and a file of ready-made items", load_tasks, &all);
	char hs[800];
	snprintf(hs, sizeof hs, "hellaswag=%s/hs_text", eval);
	tasks_case text = {hs, eval, 1};
	failalloc_sweep("tasks_load: HellaSwag's text form", load_tasks, &text);
	tasks_case present = {NULL, eval, 2 + 1 + 1 + 1};
	failalloc_sweep("tasks_load_present", load_tasks, &present);

	/* the first items of the real files, when the shared fixtures are there */
	char fx[512], f1[1024], f2[1024], f3[1024], f4[1024];
	snprintf(fx, sizeof fx, "%s/fixtures/eval", shared_dir());
	snprintf(f1, sizeof f1, "%s/piqa/valid.jsonl", fx);
	snprintf(f2, sizeof f2, "%s/piqa/valid-labels.lst", fx);
	snprintf(f3, sizeof f3, "%s/arc_easy/ARC-Easy-Test.jsonl", fx);
	snprintf(f4, sizeof f4, "%s/hellaswag/hellaswag_val_full.txt.bz2", fx);
	if (!exists(f1) || !exists(f2) || !exists(f3) || !exists(f4)) {
		ok(1, "tasks_load_present on the shared evaluation files # SKIP %s is absent", fx);
		return;
	}
	const char *sh = at("shared_eval");
	make_dir(sh);
	int copied = copy_head(f1, sh, "piqa", "valid.jsonl", 3) == 0 &&
		     copy_head(f2, sh, "piqa", "valid-labels.lst", 3) == 0 &&
		     copy_head(f3, sh, "arc_easy", "ARC-Easy-Test.jsonl", 3) == 0 &&
		     copy_head(f4, sh, "hellaswag", "hellaswag_val_full.txt", 12) == 0;
	ok(copied, "the first items of the shared evaluation files copied");
	tasks_case shared = {NULL, sh, 3 + 3 + 2};
	if (copied)
		failalloc_sweep("tasks_load_present on the shared evaluation files' first items", load_tasks,
				&shared);
}

/* ---- compressed inputs ---- */

static char *lines_text;

static void write_inputs(void)
{
	buf_t b = {0};
	buf_puts(&b, "first\n");
	for (int i = 0; i < 300; i++) /* longer than a line buffer's first size */
		buf_putc(&b, (char)('a' + i % 26));
	buf_puts(&b, "\n\nlast");
	lines_text = (char *)buf_cstr(&b);
	size_t n = b.len;
	put_bytes(at("in.txt"), lines_text, n);
	size_t zcap = ZSTD_compressBound(n);
	char *z = malloc(zcap);
	size_t zn = ZSTD_compress(z, zcap, lines_text, n, 3);
	put_bytes(at("in.txt.zst"), z, zn);
	free(z);
	gzFile gz = gzopen(at("in.txt.gz"), "wb");
	gzwrite(gz, lines_text, (unsigned)n);
	gzclose(gz);
	unsigned bn = (unsigned)(n + n / 100 + 600);
	char *bz = malloc(bn);
	BZ2_bzBuffToBuffCompress(bz, &bn, lines_text, (unsigned)n, 9, 0, 0);
	put_bytes(at("in.txt.bz2"), bz, bn);
	free(bz);
}

static int read_lines(const char *path, char *err, size_t errlen)
{
	instream *in = instream_open_err(path, err, errlen);
	if (!in)
		return -1;
	char *line;
	size_t len;
	int n = 0, good = 1;
	while (instream_getline(in, &line, &len)) {
		const char *want = n == 0 ? "first" : n == 2 ? "" : n == 3 ? "last" : NULL;
		good &= want ? strcmp(line, want) == 0 : len == 300 && line[299] == (char)('a' + 299 % 26);
		n++;
	}
	int rc = instream_error(in) ? errf(err, errlen, "%s", instream_error(in))
		 : good && n == 4   ? 0
				    : errf(err, errlen, "%s: lines read wrong", path);
	instream_close(in);
	return rc;
}

static int read_inputs(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	const char *names[] = {"in.txt", "in.txt.zst", "in.txt.gz", "in.txt.bz2"};
	for (int i = 0; i < 4; i++) {
		const char *path = at(names[i]);
		if (read_lines(path, err, errlen))
			return -1;
		size_t len;
		char *text = read_file_err(path, &len, err, errlen);
		if (!text)
			return -1;
		int same = len == strlen(lines_text) && strcmp(text, lines_text) == 0;
		free(text);
		if (!same)
			return errf(err, errlen, "%s: read_file_err read it wrong", path);
	}
	return 0;
}

static void test_inputs(void)
{
	write_inputs();
	failalloc_sweep("instream_open_err, instream_getline and read_file_err: plain, zstd, gzip, bzip2",
			read_inputs, NULL);
	free(lines_text);
}

/* ---- the cache folders and the Hub cache ---- */

#define COMMIT "0123456789abcdef0123456789abcdef01234567"

static int cache_names(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	char *tok = hf_token(err, errlen);
	if (!tok)
		return err[0] ? -1 : errf(err, errlen, "no token");
	int rc = strcmp(tok, "hf_abc def") ? errf(err, errlen, "token '%s'", tok) : 0;
	free(tok);
	char *hub = rc ? NULL : hf_hub_cache_dir(err, errlen);
	if (!rc && !hub)
		rc = err[0] ? -1 : errf(err, errlen, "no Hub cache");
	if (hub && strcmp(hub, at("hf/hub")))
		rc = errf(err, errlen, "Hub cache '%s'", hub);
	free(hub);
	if (rc)
		return rc;
	char *snap = hf_model_path("org/model", err, errlen);
	if (!snap)
		return -1;
	rc = strcmp(snap, at("hf/hub/models--org--model/snapshots/" COMMIT)) ? errf(err, errlen, "snapshot '%s'", snap) : 0;
	free(snap);
	char *sets = rc ? NULL : eval_sets_dir(err, errlen);
	if (!rc && !sets)
		return -1;
	if (sets && strcmp(sets, at("home/.cache/bonsai/eval")))
		rc = errf(err, errlen, "evaluation sets '%s'", sets);
	free(sets);
	return rc;
}

static int env_token(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	setenv("HF_TOKEN", "tok", 1);
	setenv("HF_HUB_CACHE", "/hub", 1);
	char *tok = hf_token(err, errlen), *hub = tok ? hf_hub_cache_dir(err, errlen) : NULL;
	unsetenv("HF_TOKEN");
	unsetenv("HF_HUB_CACHE");
	int rc = !tok || !hub ? -1 : strcmp(tok, "tok") || strcmp(hub, "/hub") ? errf(err, errlen, "wrong") : 0;
	free(tok);
	free(hub);
	return rc;
}

static void test_cache_names(void)
{
	make_dir(at("home"));
	make_dir(at("hf"));
	make_dir(at("hf/hub"));
	make_dir(at("hf/hub/models--org--model"));
	make_dir(at("hf/hub/models--org--model/refs"));
	make_dir(at("hf/hub/models--org--model/snapshots"));
	make_dir(at("hf/hub/models--org--model/snapshots/" COMMIT));
	put(at("hf/hub/models--org--model/refs/main"), COMMIT "\n");
	put(at("hf/token"), "  hf_abc def \nsecond line\n");
	const char *unset[] = {"HF_TOKEN", "HF_TOKEN_PATH", "HF_HUB_CACHE", "XDG_CACHE_HOME", "BONSAI_CACHE",
			       "BONSAI_EVAL_DIR"};
	for (size_t i = 0; i < sizeof unset / sizeof *unset; i++)
		unsetenv(unset[i]);
	setenv("HF_HOME", at("hf"), 1);
	setenv("HOME", at("home"), 1);
	failalloc_sweep("hf_token, hf_hub_cache_dir, hf_model_path, eval_sets_dir", cache_names, NULL);
	failalloc_sweep("hf_token and hf_hub_cache_dir from the environment", env_token, NULL);
}

int main(void)
{
	if (!mkdtemp(dir))
		die("%s: %s", dir, strerror(errno));
	test_shards();
	test_token_streams();
	test_safetensors();
	test_json();
	test_eval_tasks();
	test_inputs();
	test_cache_names();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# %s: not removed\n", dir);
	return done_testing();
}
