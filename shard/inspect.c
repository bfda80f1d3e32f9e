/* inspect.c - bonsai-shard info, verify and cat. */
#include "buf.h"
#include "cli.h"
#include "json.h"
#include "shard.h"
#include "shard_tool.h"
#include "tokstream.h"
#include "xio.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int shard_info(int n, char **files)
{
	char err[600];
	buf_t b = {0};
	for (int i = 0; i < n; i++) {
		shard *s = shard_open(files[i], 0, err, sizeof err);
		if (!s)
			die("%s", err);
		const shard_header *h = &s->h;
		b.len = 0;
		buf_puts(&b, "{\"file\": ");
		json_write_string(&b, files[i], strlen(files[i]));
		buf_printf(&b,
			   ", \"version\": %u, \"split\": \"%s\", \"index\": %" PRIu64 ", \"token_width\": %u"
			   ", \"vocab_size\": %u, \"bos_id\": %d, \"eos_id\": %d, \"fingerprint\": \"%016" PRIx64 "\""
			   ", \"tokens\": %" PRIu64 ", \"docs\": %" PRIu64 ", \"continues\": %s"
			   ", \"compression\": \"%s\", \"payload_bytes\": %" PRIu64 ", \"checksum\": \"%016" PRIx64
			   "\"}\n",
			   h->version, h->split == SPLIT_VAL ? "val" : "train", h->index, h->token_width,
			   h->vocab_size, h->bos_id, h->eos_id, h->fingerprint, h->n_tokens, h->n_docs,
			   (h->flags & SHARD_FLAG_CONTINUES) ? "true" : "false",
			   h->compression == SHARD_COMPRESS_ZSTD ? "zstd" : "none", h->payload_bytes,
			   h->payload_checksum);
		xfwrite(b.data, b.len, stdout, "stdout");
		shard_close(s);
	}
	xfflush(stdout, "stdout");
	buf_free(&b);
	return 0;
}

/* Shard files in dir that the manifest does not list point to a mix-up
 * (two runs into one directory); verify reports them. */
static int unlisted_shards(const char *dir, const manifest *m)
{
	DIR *d = opendir(dir);
	if (!d)
		die("%s: cannot list: %s", dir, strerror(errno));
	int bad = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".bin") != 0)
			continue;
		if (strncmp(e->d_name, "train_", 6) && strncmp(e->d_name, "val_", 4))
			continue;
		int listed = 0;
		for (size_t i = 0; i < m->n && !listed; i++)
			listed = strcmp(m->entries[i].file, e->d_name) == 0;
		if (!listed) {
			warnx_("%s/%s: shard not listed in the manifest", dir, e->d_name);
			bad = 1;
		}
	}
	closedir(d);
	return bad;
}

int shard_verify(const char *dir)
{
	char err[600];
	manifest *m = manifest_read(dir, err, sizeof err);
	if (!m)
		die("%s", err);
	uint64_t tokens[2] = {0}, docs[2] = {0}, next_index[2] = {0};
	for (size_t i = 0; i < m->n; i++) {
		shard *s = manifest_open_entry(dir, m, i, 1, err, sizeof err);
		if (!s)
			die("%s", err);
		uint32_t sp = s->h.split;
		if (s->h.index != next_index[sp])
			die("%s/%s: shard index %" PRIu64 " out of order (expected %" PRIu64 ")", dir,
			    m->entries[i].file, s->h.index, next_index[sp]);
		next_index[sp]++;
		tokens[sp] += s->h.n_tokens;
		docs[sp] += s->h.n_docs;
		progress(0, "verified %zu of %zu shards", i + 1, m->n);
		shard_close(s);
	}
	progress_done();
	if (unlisted_shards(dir, m))
		die("%s: directory holds shards the manifest does not list", dir);
	printf("%s: OK: %zu shards; train %" PRIu64 " tokens in %" PRIu64 " documents; val %" PRIu64
	       " tokens in %" PRIu64 " documents\n",
	       dir, m->n, tokens[0], docs[0], tokens[1], docs[1]);
	manifest_free(m);
	xfflush(stdout, "stdout");
	return 0;
}

