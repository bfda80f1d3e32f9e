/* manifest.c - a shard directory's manifest, and the shards of one split
 * opened together. See shard.h. */
#include "shard.h"
#include "buf.h"
#include "cli.h"
#include "json.h"
#include "xio.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_FORMAT "bonsai-shards"
#define MANIFEST_VERSION 1

static const char *split_name(uint32_t split) { return split == SPLIT_VAL ? "val" : "train"; }

/* Writes text to DIR/manifest atomically. */
static int write_text(const char *dir, const char *text, size_t len, char *err, size_t errlen)
{
	char *path = path_join(dir, "manifest");
	if (!path)
		return errf(err, errlen, "%s/manifest: out of memory", dir);
	int rc = write_file_err(path, text, len, err, errlen);
	free(path);
	return rc;
}

int manifest_write(const char *dir, const manifest *m, char *err, size_t errlen)
{
	buf_t b = BUF_CHECKED;
	buf_printf(&b, "{\"format\": \"%s\", \"version\": %d, \"token_width\": %u, \"vocab_size\": %u,\n",
		   MANIFEST_FORMAT, MANIFEST_VERSION, m->token_width, m->vocab_size);
	buf_printf(&b, " \"bos_id\": %d, \"eos_id\": %d, \"fingerprint\": \"%016" PRIx64 "\",\n",
		   m->bos_id, m->eos_id, m->fingerprint);
	buf_puts(&b, " \"shards\": [");
	for (size_t i = 0; i < m->n; i++) {
		const manifest_entry *e = &m->entries[i];
		buf_puts(&b, i ? ",\n  " : "\n  ");
		buf_puts(&b, "{\"file\": ");
		json_write_string(&b, e->file, strlen(e->file));
		buf_printf(&b, ", \"split\": \"%s\", \"tokens\": %" PRIu64 ", \"docs\": %" PRIu64
			   ", \"checksum\": \"%016" PRIx64 "\"}",
			   split_name(e->split), e->n_tokens, e->n_docs, e->checksum);
	}
	buf_puts(&b, "\n ]}\n");
	int rc = b.failed ? errf(err, errlen, "%s/manifest: out of memory (for a list of %zu shards)", dir, m->n)
			  : write_text(dir, b.data, b.len, err, errlen);
	buf_free(&b);
	return rc;
}

static int parse_hex64(const char *s, uint64_t *out)
{
	if (!s || strlen(s) != 16)
		return 0;
	char *end;
	*out = strtoull(s, &end, 16);
	return *end == '\0';
}

/* 0 and *out, or -1 with the message. */
static int get_count(const char *path, const json_value *o, const char *key, uint64_t *out, char *err,
		     size_t errlen)
{
	int64_t x;
	if (json_int(json_get(o, key), 0, (int64_t)1 << 53, &x)) {
		errf(err, errlen, "%s: \"%s\" missing or not a non-negative integer", path, key);
		return -1; /* a literal: the compiler then knows *out is set on 0 */
	}
	*out = (uint64_t)x;
	return 0;
}

/* A token id that may be absent (-1): 0 and *out, or -1 with the message. */
static int get_token_id(const char *path, const json_value *o, const char *key, int32_t *out,
			char *err, size_t errlen)
{
	const json_value *v = json_get(o, key);
	int64_t id = -1;
	if (v && v->type == JSON_NUMBER && json_int(v, -1, INT32_MAX, &id))
		return errf(err, errlen, "%s: \"%s\" is not a token id", path, key);
	*out = (int32_t)id;
	return 0;
}

