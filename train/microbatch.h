/* microbatch.h - how many sequences one forward and backward pass takes
 * when --micro-batch is not given. On the GPU: the largest number, up to
 * MICROBATCH_MAX, that divides the sequences of a step and whose memory
 * estimate fits the GPU's free memory less a margin; on the CPU: the
 * largest of 1 to MICROBATCH_MAX_CPU that divides them. No CUDA here: the
 * caller reads the free memory and passes the GPU model's estimate. */
#ifndef BONSAI_TRAIN_MICROBATCH_H
#define BONSAI_TRAIN_MICROBATCH_H

#include <stddef.h>

#include "gemma3.h"

/* Held back from the free memory: cuBLASLt's workspaces and handles, the
 * CUDA allocator's rounding and fragmentation, and what the estimate
 * leaves out. */
#define MICROBATCH_MARGIN_PERCENT 10
#define MICROBATCH_MARGIN_BYTES ((size_t)1 << 30)
/* At 64 sequences a pass the matrix products already have 64 x T rows:
 * larger passes gain next to nothing and only make the step coarser. */
#define MICROBATCH_MAX 64
/* The CPU's rule: a bigger pass only costs memory there. */
#define MICROBATCH_MAX_CPU 8

/* Device bytes a trainer of B sequences of T tokens allocates
 * (gemma3_gpu_bytes_needed), with the optimizer state shared by ranks
 * (0: no job). */
typedef size_t (*microbatch_bytes_fn)(const gemma3_config *c, int B, int T, int recompute,
				      int ranks);

typedef struct {
	long seqs;            /* sequences of a step, >= 1 */
	int T;                /* tokens per sequence */
	int given;            /* --micro-batch; 0: choose */
	int gpu;              /* 1: choose by the memory below; 0: the CPU's rule */
	int recompute;        /* --recompute, as the estimate takes it */
	int ranks;            /* data parallel: the ranks sharing the optimizer state (0: no job) */
	const gemma3_config *c;
	size_t free_bytes;    /* the GPU's free memory now */
	microbatch_bytes_fn bytes;
} microbatch_request;

typedef struct {
	int B;
	long accum;           /* passes a step: seqs / B */
	int chosen;           /* 0: B is the given one */
	size_t need;          /* gpu: the estimate at B */
	size_t usable;        /* gpu: free_bytes less the margin */
} microbatch_choice;

/* free_bytes less MICROBATCH_MARGIN_PERCENT of it and
 * MICROBATCH_MARGIN_BYTES (0 when they are more). */
size_t microbatch_usable(size_t free_bytes);

/* A given value is kept as it is (its divisibility is the option parser's
 * to check). 0, or -1 with a message in err when no micro-batch of the
 * GPU fits, not even 1 (it suggests --recompute and a smaller --seq). */
int microbatch_pick(const microbatch_request *r, microbatch_choice *out, char *err, size_t n);

#endif
