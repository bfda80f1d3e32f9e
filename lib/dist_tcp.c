/* dist_tcp.c - the tcp transport of dist.h: a star around rank 0, whose
 * connections also serve as the job's watchdog. Sums are taken on rank 0
 * in rank order, so every rank gets the same bits. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "cli.h"
#include "dist_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char HELLO[8] = "BONSAI1";

typedef struct {
	/* rank 0: fd[r] talks to rank r (fd[0] unused); others: fd[0] is rank 0 */
	int *fd;
	int nfd;
	char where[300]; /* "host:port" of rank 0 */
	int wake[2];     /* a byte here stops the watchdog */
	pthread_t watch;
	int watching;
	atomic_int closing;
	void *scratch;
	size_t scratch_len;
} tcp;

static int peer_fd(const dist *d, int r)
{
	tcp *t = d->impl;
	return d->rank == 0 ? t->fd[r] : t->fd[0];
}

static int send_all(dist *d, int r, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t k = send(peer_fd(d, r), c, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return errf(d->err, sizeof d->err, "rank %d: sending to rank %d: %s", d->rank, r,
				    strerror(errno));
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int recv_all(dist *d, int r, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t k = recv(peer_fd(d, r), c, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0)
			return errf(d->err, sizeof d->err, "rank %d ended (its connection closed)", r);
		if (k < 0)
			return errf(d->err, sizeof d->err, "rank %d: receiving from rank %d: %s", d->rank, r,
				    strerror(errno));
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static void *scratch(dist *d, size_t n)
{
	tcp *t = d->impl;
	if (n > t->scratch_len) {
		void *p = realloc(t->scratch, n);
		if (!p)
			return NULL;
		t->scratch = p;
		t->scratch_len = n;
	}
	return t->scratch;
}

static int allreduce_sum(dist *d, double *x, int n)
{
	size_t bytes = (size_t)n * sizeof *x;
	if (d->rank) {
		return send_all(d, 0, x, bytes) || recv_all(d, 0, x, bytes) ? -1 : 0;
	}
	double *tmp = scratch(d, bytes);
	if (!tmp)
		return errf(d->err, sizeof d->err, "out of memory");
	for (int r = 1; r < d->world; r++) {
		if (recv_all(d, r, tmp, bytes))
			return -1;
		for (int i = 0; i < n; i++)
			x[i] += tmp[i];
	}
	for (int r = 1; r < d->world; r++)
		if (send_all(d, r, x, bytes))
			return -1;
	return 0;
}

static int reduce_scatter(dist *d, float *buf, size_t n)
{
	size_t lo, hi;
	if (d->rank) {
		dist_slice(n, d->world, d->rank, &lo, &hi);
		return send_all(d, 0, buf, n * sizeof *buf) ||
				       recv_all(d, 0, buf + lo, (hi - lo) * sizeof *buf)
			       ? -1
			       : 0;
	}
	float *tmp = scratch(d, n * sizeof *buf);
	if (!tmp)
		return errf(d->err, sizeof d->err, "out of memory");
	for (int r = 1; r < d->world; r++) {
		if (recv_all(d, r, tmp, n * sizeof *buf))
			return -1;
		for (size_t i = 0; i < n; i++)
			buf[i] += tmp[i];
	}
	for (int r = 1; r < d->world; r++) {
		dist_slice(n, d->world, r, &lo, &hi);
		if (send_all(d, r, buf + lo, (hi - lo) * sizeof *buf))
			return -1;
	}
	return 0;
}

static int allgather(dist *d, float *buf, size_t n)
{
	size_t lo, hi;
	if (d->rank) {
		dist_slice(n, d->world, d->rank, &lo, &hi);
		return send_all(d, 0, buf + lo, (hi - lo) * sizeof *buf) ||
				       recv_all(d, 0, buf, n * sizeof *buf)
			       ? -1
			       : 0;
	}
	for (int r = 1; r < d->world; r++) {
		dist_slice(n, d->world, r, &lo, &hi);
		if (recv_all(d, r, buf + lo, (hi - lo) * sizeof *buf))
			return -1;
	}
	for (int r = 1; r < d->world; r++)
		if (send_all(d, r, buf, n * sizeof *buf))
			return -1;
	return 0;
}

static int allgather_bytes(dist *d, const void *mine, void *all, size_t n)
{
	char *a = all;
	if (d->rank)
		return send_all(d, 0, mine, n) || recv_all(d, 0, a, n * (size_t)d->world) ? -1 : 0;
	memcpy(a, mine, n);
	for (int r = 1; r < d->world; r++)
		if (recv_all(d, r, a + (size_t)r * n, n))
			return -1;
	for (int r = 1; r < d->world; r++)
		if (send_all(d, r, a, n * (size_t)d->world))
			return -1;
	return 0;
}

static int broadcast(dist *d, void *buf, size_t n)
{
	if (d->rank)
		return recv_all(d, 0, buf, n);
	for (int r = 1; r < d->world; r++)
		if (send_all(d, r, buf, n))
			return -1;
	return 0;
}

/* Watches the connections for a peer's end without reading them (the
 * collectives do): the kernel closes a dead process's sockets at once, so a
 * rank killed by any signal is noticed here immediately; a host that
 * vanishes is noticed through the keepalive probes (tcp_tune). */
static void *watchdog(void *arg)
{
	dist *d = arg;
	tcp *t = d->impl;
	int n = d->rank ? 1 : d->world - 1;
	struct pollfd *p = calloc((size_t)n + 1, sizeof *p);
	if (!p)
		return NULL;
	p[0].fd = t->wake[0];
	p[0].events = POLLIN;
	for (int i = 0; i < n; i++) {
		p[i + 1].fd = d->rank ? t->fd[0] : t->fd[i + 1];
		p[i + 1].events = POLLRDHUP;
	}
	for (;;) {
		if (poll(p, (nfds_t)n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents || atomic_load(&t->closing))
			break;
		for (int i = 0; i < n; i++)
			if (p[i + 1].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
				int r = d->rank ? 0 : i + 1;
				fprintf(stderr, "%s: rank %d: rank %d ended (connection to %s closed); ending "
						"this rank too\n",
					cli_progname(), d->rank, r, r ? "it" : t->where);
				fflush(stderr);
				_exit(EXIT_RUNTIME);
			}
	}
	free(p);
	return NULL;
}

static void stop_watchdog(tcp *t)
{
	if (!t->watching)
		return;
	atomic_store(&t->closing, 1);
	if (write(t->wake[1], "x", 1) == 1)
		pthread_join(t->watch, NULL);
	t->watching = 0;
}

static void quiet(dist *d) { stop_watchdog(d->impl); }

static int tcp_free(dist *d)
{
	tcp *t = d->impl;
	stop_watchdog(t);
	for (int i = 0; i < t->nfd; i++)
		if (t->fd[i] >= 0)
			close(t->fd[i]);
	if (t->wake[0] >= 0) {
		close(t->wake[0]);
		close(t->wake[1]);
	}
	free(t->fd);
	free(t->scratch);
	free(t);
	d->impl = NULL;
	return 0;
}

/* Two barriers around stopping the watchdog: after the first every rank
 * is here, so no one's close can be mistaken for a death; after the second
 * every watchdog has stopped, so closing is safe. */
static int tcp_close(dist *d)
{
	double x = 0;
	int rc = allreduce_sum(d, &x, 1);
	tcp *t = d->impl;
	if (!rc && t->watching) {
		stop_watchdog(t);
		rc = allreduce_sum(d, &x, 1);
	}
	tcp_free(d);
	return rc;
}

static const dist_ops TCP_OPS = {
	"tcp", allreduce_sum, reduce_scatter, allgather, allgather_bytes, broadcast, quiet, tcp_close,
};

/* No Nagle delay for the small messages; keepalive: a silent peer is
 * declared gone after 10 + 3 * 5 s. */
static void tcp_tune(int fd)
{
	int one = 1, idle = 10, intvl = 5, cnt = 3;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

static int resolve(const dist_env *e, int passive, struct addrinfo **ai, char *err, size_t errlen)
{
	char port[16];
	snprintf(port, sizeof port, "%d", e->port);
	struct addrinfo hint = { 0 };
	hint.ai_family = AF_UNSPEC;
	hint.ai_socktype = SOCK_STREAM;
	hint.ai_flags = passive ? AI_PASSIVE : 0;
	int rc = getaddrinfo(e->addr, port, &hint, ai);
	if (rc)
		return errf(err, errlen, "MASTER_ADDR %s: %s", e->addr,
			    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	return 0;
}

/* Reads exactly n bytes from fd, waiting at most until deadline. */
static int recv_by(int fd, void *p, size_t n, double deadline)
{
	char *c = p;
	while (n) {
		struct pollfd q = { fd, POLLIN, 0 };
		int ms = (int)((deadline - now_seconds()) * 1000);
		if (ms <= 0 || poll(&q, 1, ms) <= 0)
			return -1;
		ssize_t k = recv(fd, c, n, 0);
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int listen_for_ranks(dist *d, const dist_env *e, double timeout_s, char *err, size_t errlen)
{
	tcp *t = d->impl;
	struct addrinfo *ai;
	if (resolve(e, 1, &ai, err, errlen))
		return -1;
	int s = -1, saved = 0;
	for (struct addrinfo *a = ai; a && s < 0; a = a->ai_next) {
		s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (s < 0) {
			saved = errno;
			continue;
		}
		int one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(s, a->ai_addr, a->ai_addrlen) || listen(s, d->world)) {
			saved = errno;
			close(s);
			s = -1;
		}
	}
	freeaddrinfo(ai);
	if (s < 0) {
		if (saved == EADDRINUSE)
			return errf(err, errlen, "rank 0: port %d on %s is in use (another job? set "
						 "another MASTER_PORT)", e->port, e->addr);
		if (saved == EADDRNOTAVAIL)
			return errf(err, errlen, "rank 0: MASTER_ADDR %s is not an address of this host "
						 "(rank 0 listens on it)", e->addr);
		return errf(err, errlen, "rank 0: cannot listen on %s: %s", t->where, strerror(saved));
	}
	double deadline = now_seconds() + timeout_s;
	int have = 1;
	while (have < d->world) {
		struct pollfd q = { s, POLLIN, 0 };
		int ms = (int)((deadline - now_seconds()) * 1000);
		int pr = ms > 0 ? poll(&q, 1, ms) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			char miss[256] = "";
			size_t o = 0;
			for (int r = 1; r < d->world && o < sizeof miss - 16; r++)
				if (t->fd[r] < 0)
					o += (size_t)snprintf(miss + o, sizeof miss - o, " %d", r);
			close(s);
			return errf(err, errlen, "rank 0: only %d of %d ranks reached %s within %.0f s "
						 "(missing:%s)", have, d->world, t->where, timeout_s, miss);
		}
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* rank 0 wants: "BONSAI1\0", rank, world (u32 each) */
		unsigned char h[16];
		uint32_t rank, world;
		/* a silent stranger must not hold up the ranks behind it */
		double by = now_seconds() + 5 < deadline ? now_seconds() + 5 : deadline;
		if (recv_by(c, h, sizeof h, by) || memcmp(h, HELLO, 8)) {
			close(c); /* not one of ours: a port scan, another program */
			continue;
		}
		memcpy(&rank, h + 8, 4);
		memcpy(&world, h + 12, 4);
		if (world != (uint32_t)d->world || rank == 0 || rank >= world || t->fd[rank] >= 0) {
			close(c);
			close(s);
			return errf(err, errlen, "rank 0: a process says it is rank %u of %u, but this job "
						 "has %d ranks%s", rank, world, d->world,
				    rank < world && rank && t->fd[rank] >= 0 ? " and that rank is here" : "");
		}
		tcp_tune(c);
		t->fd[rank] = c;
		have++;
	}
	close(s);
	return 0;
}

static int connect_to_rank0(dist *d, const dist_env *e, double timeout_s, char *err, size_t errlen)
{
	tcp *t = d->impl;
	struct addrinfo *ai;
	if (resolve(e, 0, &ai, err, errlen))
		return -1;
	double deadline = now_seconds() + timeout_s;
	int last = ETIMEDOUT;
	/* rank 0 may not listen yet: try again until the deadline */
	for (;;) {
		for (struct addrinfo *a = ai; a; a = a->ai_next) {
			int s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
			if (s < 0) {
				last = errno;
				continue;
			}
			if (!connect(s, a->ai_addr, a->ai_addrlen)) {
				freeaddrinfo(ai);
				tcp_tune(s);
				t->fd[0] = s;
				unsigned char h[16];
				uint32_t rank = (uint32_t)d->rank, world = (uint32_t)d->world;
				memcpy(h, HELLO, 8);
				memcpy(h + 8, &rank, 4);
				memcpy(h + 12, &world, 4);
				if (send_all(d, 0, h, sizeof h))
					return errf(err, errlen, "%s", d->err);
				return 0;
			}
			last = errno;
			close(s);
		}
		if (now_seconds() + 0.2 > deadline)
			break;
		usleep(200000);
	}
	freeaddrinfo(ai);
	return errf(err, errlen, "rank %d: cannot reach rank 0 at %s within %.0f s: %s", d->rank,
		    t->where, timeout_s, strerror(last));
}

int dist_free_port(char *err, size_t errlen)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof a;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int rc = s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) ||
			 getsockname(s, (struct sockaddr *)&a, &len)
		 ? errf(err, errlen, "no free port on 127.0.0.1: %s", strerror(errno))
		 : ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return rc;
}

int dist_tcp_open(dist *d, const dist_env *e, double timeout_s, char *err, size_t errlen)
{
	tcp *t = calloc(1, sizeof *t);
	if (!t)
		return errf(err, errlen, "out of memory");
	t->nfd = d->rank ? 1 : d->world;
	t->fd = malloc((size_t)t->nfd * sizeof *t->fd);
	t->wake[0] = t->wake[1] = -1;
	if (!t->fd) {
		free(t);
		return errf(err, errlen, "out of memory");
	}
	for (int i = 0; i < t->nfd; i++)
		t->fd[i] = -1;
	snprintf(t->where, sizeof t->where, "%s:%d", e->addr, e->port);
	d->impl = t;
	d->ops = &TCP_OPS;
	int rc = d->rank ? connect_to_rank0(d, e, timeout_s, err, errlen)
			 : listen_for_ranks(d, e, timeout_s, err, errlen);
	if (!rc && pipe2(t->wake, O_CLOEXEC))
		rc = errf(err, errlen, "pipe: %s", strerror(errno));
	if (!rc) {
		if (pthread_create(&t->watch, NULL, watchdog, d))
			rc = errf(err, errlen, "cannot start the watchdog thread");
		else
			t->watching = 1;
	}
	if (rc) {
		tcp_free(d);
		d->ops = NULL;
	}
	return rc;
}