static int parse_manifest(const char *path, json_value *root, manifest *m, char *err, size_t errlen)
{
	const char *fmt = json_get_str(root, "format");
	if (!fmt || strcmp(fmt, MANIFEST_FORMAT) != 0)
		return errf(err, errlen, "%s: not a bonsai shard manifest", path);
	uint64_t version, width, vocab;
	if (get_count(path, root, "version", &version, err, errlen))
		return -1;
	if (version != MANIFEST_VERSION)
		return errf(err, errlen,
			    "%s: manifest version %" PRIu64 " is not supported (this reader knows version %d)",
			    path, version, MANIFEST_VERSION);
	if (get_count(path, root, "token_width", &width, err, errlen) ||
	    get_count(path, root, "vocab_size", &vocab, err, errlen))
		return -1;
	m->token_width = (uint32_t)width;
	m->vocab_size = (uint32_t)vocab;
	if (get_token_id(path, root, "bos_id", &m->bos_id, err, errlen) ||
	    get_token_id(path, root, "eos_id", &m->eos_id, err, errlen))
		return -1;
	if (!parse_hex64(json_get_str(root, "fingerprint"), &m->fingerprint))
		return errf(err, errlen, "%s: bad \"fingerprint\"", path);
	json_value *shards = json_get(root, "shards");
	if (!shards || shards->type != JSON_ARRAY)
		return errf(err, errlen, "%s: \"shards\" missing", path);
	m->entries = calloc(shards->len ? shards->len : 1, sizeof *m->entries);
	if (!m->entries)
		return errf(err, errlen, "%s: out of memory (for %zu shards)", path, shards->len);
	for (size_t i = 0; i < shards->len; i++) {
		json_value *e = &shards->items[i];
		manifest_entry *me = &m->entries[i];
		const char *file = json_get_str(e, "file");
		const char *split = json_get_str(e, "split");
		/* The name must stay inside the directory. */
		if (!file || !*file || strchr(file, '/') || strcmp(file, "..") == 0 || strcmp(file, ".") == 0)
			return errf(err, errlen, "%s: shard %zu: bad \"file\"", path, i);
		if (!split || (strcmp(split, "train") && strcmp(split, "val")))
			return errf(err, errlen, "%s: shard %zu: \"split\" must be \"train\" or \"val\"", path, i);
		me->file = strdup(file);
		if (!me->file)
			return errf(err, errlen, "%s: out of memory", path);
		m->n = i + 1; /* so that manifest_free frees the names so far */
		me->split = strcmp(split, "val") == 0 ? SPLIT_VAL : SPLIT_TRAIN;
		if (get_count(path, e, "tokens", &me->n_tokens, err, errlen) ||
		    get_count(path, e, "docs", &me->n_docs, err, errlen))
			return -1;
		if (!parse_hex64(json_get_str(e, "checksum"), &me->checksum))
			return errf(err, errlen, "%s: shard %zu: bad \"checksum\"", path, i);
	}
	return 0;
}

manifest *manifest_read(const char *dir, char *err, size_t errlen)
{
	if (dir_expected_err(dir, "a shard folder made by bonsai-shard", err, errlen))
		return NULL;
	char *path = path_join(dir, "manifest");
	if (!path) {
		errf(err, errlen, "%s/manifest: out of memory", dir);
		return NULL;
	}
	size_t len;
	char *text = read_file_err(path, &len, err, errlen);
	if (!text) {
		free(path);
		return NULL;
	}
	char jerr[256];
	json_doc *doc = json_parse(text, len, jerr, sizeof jerr);
	manifest *m = NULL;
	if (!doc) {
		errf(err, errlen, "%s: %s", path, jerr);
	} else if (!(m = calloc(1, sizeof *m))) {
		errf(err, errlen, "%s: out of memory", path);
	} else if (parse_manifest(path, json_root(doc), m, err, errlen)) {
		manifest_free(m);
		m = NULL;
	}
	json_free(doc);
	free(text);
	free(path);
	return m;
}

void manifest_free(manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->entries[i].file);
	free(m->entries);
	free(m);
}

/* Opens one listed shard and checks that it is the file the manifest lists. */
shard *manifest_open_entry(const char *dir, const manifest *m, size_t i, int verify, char *err,
			   size_t errlen)
{
	const manifest_entry *e = &m->entries[i];
	char *path = path_join(dir, e->file);
	if (!path) {
		errf(err, errlen, "%s/%s: out of memory", dir, e->file);
		return NULL;
	}
	shard *s = shard_open(path, verify, err, errlen);
	if (s && (s->h.n_tokens != e->n_tokens || s->h.n_docs != e->n_docs ||
		  s->h.payload_checksum != e->checksum || s->h.split != e->split)) {
		errf(err, errlen, "%s: does not match the manifest (counts, split or checksum differ)", path);
		shard_close(s);
		s = NULL;
	}
	if (s && (s->h.fingerprint != m->fingerprint || s->h.vocab_size != m->vocab_size ||
		  s->h.token_width != m->token_width)) {
		errf(err, errlen, "%s: made with another tokenizer than the manifest says", path);
		shard_close(s);
		s = NULL;
	}
	free(path);
	return s;
}

