/* dist_transport.h - what dist.c needs from a transport (dist_tcp.c,
 * dist_mpi.c); not for the tools. */
#ifndef BONSAI_DIST_TRANSPORT_H
#define BONSAI_DIST_TRANSPORT_H

#include "dist.h"

typedef struct {
	const char *name;
	int (*allreduce_sum)(dist *d, double *x, int n);
	int (*reduce_scatter)(dist *d, float *buf, size_t n);
	int (*allgather)(dist *d, float *buf, size_t n);
	int (*allgather_bytes)(dist *d, const void *mine, void *all, size_t n);
	int (*broadcast)(dist *d, void *buf, size_t n);
	/* This rank is about to end the job itself: from now on a peer's end
	 * is expected, not a failure to report (NULL: nothing to do). */
	void (*quiet)(dist *d);
	/* Ends the job and frees impl. */
	int (*close)(dist *d);
} dist_ops;

struct dist {
	int rank, world;
	const dist_ops *ops; /* NULL: world size 1 */
	void *impl;
	char err[512];
};

/* Fill d->ops and d->impl, or return -1 with a message. */
int dist_tcp_open(dist *d, const dist_env *e, double timeout_s, char *err, size_t errlen);
int dist_mpi_open(dist *d, const dist_env *e, char *err, size_t errlen);

#endif
