/* dist.h - the processes of one data-parallel job and the collectives
 * training needs between them.
 *
 * Who is who comes from the launcher's environment (dist_env_read):
 * torchrun-style RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT, Slurm's
 * SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID (rank 0 on the first host of
 * SLURM_JOB_NODELIST) or Open MPI's OMPI_COMM_WORLD_*. Nothing set is one
 * process.
 *
 * The collectives run over one of three transports:
 *   single  world size 1: every collective is the identity;
 *   mpi     when started by mpirun and built with MPI;
 *   tcp     otherwise: rank 0 listens on MASTER_ADDR:MASTER_PORT, the
 *           others connect (star); sums are taken on rank 0 in rank order.
 * The tcp connections also carry the start-up checks and stay open as a
 * watchdog: a rank whose process ends (kill -9 included) closes them, and
 * the others end the job within DIST_WATCH_S seconds naming it, instead of
 * hanging in a collective of another library (NCCL) that never returns.
 *
 * Float arrays of n values are split into world contiguous slices
 * (dist_slice.h): reduce-scatter leaves rank r the sum of its slice,
 * all-gather fills every rank's array from the owners' slices. */
#ifndef BONSAI_DIST_H
#define BONSAI_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "dist_slice.h"

/* How often the watchdog looks at the connections (seconds). */
enum { DIST_WATCH_S = 1 };

typedef struct {
	int rank, world, local_rank;
	char addr[256];   /* rank 0's host (tcp) */
	int port;
	char launcher[16]; /* "none", "torchrun", "slurm", "mpirun" */
} dist_env;

/* Reads the launcher's variables through get (getenv, or a table in the
 * tests). Default port for Slurm without MASTER_PORT: 29500. Returns -1
 * with a message naming the variable when one is malformed. */
int dist_env_read(dist_env *e, const char *(*get)(const char *), char *err, size_t errlen);

/* The first host of a Slurm node list: "n1,n2" -> "n1",
 * "gpu[03-05,9],cpu1" -> "gpu03", "a[1-2]-ib" -> "a1-ib". -1 when it is
 * empty or its brackets are malformed. */
int dist_first_host(const char *nodelist, char *host, size_t n, char *err, size_t errlen);

/* A TCP port of 127.0.0.1 that is free now (the kernel's pick), for a job
 * on one host; -1 with a message. Another program may take it before rank
 * 0 listens: rank 0 then says that the port is in use. */
int dist_free_port(char *err, size_t errlen);

typedef struct dist dist;

/* Joins the job that e describes: MPI_Init under mpirun, the tcp
 * rendezvous otherwise, waiting up to timeout_s for the other ranks.
 * NULL with a message (port in use, MASTER_ADDR unknown or unreachable,
 * ranks disagreeing on the world size). */
dist *dist_open(const dist_env *e, double timeout_s, char *err, size_t errlen);
int dist_rank(const dist *d);
int dist_world(const dist *d);
/* "single", "mpi" or "tcp". */
const char *dist_transport(const dist *d);
/* The message of the last failed call. */
const char *dist_error(const dist *d);

/* Every collective is called by all ranks in the same order; -1 on a
 * transport error (dist_error says which rank). */
int dist_allreduce_sum(dist *d, double *x, int n);
int dist_reduce_scatter(dist *d, float *buf, size_t n);
int dist_allgather(dist *d, float *buf, size_t n);
/* all[world * n]: every rank's n values, in rank order. */
int dist_allgather_u64(dist *d, const uint64_t *mine, uint64_t *all, int n);
/* Rank 0's n bytes to every rank (an NCCL unique id). */
int dist_broadcast(dist *d, void *buf, size_t n);

/* Refuses a job whose ranks disagree: every rank passes its values of the
 * same n named fields; -1 with "rank R differs from rank 0 in NAME"
 * (on every rank) when one does. */
int dist_check_same(dist *d, const char *const *names, const uint64_t *values, int n, char *err,
		    size_t errlen);

/* Ends the job cleanly (stops the watchdog only once every rank got here)
 * and frees d. Returns -1 when that failed. */
int dist_close(dist *d);

#endif
