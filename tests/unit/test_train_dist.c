/* The trainer's data bookkeeping for data parallelism: each rank skips to
 * its block of a global batch (dist_batch_part), reads it in micro-batches
 * and skips the rest (loader_skip), as train.c does. The windows read by
 * the ranks of a step, in rank order, must be exactly those one process
 * reads, across epoch boundaries, for any number of ranks; every rank must
 * end a step at the one-process position, so that a checkpoint saved by N
 * ranks resumes on M. */
#include "cli.h"
#include "../../train/data.h"
#include "dist.h"
#include "shard.h"
#include "xio.h"
#include "tap.h"

#include <unistd.h>

enum { T = 4, WINDOWS = 50, SEQS = 12, STEPS = 10 };

static char dir[] = "/tmp/bonsai-traindist.XXXXXX";

/* One train shard whose token i is i: a window's first input names it. */
static void make_shards(void)
{
	uint64_t n = (uint64_t)WINDOWS * T + 1;
	shard_header h = { 0 };
	h.version = SHARD_VERSION;
	h.token_width = 4;
	h.vocab_size = 1 << 20;
	h.bos_id = h.eos_id = -1;
	h.compression = SHARD_COMPRESS_NONE;
	h.fingerprint = 77;
	h.split = SPLIT_TRAIN;
	char *path = xpath_join(dir, "train_000000.bin");
	char err[600];
	shard_writer *w = shard_writer_open(path, &h, 0, err, sizeof err);
	if (!w || shard_writer_doc_start(w, err, sizeof err))
		die("%s", err);
	for (uint32_t i = 0; i < n; i++)
		if (shard_writer_tokens(w, &i, 1, err, sizeof err))
			die("%s", err);
	shard_header out;
	if (shard_writer_close(w, &out, err, sizeof err))
		die("%s", err);
	free(path);
	manifest_entry e = { "train_000000.bin", SPLIT_TRAIN, out.n_tokens, out.n_docs,
			     out.payload_checksum };
	manifest m = { 4, 1 << 20, -1, -1, 77, &e, 1 };
	if (manifest_write(dir, &m, err, sizeof err))
		die("%s", err);
}

/* Steps from..to of a job of world ranks (micro-batch B), starting at a
 * loader position: the windows read per step in rank order, and whether
 * every rank ended each step at the position given in pos. */
static int run(const shardset *s, int world, int B, uint64_t epoch, uint64_t index, int from, int to,
	       long got[][SEQS], uint64_t pos[][2])
{
	loader *l[8];
	int32_t in[SEQS * T], tg[SEQS * T];
	int same_pos = 1;
	for (int r = 0; r < world; r++) {
		l[r] = loader_new(s, T, 9);
		loader_seek(l[r], epoch, index);
	}
	for (int step = from; step < to; step++) {
		long k = 0;
		for (int r = 0; r < world; r++) {
			long first, count;
			if (dist_batch_part(SEQS, world, r, &first, &count))
				return -1;
			loader_skip(l[r], (uint64_t)first);
			for (long a = 0; a < count / B; a++) {
				loader_next(l[r], B, in, tg);
				for (int b = 0; b < B; b++)
					got[step][k++] = in[b * T] / T;
			}
			loader_skip(l[r], (uint64_t)(SEQS - first - count));
			if (pos && (l[r]->epoch != pos[step][0] || l[r]->index != pos[step][1]))
				same_pos = 0;
		}
	}
	for (int r = 0; r < world; r++)
		loader_free(l[r]);
	return same_pos;
}

int main(void)
{
	cli_init("test_train_dist");
	if (!mkdtemp(dir))
		return 1;
	make_shards();
	char err[512];
	shardset *s = shardset_open(dir, SPLIT_TRAIN, 1, err, sizeof err);
	if (!s) {
		printf("not ok 1 - %s\n1..1\n", err);
		return 1;
	}

	/* one process, one micro-batch of the whole step */
	long ref[STEPS][SEQS];
	uint64_t pos[STEPS][2];
	loader *l = loader_new(s, T, 9);
	int32_t in[SEQS * T], tg[SEQS * T];
	for (int step = 0; step < STEPS; step++) {
		loader_next(l, SEQS, in, tg);
		for (int b = 0; b < SEQS; b++)
			ref[step][b] = in[b * T] / T;
		pos[step][0] = l->epoch;
		pos[step][1] = l->index;
	}
	loader_free(l);
	ok(pos[STEPS - 1][0] == 2, "%d steps of %d windows cross two epochs of %d windows", STEPS, SEQS,
	   WINDOWS);

	const int worlds[] = { 1, 2, 3, 4, 6 };
	for (size_t i = 0; i < sizeof worlds / sizeof *worlds; i++) {
		int w = worlds[i], B = SEQS / w % 2 ? 1 : 2;
		long got[STEPS][SEQS];
		int same_pos = run(s, w, B, 0, 0, 0, STEPS, got, pos);
		ok(!memcmp(got, ref, sizeof ref) && same_pos == 1,
		   "%d rank%s (micro-batch %d): the union of the ranks' windows is each step's "
		   "one-process batch, in order, none twice; every rank ends at its position",
		   w, w > 1 ? "s" : "", B);
	}

	/* saved by 4 ranks after step 5, resumed by 3, 2 and 1 */
	long got[STEPS][SEQS];
	run(s, 4, 1, 0, 0, 0, 5, got, NULL);
	const int resume_on[] = { 3, 2, 1 };
	for (int i = 0; i < 3; i++) {
		long again[STEPS][SEQS];
		memcpy(again, got, sizeof got);
		int same_pos = run(s, resume_on[i], 2, pos[4][0], pos[4][1], 5, STEPS, again, pos);
		ok(!memcmp(again, ref, sizeof ref) && same_pos == 1,
		   "4 ranks for 5 steps, then %d from the saved position: the one-process windows",
		   resume_on[i]);
	}
	shardset_close(s);
	char *p = xpath_join(dir, "train_000000.bin");
	unlink(p);
	free(p);
	p = xpath_join(dir, "manifest");
	unlink(p);
	free(p);
	rmdir(dir);
	return done_testing();
}
