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
} shard_write_opts;

int shard_write(const shard_write_opts *o);
int shard_info(int n, char **files);
int shard_verify(const char *dir);
int shard_cat(int n, char **files);

#endif
