/* shard_tool.h - the subcommands of bonsai-shard. */
#ifndef BONSAI_SHARD_TOOL_H
#define BONSAI_SHARD_TOOL_H

#include <stdint.h>

typedef struct {
	const char *out_dir;
	const char *const *inputs; /* token streams, read in order as one; */
	int n_inputs;              /* none: stdin */
	uint64_t tokens_per_shard;
	uint64_t val_docs;         /* the first val_docs documents go to val */
	double val_fraction;       /* or: a seeded hash of the document index */
	int zstd_level;            /* 0: uncompressed */
	int force;
	const char *tokenizer;     /* the streams' tokenizer, kept in out_dir */
} shard_write_opts;

/* The directory bonsai-shard -o writes (outdir.c). */
typedef struct {
	char *final;  /* the directory named by -o */
	char *work;   /* where the shards are written: final, or a sibling */
	int swap;     /* work is renamed over final by shard_outdir_commit() */
	int replace;  /* final holds an old set (--force) */
} shard_outdir;

/* Dies if path holds a set and force is not set; cleans what killed runs
 * left beside it. */
void shard_outdir_open(shard_outdir *od, const char *path, int force);
/* Called once the manifest is in work: the new set replaces the old. */
void shard_outdir_commit(shard_outdir *od);
void shard_outdir_free(shard_outdir *od);

int shard_write(const shard_write_opts *o);
int shard_info(int n, char **files);
int shard_verify(const char *dir);
int shard_cat(int n, char **files);

#endif