/* Tokens of the document being reassembled across shard boundaries. */
typedef struct {
	uint32_t *ids;
	size_t n, cap;
	int open;
} pending_doc;

static void pending_add(pending_doc *p, const shard *s, uint64_t from, uint64_t to)
{
	size_t k = (size_t)(to - from);
	if (p->n + k > p->cap) {
		p->cap = (p->n + k) * 2;
		p->ids = xreallocarray(p->ids, p->cap, sizeof *p->ids);
	}
	for (uint64_t i = from; i < to; i++)
		p->ids[p->n++] = shard_token(s, i);
	p->open = 1;
}

static void pending_flush(pending_doc *p, tokwriter *w)
{
	char err[600];
	if (p->open && tokwriter_doc(w, p->ids, p->n, err, sizeof err))
		die("%s", err);
	p->n = 0;
	p->open = 0;
}

static void cat_one(shard *s, pending_doc *p, tokwriter *w)
{
	uint64_t first = s->h.n_docs ? s->doc_starts[0] : s->h.n_tokens;
	if (first > 0) {
		if (!(s->h.flags & SHARD_FLAG_CONTINUES))
			die("%s: tokens before the first document, but the shard does not continue one", s->path);
		/* the tail of a document begun in an earlier shard */
		pending_add(p, s, 0, first);
	}
	for (uint64_t d = 0; d < s->h.n_docs; d++) {
		pending_flush(p, w);
		uint64_t end = d + 1 < s->h.n_docs ? s->doc_starts[d + 1] : s->h.n_tokens;
		pending_add(p, s, s->doc_starts[d], end);
	}
}

int shard_cat(int n, char **files)
{
	char err[600];
	if (isatty(STDOUT_FILENO))
		die("the output is a binary token stream: redirect it to a file or a pipe");
	/* A directory stands for all its shards in manifest order. */
	char **paths = NULL;
	size_t np = 0;
	for (int i = 0; i < n; i++) {
		struct stat sb;
		if (stat(files[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
			manifest *m = manifest_read(files[i], err, sizeof err);
			if (!m)
				die("%s", err);
			for (size_t j = 0; j < m->n; j++) {
				paths = xreallocarray(paths, np + 1, sizeof *paths);
				paths[np++] = xpath_join(files[i], m->entries[j].file);
			}
			manifest_free(m);
		} else {
			paths = xreallocarray(paths, np + 1, sizeof *paths);
			paths[np++] = xstrdup(files[i]);
		}
	}
	tokwriter *w = NULL;
	tokstream_info info = {0};
	pending_doc p = {0};
	uint32_t last_split = 0;
	for (size_t i = 0; i < np; i++) {
		shard *s = shard_open(paths[i], 1, err, sizeof err);
		if (!s)
			die("%s", err);
		if (!w) {
			info.token_width = s->h.token_width;
			info.vocab_size = s->h.vocab_size;
			info.bos_id = s->h.bos_id;
			info.eos_id = s->h.eos_id;
			info.fingerprint = s->h.fingerprint;
			if (!(w = tokwriter_open(stdout, "stdout", &info, err, sizeof err)))
				die("%s", err);
		} else if (s->h.fingerprint != info.fingerprint || s->h.vocab_size != info.vocab_size) {
			die("%s: made with another tokenizer than %s", paths[i], paths[0]);
		}
		/* a document never continues from one split into the other */
		if (i > 0 && s->h.split != last_split)
			pending_flush(&p, w);
		last_split = s->h.split;
		cat_one(s, &p, w);
		shard_close(s);
		free(paths[i]);
	}
	pending_flush(&p, w);
	if (tokwriter_close(w, err, sizeof err))
		die("%s", err);
	free(p.ids);
	free(paths);
	return 0;
}
