/* write.c - bonsai-shard -o: the token stream cut into train and val shards. */
#include "cli.h"
#include "hash.h"
#include "progress.h"
#include "shard.h"
#include "shard_tool.h"
#include "tokenizer_dir.h"
#include "tokstream.h"
#include "xio.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One split's shard being written, and the shards it has finished. */
typedef struct {
	uint32_t split;
	shard_writer *w;
	uint64_t next_index;
	int in_doc;          /* the last document appended may go on */
	uint64_t docs;
} split_out;

typedef struct {
	const shard_write_opts *o;
	const char *dir;     /* where the shards go (shard_outdir.work) */
	shard_header tmpl;
	manifest m;
	size_t cap;
	split_out splits[2];
	uint64_t docs, tokens;
} writer_state;

/* Shards finished by this run are removed again if it fails before the
 * manifest is in place: without a manifest they are of no use, and they
 * could be mistaken for a complete set. */
static void remove_finished(void *arg)
{
	writer_state *st = arg;
	/* by name within the folder: a cleanup handler, often run when memory
	 * ran out, allocates nothing and cannot die */
	int dfd = open(st->dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return;
	for (size_t i = 0; i < st->m.n; i++)
		unlinkat(dfd, st->m.entries[i].file, 0);
	close(dfd);
}

static void open_shard(writer_state *st, split_out *s)
{
	char name[64];
	snprintf(name, sizeof name, "%s_%06" PRIu64 ".bin", s->split == SPLIT_VAL ? "val" : "train",
		 s->next_index);
	char *path = xpath_join(st->dir, name);
	shard_header h = st->tmpl;
	h.split = s->split;
	h.index = s->next_index++;
	h.flags = s->in_doc ? SHARD_FLAG_CONTINUES : 0;
	char err[600];
	s->w = shard_writer_open(path, &h, st->o->zstd_level, err, sizeof err);
	free(path);
	if (!s->w)
		die("%s", err);
}

static void close_shard(writer_state *st, split_out *s)
{
	shard_header h;
	char err[600];
	int rc = shard_writer_close(s->w, &h, err, sizeof err);
	s->w = NULL;
	if (rc)
		die("%s", err);
	if (st->m.n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 16;
		st->m.entries = xreallocarray(st->m.entries, st->cap, sizeof *st->m.entries);
	}
	char name[64];
	snprintf(name, sizeof name, "%s_%06" PRIu64 ".bin", h.split == SPLIT_VAL ? "val" : "train", h.index);
	manifest_entry *e = &st->m.entries[st->m.n++];
	e->file = xstrdup(name);
	e->split = h.split;
	e->n_tokens = h.n_tokens;
	e->n_docs = h.n_docs;
	e->checksum = h.payload_checksum;
}

static void append_doc(writer_state *st, split_out *s, const uint32_t *ids, size_t n)
{
	s->in_doc = 0;
	int started = 0;
	do {
		if (!s->w)
			open_shard(st, s);
		uint64_t room = st->o->tokens_per_shard - shard_writer_count(s->w);
		char err[600];
		if (!started && shard_writer_doc_start(s->w, err, sizeof err))
			die("%s", err); /* the handlers remove its temporary file */
		started = 1;
		size_t take = n < room ? n : (size_t)room;
		if (shard_writer_tokens(s->w, ids, take, err, sizeof err))
			die("%s", err);
		ids += take, n -= take;
		s->in_doc = n > 0; /* only a document cut by a full shard goes on */
		if (shard_writer_count(s->w) == st->o->tokens_per_shard)
			close_shard(st, s);
	} while (n);
}

/* The split of a document depends on its index alone (a fixed hash of it),
 * so the same input always splits the same way. */
static int goes_to_val(const shard_write_opts *o, uint64_t doc)
{
	if (o->val_docs)
		return doc < o->val_docs;
	if (o->val_fraction > 0)
		return (double)(splitmix64(&doc) >> 11) * 0x1.0p-53 < o->val_fraction;
	return 0;
}

/* A set of val shards alone is of use (bonsai-eval ppl reads them), but
 * bonsai-train refuses it much later ("no train shards"): said now. */
static void warn_no_train(const shard_write_opts *o, uint64_t docs)
{
	if (o->val_docs)
		warnx_("warning: --val-docs %" PRIu64 " takes all %" PRIu64 " documents: the train split is "
		       "empty", o->val_docs, docs);
	else
		warnx_("warning: --val-fraction %g put all %" PRIu64 " documents in the validation split: "
		       "the train split is empty", o->val_fraction, docs);
}

/* Asked for, a validation split that got no document (a small F on few
 * documents) is no set for bonsai-train --eval-every, which refuses it
 * only when the run starts: said now. */
static void warn_no_val(const shard_write_opts *o, uint64_t docs)
{
	warnx_("warning: --val-fraction %g put none of the %" PRIu64 " documents in the validation "
	       "split: it is empty", o->val_fraction, docs);
}

/* A later input must come from the first one's tokenizer: its documents
 * go into the same shards. */
static void check_same_stream(const char *first, const tokstream_info *a, const char *name,
			      const tokstream_info *b)
{
	if (a->fingerprint != b->fingerprint || a->vocab_size != b->vocab_size ||
	    a->token_width != b->token_width || a->bos_id != b->bos_id || a->eos_id != b->eos_id)
		die("%s: made by another tokenizer than %s (fingerprint %016" PRIx64 ", vocab %" PRIu32
		    "; %s has %016" PRIx64 ", vocab %" PRIu32 ")",
		    name, first, b->fingerprint, b->vocab_size, first, a->fingerprint, a->vocab_size);
}

int shard_write(const shard_write_opts *o)
{
	cli_catch_signals();
	static const char *const stdin_only[] = { "-" };
	const char *const *inputs = o->n_inputs ? o->inputs : stdin_only;
	int n_inputs = o->n_inputs ? o->n_inputs : 1;
	char err[600];
	tokreader *r = tokreader_open(inputs[0], err, sizeof err);
	if (!r)
		die("%s", err);
	tokstream_info first = *tokreader_info(r);
	const tokstream_info *info = &first;
	char what[600];
	snprintf(what, sizeof what, "the one %s was made with", inputs[0]);
	/* checked before the work, copied with the set */
	if (o->tokenizer && tokenizer_check_fingerprint(o->tokenizer, info->fingerprint, what, err,
							 sizeof err))
		die("%s", err);
	shard_outdir od;
	shard_outdir_open(&od, o->out_dir, o->force);

	writer_state st = {.o = o, .dir = od.work};
	st.tmpl.token_width = info->token_width;
	st.tmpl.vocab_size = info->vocab_size;
	st.tmpl.bos_id = info->bos_id;
	st.tmpl.eos_id = info->eos_id;
	st.tmpl.fingerprint = info->fingerprint;
	st.tmpl.compression = o->zstd_level ? SHARD_COMPRESS_ZSTD : SHARD_COMPRESS_NONE;
	st.m.token_width = info->token_width;
	st.m.vocab_size = info->vocab_size;
	st.m.bos_id = info->bos_id;
	st.m.eos_id = info->eos_id;
	st.m.fingerprint = info->fingerprint;
	st.splits[SPLIT_TRAIN].split = SPLIT_TRAIN;
	st.splits[SPLIT_VAL].split = SPLIT_VAL;
	cli_atdie(remove_finished, &st);

	meter m;
	meter_start(&m, files_size((char *const *)inputs, n_inputs));
	double t0 = now_seconds();
	const uint32_t *ids;
	size_t n;
	double done_before = 0; /* bytes of the inputs already read */
	for (int i = 0; i < n_inputs; i++) {
		if (i) {
			done_before += (double)tokreader_file_bytes(r);
			tokreader_close(r);
			r = tokreader_open(inputs[i], err, sizeof err);
			if (!r)
				die("%s", err);
			check_same_stream(inputs[0], &first, inputs[i], tokreader_info(r));
		}
		int more;
		while ((more = tokreader_next(r, &ids, &n, err, sizeof err)) > 0) {
			cli_check_interrupt();
			split_out *s = &st.splits[goes_to_val(o, st.docs) ? SPLIT_VAL : SPLIT_TRAIN];
			append_doc(&st, s, ids, n);
			s->docs++;
			st.docs++;
			st.tokens += n;
			double dt = now_seconds() - t0;
			if (progress_enabled())
				progress(0, "%" PRIu64 " documents, %" PRIu64 " tokens, %.1f M tokens/s, ETA %s",
					 st.docs, st.tokens, dt > 0 ? (double)st.tokens / dt / 1e6 : 0.0,
					 meter_eta(&m, done_before + (double)tokreader_file_bytes(r)));
		}
		if (more < 0)
			die("%s", err);
	}
	if (st.tokens == 0)
		die("%s: no tokens in the input: nothing to shard", n_inputs > 1 ? "the inputs" : inputs[0]);
	if (!st.splits[SPLIT_TRAIN].docs)
		warn_no_train(o, st.docs);
	if (o->val_fraction > 0 && !st.splits[SPLIT_VAL].docs)
		warn_no_val(o, st.docs);
	for (int s = 0; s < 2; s++)
		if (st.splits[s].w)
			close_shard(&st, &st.splits[s]);
	if (o->tokenizer && tokenizer_copy_to_dir(o->tokenizer, st.dir, info->fingerprint, what, err,
						  sizeof err))
		die("%s", err);
	if (manifest_write(st.dir, &st.m, err, sizeof err))
		die("%s", err);
	cli_atdie_remove(remove_finished, &st);
	shard_outdir_commit(&od);
	double dt = now_seconds() - t0;
	progress(1, "%" PRIu64 " documents, %" PRIu64 " tokens in %zu shards, %.2f s", st.docs, st.tokens,
		 st.m.n, dt);
	progress_done();
	tokreader_close(r);
	shard_outdir_free(&od);
	for (size_t i = 0; i < st.m.n; i++)
		free(st.m.entries[i].file);
	free(st.m.entries);
	return 0;
}
