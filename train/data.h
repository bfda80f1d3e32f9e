/* data.h - training batches from token shards. The train split is cut into
 * windows of T+1 tokens starting every T tokens (inputs are the first T,
 * targets the last T), across shard boundaries; every epoch visits all
 * windows in an order shuffled from (seed, epoch). The position (epoch,
 * index) is all a checkpoint needs to continue exactly. */
#ifndef BONSAI_TRAIN_DATA_H
#define BONSAI_TRAIN_DATA_H

#include <stdint.h>

#include "shard.h"

typedef struct {
	const shardset *s;
	int T;
	uint64_t n_windows;
	uint64_t seed, epoch, index; /* the next window is order[index] of epoch */
	uint64_t *order;             /* this epoch's permutation */
	uint32_t *buf;
} loader;

loader *loader_new(const shardset *s, int T, uint64_t seed);
/* Moves to a saved position. */
void loader_seek(loader *l, uint64_t epoch, uint64_t index);
/* Fills inputs and targets [B,T] with the next B windows. */
void loader_next(loader *l, int B, int32_t *inputs, int32_t *targets);
/* Passes over the next n windows without reading them (the other ranks'
 * part of a global batch), into the next epoch if need be. */
void loader_skip(loader *l, uint64_t n);
void loader_free(loader *l);

/* Window w of a split (sequential, for validation). */
void window_read(const shardset *s, int T, uint64_t w, int32_t *inputs, int32_t *targets,
		 uint32_t *buf);

#endif
