/* dist_mpi.c - the mpi transport of dist.h, compiled with MPI when the
 * build found it (BONSAI_MPI); otherwise a job started by mpirun is
 * refused with a message that says so. MPI's own error handler ends the
 * whole job on a transport error, and mpirun names the rank that died. */
#include "cli.h"
#include "dist_transport.h"

#ifdef BONSAI_MPI
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	int *counts, *displs; /* of the last n sliced, for reduce-scatter/all-gather */
	size_t counts_n;
	float *scratch;
	size_t scratch_len;
} mpi;

/* The slices of n as MPI's int counts (checked: MPI counts are int). */
static int slices(dist *d, size_t n)
{
	mpi *m = d->impl;
	if (n > INT_MAX)
		return errf(d->err, sizeof d->err, "mpi: %zu values are more than one call can move", n);
	if (m->counts_n == n)
		return 0;
	for (int r = 0; r < d->world; r++) {
		size_t lo, hi;
		dist_slice(n, d->world, r, &lo, &hi);
		m->counts[r] = (int)(hi - lo);
		m->displs[r] = (int)lo;
	}
	m->counts_n = n;
	return 0;
}

static int allreduce_sum(dist *d, double *x, int n)
{
	(void)d;
	MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
	return 0;
}

static int reduce_scatter(dist *d, float *buf, size_t n)
{
	mpi *m = d->impl;
	if (slices(d, n))
		return -1;
	size_t mine = (size_t)m->counts[d->rank];
	if (mine > m->scratch_len) {
		float *p = realloc(m->scratch, mine * sizeof *p);
		if (!p)
			return errf(d->err, sizeof d->err, "out of memory");
		m->scratch = p;
		m->scratch_len = mine;
	}
	MPI_Reduce_scatter(buf, m->scratch, m->counts, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
	if (mine) /* an empty slice has no scratch to copy from */
		memcpy(buf + m->displs[d->rank], m->scratch, mine * sizeof *buf);
	return 0;
}

static int allgather(dist *d, float *buf, size_t n)
{
	mpi *m = d->impl;
	if (slices(d, n))
		return -1;
	MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, m->counts, m->displs, MPI_FLOAT,
		       MPI_COMM_WORLD);
	return 0;
}

static int allgather_bytes(dist *d, const void *mine, void *all, size_t n)
{
	(void)d;
	MPI_Allgather(mine, (int)n, MPI_BYTE, all, (int)n, MPI_BYTE, MPI_COMM_WORLD);
	return 0;
}

static int broadcast(dist *d, void *buf, size_t n)
{
	(void)d;
	MPI_Bcast(buf, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
	return 0;
}

static int mpi_close(dist *d)
{
	mpi *m = d->impl;
	MPI_Finalize();
	free(m->counts);
	free(m->displs);
	free(m->scratch);
	free(m);
	return 0;
}

static const dist_ops MPI_OPS = {
	"mpi", allreduce_sum, reduce_scatter, allgather, allgather_bytes, broadcast, NULL, mpi_close,
};

int dist_mpi_open(dist *d, const dist_env *e, char *err, size_t errlen)
{
	int provided, rank, world;
	/* only the main thread calls MPI (OpenMP threads compute) */
	if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
		return errf(err, errlen, "MPI_Init failed");
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &world);
	if (rank != e->rank || world != e->world) {
		MPI_Finalize();
		return errf(err, errlen, "MPI says rank %d of %d, the environment rank %d of %d", rank,
			    world, e->rank, e->world);
	}
	mpi *m = calloc(1, sizeof *m);
	if (m) {
		m->counts = calloc((size_t)world, sizeof *m->counts);
		m->displs = calloc((size_t)world, sizeof *m->displs);
	}
	if (!m || !m->counts || !m->displs) {
		if (m) {
			free(m->counts);
			free(m->displs);
		}
		free(m);
		MPI_Finalize();
		return errf(err, errlen, "out of memory");
	}
	m->counts_n = (size_t)-1;
	d->impl = m;
	d->ops = &MPI_OPS;
	return 0;
}

#else

int dist_mpi_open(dist *d, const dist_env *e, char *err, size_t errlen)
{
	(void)d;
	(void)e;
	return errf(err, errlen, "started by mpirun, but this build has no MPI (install Open MPI's "
				 "development files, libopenmpi-dev, and rebuild; or launch with "
				 "torchrun-style variables)");
}

#endif