/* Every shard's checksum, token ids and document table, the shards in
 * parallel (a few hundred MB take a fraction of a second); the first
 * damaged one in manifest order is reported. */
static int check_all(const shardset *s, char *err, size_t errlen)
{
	enum { ERRLEN = 512 };
	char *errs = calloc(s->n ? s->n : 1, ERRLEN);
	if (!errs)
		return errf(err, errlen, "out of memory (for checking %zu shards)", s->n);
	int any = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : any)
	for (size_t i = 0; i < s->n; i++)
		any |= shard_check(s->shards[i], errs + i * ERRLEN, ERRLEN) != 0;
	int rc = 0;
	for (size_t i = 0; any && i < s->n; i++)
		if (errs[i * ERRLEN]) {
			rc = errf(err, errlen, "%s", errs + i * ERRLEN);
			break;
		}
	free(errs);
	return rc;
}

shardset *shardset_open(const char *dir, uint32_t split, int verify, char *err, size_t errlen)
{
	manifest *m = manifest_read(dir, err, errlen);
	if (!m)
		return NULL;
	shardset *s = calloc(1, sizeof *s);
	if (s) {
		s->m = m;
		s->shards = calloc(m->n ? m->n : 1, sizeof *s->shards);
		s->starts = calloc(m->n + 1, sizeof *s->starts);
	}
	if (!s || !s->shards || !s->starts) {
		errf(err, errlen, "%s: out of memory (for a set of %zu shards)", dir, m->n);
		if (s)
			shardset_close(s);
		else
			manifest_free(m);
		return NULL;
	}
	for (size_t i = 0; i < s->m->n; i++) {
		if (s->m->entries[i].split != split)
			continue;
		shard *sh = manifest_open_entry(dir, s->m, i, verify ? SHARD_VERIFY_LATER : SHARD_VERIFY_NONE, err, errlen);
		if (!sh) {
			shardset_close(s);
			return NULL;
		}
		s->shards[s->n] = sh;
		s->starts[s->n] = s->n_tokens;
		s->n_tokens += sh->h.n_tokens;
		s->n++;
	}
	s->starts[s->n] = s->n_tokens;
	if (verify && check_all(s, err, errlen) != 0) {
		shardset_close(s);
		return NULL;
	}
	return s;
}

/* Binary search for the shard holding split-wide token i. */
static size_t find_shard(const shardset *s, uint64_t i)
{
	size_t lo = 0, hi = s->n;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (s->starts[mid] <= i)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

void shardset_read(const shardset *s, uint64_t i, uint32_t *out, size_t n)
{
	if (n == 0)
		return;
	/* the callers pick windows inside the split: a read past its end is
	 * their bug, not something input can cause */
	if (i + n > s->n_tokens)
		die("internal error: reading past the end of the split");
	size_t k = find_shard(s, i);
	while (n) {
		const shard *sh = s->shards[k];
		uint64_t off = i - s->starts[k];
		uint64_t avail = sh->h.n_tokens - off;
		size_t take = n < avail ? n : (size_t)avail;
		if (sh->h.token_width == 2) {
			const uint16_t *t = (const uint16_t *)sh->tokens + off;
			for (size_t j = 0; j < take; j++)
				out[j] = t[j];
		} else {
			memcpy(out, (const uint32_t *)sh->tokens + off, take * sizeof *out);
		}
		out += take, n -= take, i += take, k++;
	}
}

void shardset_close(shardset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		shard_close(s->shards[i]);
	free(s->shards);
	free(s->starts);
	manifest_free(s->m);
	free(s);
}
