/* dist_slice.c - see dist_slice.h: who owns what, as the transports and the
 * trainer agree on it. */
#include "dist_slice.h"

size_t dist_slice_len(size_t n, int world)
{
	size_t per = (n + (size_t)world - 1) / (size_t)world;
	return (per + DIST_ALIGN - 1) / DIST_ALIGN * DIST_ALIGN;
}

size_t dist_padded_len(size_t n, int world) { return (size_t)world * dist_slice_len(n, world); }

void dist_slice(size_t n, int world, int rank, size_t *lo, size_t *hi)
{
	size_t len = dist_slice_len(n, world), a = (size_t)rank * len;
	*lo = a < n ? a : n;
	*hi = a + len < n ? a + len : n;
}

int dist_batch_part(long seqs, int world, int rank, long *first, long *count)
{
	if (world < 1 || seqs % world)
		return -1;
	*count = seqs / world;
	*first = (long)rank * *count;
	return 0;
}
