/* dist.c - see dist.h: the launcher's environment, and the collectives'
 * dispatch to the transport it opens. */
#include "dist.h"
#include "cli.h"
#include "dist_transport.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A whole non-negative decimal number of at most max. */
static int env_int(const char *(*get)(const char *), const char *name, long max, long *out,
		   char *err, size_t errlen)
{
	const char *s = get(name);
	if (!s || !*s)
		return errf(err, errlen, "%s is not set", name);
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > max || !isdigit((unsigned char)*s))
		return errf(err, errlen, "%s='%s' is not a number from 0 to %ld", name, s, max);
	*out = v;
	return 0;
}

int dist_first_host(const char *list, char *host, size_t n, char *err, size_t errlen)
{
	size_t o = 0;
	const char *p = list;
	if (!list || !*list || *list == ',')
		return errf(err, errlen, "SLURM_JOB_NODELIST '%s' has no first host", list ? list : "");
	while (*p && *p != ',') {
		if (*p == '[') {
			/* "[03-05,9]": the first number, leading zeros kept */
			const char *q = ++p;
			while (isdigit((unsigned char)*p))
				p++;
			if (p == q)
				return errf(err, errlen, "SLURM_JOB_NODELIST '%s': no number after '['", list);
			if (o + (size_t)(p - q) >= n)
				return errf(err, errlen, "SLURM_JOB_NODELIST '%s': host name too long", list);
			memcpy(host + o, q, (size_t)(p - q));
			o += (size_t)(p - q);
			while (*p && *p != ']')
				if (!isdigit((unsigned char)*p) && *p != '-' && *p != ',')
					return errf(err, errlen, "SLURM_JOB_NODELIST '%s': '%c' inside brackets",
						    list, *p);
				else
					p++;
			if (*p != ']')
				return errf(err, errlen, "SLURM_JOB_NODELIST '%s': '[' without ']'", list);
			p++;
			continue;
		}
		if (*p == ']')
			return errf(err, errlen, "SLURM_JOB_NODELIST '%s': ']' without '['", list);
		if (o + 1 >= n)
			return errf(err, errlen, "SLURM_JOB_NODELIST '%s': host name too long", list);
		host[o++] = *p++;
	}
	host[o] = 0;
	return 0;
}

int dist_env_read(dist_env *e, const char *(*get)(const char *), char *err, size_t errlen)
{
	memset(e, 0, sizeof *e);
	e->world = 1;
	snprintf(e->launcher, sizeof e->launcher, "none");
	long rank, world, local = 0, port = 29500;
	const char *rk, *wk, *lk;
	if (get("OMPI_COMM_WORLD_SIZE")) {
		snprintf(e->launcher, sizeof e->launcher, "mpirun");
		rk = "OMPI_COMM_WORLD_RANK", wk = "OMPI_COMM_WORLD_SIZE", lk = "OMPI_COMM_WORLD_LOCAL_RANK";
	} else if (get("WORLD_SIZE") || get("RANK")) {
		snprintf(e->launcher, sizeof e->launcher, "torchrun");
		rk = "RANK", wk = "WORLD_SIZE", lk = "LOCAL_RANK";
	} else if (get("SLURM_PROCID")) {
		snprintf(e->launcher, sizeof e->launcher, "slurm");
		rk = "SLURM_PROCID", wk = "SLURM_NTASKS", lk = "SLURM_LOCALID";
	} else {
		return 0;
	}
	if (env_int(get, wk, 1 << 20, &world, err, errlen) ||
	    env_int(get, rk, 1 << 20, &rank, err, errlen))
		return -1;
	if (world < 1)
		return errf(err, errlen, "%s=0: a job has at least one process", wk);
	if (rank >= world)
		return errf(err, errlen, "%s=%ld is not below %s=%ld", rk, rank, wk, world);
	/* Without LOCAL_RANK the ranks are taken to share one host. */
	if (get(lk) ? env_int(get, lk, 1 << 20, &local, err, errlen) : (local = rank, 0))
		return -1;
	e->rank = (int)rank;
	e->world = (int)world;
	e->local_rank = (int)local;
	if (!strcmp(e->launcher, "mpirun") || world == 1)
		return 0;
	/* tcp rendezvous: rank 0's address */
	const char *a = get("MASTER_ADDR");
	if (a && *a) {
		if (strlen(a) >= sizeof e->addr)
			return errf(err, errlen, "MASTER_ADDR is too long");
		snprintf(e->addr, sizeof e->addr, "%s", a);
	} else if (!strcmp(e->launcher, "slurm")) {
		const char *l = get("SLURM_JOB_NODELIST");
		if (!l)
			l = get("SLURM_NODELIST");
		if (!l)
			return errf(err, errlen, "neither MASTER_ADDR nor SLURM_JOB_NODELIST is set");
		if (dist_first_host(l, e->addr, sizeof e->addr, err, errlen))
			return -1;
	} else {
		return errf(err, errlen, "MASTER_ADDR is not set (rank 0's host)");
	}
	if (get("MASTER_PORT") ? env_int(get, "MASTER_PORT", 65535, &port, err, errlen)
			       : strcmp(e->launcher, "slurm") ? errf(err, errlen, "MASTER_PORT is not set")
							      : 0)
		return -1;
	if (port < 1)
		return errf(err, errlen, "MASTER_PORT=0: choose a port from 1 to 65535");
	e->port = (int)port;
	return 0;
}

