/* dist_slice.h - which rank owns which part of an array or of a batch:
 * arithmetic only, apart from dist.c so that the transports dist.c opens
 * can use it without calling back into dist.c. */
#ifndef BONSAI_DIST_SLICE_H
#define BONSAI_DIST_SLICE_H

#include <stddef.h>

/* Slices start at multiples of DIST_ALIGN values (256 bytes of fp32, 128 of
 * bf16), so that each rank's part of a device buffer is aligned for vector
 * loads and for NCCL. */
enum { DIST_ALIGN = 64 };

/* Rank r's slice [*lo, *hi) of n values: slices of equal length
 * dist_slice_len (the last ones shorter or empty), starting at multiples of
 * DIST_ALIGN. */
size_t dist_slice_len(size_t n, int world);
void dist_slice(size_t n, int world, int rank, size_t *lo, size_t *hi);
/* world * dist_slice_len: a buffer of n values padded so that every
 * rank's slice has the same length, as NCCL's reduce-scatter and all-gather
 * move (the padding is zeros and stays zeros). */
size_t dist_padded_len(size_t n, int world);

/* The sequences of a global batch of seqs that rank r trains on: the
 * contiguous block [*first, *first + *count) of the batch in the
 * one-process order, so that the union over ranks is the whole batch.
 * -1 unless seqs is a multiple of world. */
int dist_batch_part(long seqs, int world, int rank, long *first, long *count);

#endif