dist *dist_open(const dist_env *e, double timeout_s, char *err, size_t errlen)
{
	dist *d = calloc(1, sizeof *d);
	if (!d) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	d->rank = e->rank;
	d->world = e->world;
	int rc = 0;
	if (!strcmp(e->launcher, "mpirun"))
		rc = dist_mpi_open(d, e, err, errlen);
	else if (e->world > 1)
		rc = dist_tcp_open(d, e, timeout_s, err, errlen);
	if (rc) {
		free(d);
		return NULL;
	}
	return d;
}

int dist_rank(const dist *d) { return d->rank; }
int dist_world(const dist *d) { return d->world; }
const char *dist_transport(const dist *d) { return d->ops ? d->ops->name : "single"; }
const char *dist_error(const dist *d) { return d->err; }

int dist_allreduce_sum(dist *d, double *x, int n)
{
	return d->ops ? d->ops->allreduce_sum(d, x, n) : 0;
}

int dist_reduce_scatter(dist *d, float *buf, size_t n)
{
	return d->ops ? d->ops->reduce_scatter(d, buf, n) : 0;
}

int dist_allgather(dist *d, float *buf, size_t n)
{
	return d->ops ? d->ops->allgather(d, buf, n) : 0;
}

int dist_allgather_u64(dist *d, const uint64_t *mine, uint64_t *all, int n)
{
	if (!d->ops) {
		memcpy(all, mine, (size_t)n * sizeof *all);
		return 0;
	}
	return d->ops->allgather_bytes(d, mine, all, (size_t)n * sizeof *all);
}

int dist_broadcast(dist *d, void *buf, size_t n)
{
	return d->ops ? d->ops->broadcast(d, buf, n) : 0;
}

int dist_check_same(dist *d, const char *const *names, const uint64_t *values, int n, char *err,
		    size_t errlen)
{
	uint64_t *all = malloc((size_t)d->world * (size_t)n * sizeof *all);
	if (!all)
		return errf(err, errlen, "out of memory");
	if (dist_allgather_u64(d, values, all, n)) {
		free(all);
		return errf(err, errlen, "%s", d->err);
	}
	int rc = 0;
	for (int r = 1; r < d->world && !rc; r++)
		for (int i = 0; i < n && !rc; i++)
			if (all[(size_t)r * n + i] != all[i])
				rc = errf(err, errlen,
					  "rank %d differs from rank 0 in %s (%" PRIu64 " vs %" PRIu64
					  "): every rank must run the same job",
					  r, names[i], all[(size_t)r * n + i], all[i]);
	free(all);
	if (rc && d->ops && d->ops->quiet) {
		/* Every rank saw the difference and will end: the watchdogs
		 * stop, and the barrier keeps any rank from ending before all
		 * have stopped theirs, so that each rank reports the
		 * difference, not a partner's end. */
		d->ops->quiet(d);
		double x = 0;
		dist_allreduce_sum(d, &x, 1);
	}
	return rc;
}

int dist_close(dist *d)
{
	if (!d)
		return 0;
	int rc = d->ops ? d->ops->close(d) : 0;
	free(d);
	return rc;
}
