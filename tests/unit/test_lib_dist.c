/* lib/dist: the launchers' variables (torchrun, Slurm, Open MPI), Slurm
 * node lists, the slices of the optimizer and of a batch, and the tcp
 * transport between real local processes: collectives, ranks that disagree
 * refused, a killed rank ending the job within the stated time, a port in
 * use, an unreachable or unknown MASTER_ADDR. */
#include "cli.h"
#include "dist.h"
#include "tap.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the environment through a table ---- */
static const char *const *table;
static const char *from_table(const char *name)
{
	for (int i = 0; table[i]; i += 2)
		if (!strcmp(table[i], name))
			return table[i + 1];
	return NULL;
}

static int read_env(const char *const *t, dist_env *e, char *err, size_t n)
{
	table = t;
	return dist_env_read(e, from_table, err, n);
}

static void env_tests(void)
{
	dist_env e;
	char err[256];
	const char *none[] = { "HOME", "/root", NULL };
	ok(!read_env(none, &e, err, sizeof err) && e.world == 1 && e.rank == 0 &&
		   !strcmp(e.launcher, "none"), "no launcher: one process");

	const char *tr[] = { "RANK", "3", "WORLD_SIZE", "8", "LOCAL_RANK", "1", "MASTER_ADDR", "node7",
			     "MASTER_PORT", "29411", NULL };
	ok(!read_env(tr, &e, err, sizeof err) && e.rank == 3 && e.world == 8 && e.local_rank == 1 &&
		   !strcmp(e.addr, "node7") && e.port == 29411 && !strcmp(e.launcher, "torchrun"),
	   "torchrun: RANK WORLD_SIZE LOCAL_RANK MASTER_ADDR MASTER_PORT");
	const char *tr_noport[] = { "RANK", "0", "WORLD_SIZE", "2", "MASTER_ADDR", "h", NULL };
	ok(read_env(tr_noport, &e, err, sizeof err) && strstr(err, "MASTER_PORT"),
	   "torchrun without MASTER_PORT: %s", err);
	const char *tr_big[] = { "RANK", "2", "WORLD_SIZE", "2", "MASTER_ADDR", "h", "MASTER_PORT",
				 "1", NULL };
	ok(read_env(tr_big, &e, err, sizeof err) && strstr(err, "RANK=2"), "RANK >= WORLD_SIZE: %s", err);
	const char *tr_bad[] = { "RANK", "1x", "WORLD_SIZE", "2", NULL };
	ok(read_env(tr_bad, &e, err, sizeof err) && strstr(err, "RANK='1x'"), "RANK=1x: %s", err);
	const char *tr_port[] = { "RANK", "0", "WORLD_SIZE", "2", "MASTER_ADDR", "h", "MASTER_PORT",
				  "70000", NULL };
	ok(read_env(tr_port, &e, err, sizeof err) && strstr(err, "MASTER_PORT"), "MASTER_PORT=70000: %s",
	   err);
	const char *tr_nolocal[] = { "RANK", "1", "WORLD_SIZE", "2", "MASTER_ADDR", "h", "MASTER_PORT",
				     "5", NULL };
	ok(!read_env(tr_nolocal, &e, err, sizeof err) && e.local_rank == 1,
	   "no LOCAL_RANK: the rank (one host)");

	const char *sl[] = { "SLURM_PROCID", "5", "SLURM_NTASKS", "8", "SLURM_LOCALID", "1",
			     "SLURM_JOB_NODELIST", "gpu[07-08,10],cpu1", NULL };
	ok(!read_env(sl, &e, err, sizeof err) && e.rank == 5 && e.world == 8 && e.local_rank == 1 &&
		   !strcmp(e.addr, "gpu07") && e.port == 29500 && !strcmp(e.launcher, "slurm"),
	   "Slurm: SLURM_PROCID/NTASKS/LOCALID, the first host of the node list, port 29500");
	const char *sl_master[] = { "SLURM_PROCID", "0", "SLURM_NTASKS", "2", "SLURM_LOCALID", "0",
				    "SLURM_JOB_NODELIST", "a[1-2]", "MASTER_ADDR", "10.0.0.9",
				    "MASTER_PORT", "4000", NULL };
	ok(!read_env(sl_master, &e, err, sizeof err) && !strcmp(e.addr, "10.0.0.9") && e.port == 4000,
	   "Slurm with MASTER_ADDR/MASTER_PORT: they win");
	const char *sl_bad[] = { "SLURM_PROCID", "0", "SLURM_NTASKS", "2", "SLURM_JOB_NODELIST",
				 "gpu[07-08", NULL };
	ok(read_env(sl_bad, &e, err, sizeof err) && strstr(err, "without ']'"),
	   "Slurm node list with an open bracket: %s", err);

	const char *om[] = { "OMPI_COMM_WORLD_RANK", "1", "OMPI_COMM_WORLD_SIZE", "2",
			     "OMPI_COMM_WORLD_LOCAL_RANK", "1", "SLURM_PROCID", "0", "SLURM_NTASKS", "1",
			     NULL };
	ok(!read_env(om, &e, err, sizeof err) && e.rank == 1 && e.world == 2 && e.local_rank == 1 &&
		   !strcmp(e.launcher, "mpirun"),
	   "Open MPI's OMPI_COMM_WORLD_*, over Slurm's");
	const char *both[] = { "RANK", "1", "WORLD_SIZE", "2", "MASTER_ADDR", "h", "MASTER_PORT", "9",
			       "SLURM_PROCID", "0", "SLURM_NTASKS", "1", NULL };
	ok(!read_env(both, &e, err, sizeof err) && e.rank == 1 && !strcmp(e.launcher, "torchrun"),
	   "torchrun's variables over Slurm's (torchrun inside srun)");
}

static void nodelist_tests(void)
{
	static const char *const good[][2] = {
		{ "n1", "n1" },
		{ "n1,n2", "n1" },
		{ "gpu[03-05,9],cpu1", "gpu03" },
		{ "a[1-2]-ib", "a1-ib" },
		{ "rack[2-3]-n[01-04]", "rack2-n01" },
		{ "x[007]", "x007" },
	};
	char h[64], err[256];
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		int rc = dist_first_host(good[i][0], h, sizeof h, err, sizeof err);
		ok(!rc && !strcmp(h, good[i][1]), "node list %s -> %s (got %s)", good[i][0], good[i][1],
		   rc ? err : h);
	}
	const char *bad[] = { "", ",n1", "a[", "a[x]", "a]", "a[]" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(dist_first_host(bad[i], h, sizeof h, err, sizeof err) == -1, "node list '%s' refused: %s",
		   bad[i], err);
}

/* The slices partition [0, n): in rank order, no gap, no overlap, each
 * starting at a multiple of DIST_ALIGN. */
static void slice_tests(void)
{
	const size_t ns[] = { 0, 1, 63, 64, 65, 1000, 123457, 262144 * 640 + 3 };
	int bad = 0, cases = 0;
	for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
		for (int w = 1; w <= 9; w++) {
			size_t next = 0, len = dist_slice_len(ns[i], w);
			for (int r = 0; r < w; r++) {
				size_t lo, hi;
				dist_slice(ns[i], w, r, &lo, &hi);
				if (lo != next || hi < lo || hi - lo > len || (lo % DIST_ALIGN && lo != ns[i]))
					bad++;
				next = hi;
			}
			if (next != ns[i] || len % DIST_ALIGN || len * (size_t)w < ns[i])
				bad++;
			/* balanced: no slice longer than an even share plus the
			 * alignment; the padded buffer holds every slice */
			if (len >= (ns[i] + (size_t)w - 1) / (size_t)w + DIST_ALIGN ||
			    dist_padded_len(ns[i], w) != len * (size_t)w)
				bad++;
			cases++;
		}
	ok(!bad, "slices of %d (n, world) cases partition the array (union all, no overlap), "
		 "balanced within %d values, aligned to %d; the padded length holds %s",
	   cases, DIST_ALIGN, DIST_ALIGN, "world equal slices");
	size_t lo, hi;
	dist_slice(1000, 4, 3, &lo, &hi);
	ok(lo == 768 && hi == 1000, "1000 values on 4 ranks: rank 3 has [768, 1000)");
	ok(dist_slice_len(1 << 20, 4) == 1 << 18, "the slice of a rank is 1/N of the array");

	bad = 0;
	for (long seqs = 1; seqs <= 64; seqs++)
		for (int w = 1; w <= 8; w++) {
			long first, count, next = 0;
			if (seqs % w) {
				bad += dist_batch_part(seqs, w, 0, &first, &count) != -1;
				continue;
			}
			for (int r = 0; r < w; r++) {
				if (dist_batch_part(seqs, w, r, &first, &count) || first != next || count != seqs / w)
					bad++;
				next = first + count;
			}
			bad += next != seqs;
		}
	ok(!bad, "a batch's blocks: the union over ranks is the batch, in order, no overlap; "
		 "uneven splits refused");
}

/* ---- the tcp transport between forked processes ---- */

static int free_port(void)
{
	char err[256];
	return dist_free_port(err, sizeof err);
}

static dist_env job(int rank, int world, const char *addr, int port)
{
	dist_env e = { 0 };
	e.rank = rank;
	e.world = world;
	e.local_rank = rank;
	snprintf(e.addr, sizeof e.addr, "%s", addr);
	e.port = port;
	snprintf(e.launcher, sizeof e.launcher, "torchrun");
	return e;
}

static char logdir[] = "/tmp/bonsai-dist.XXXXXX";

/* Runs fn(rank) in world processes with stderr to logdir/rank.err; returns
 * the exit statuses. */
typedef int (*rank_fn)(int rank, int world, int port);
static void run_job(int world, int port, rank_fn fn, int *status, double *seconds)
{
	pid_t pid[8];
	double t0 = now_seconds();
	for (int r = 0; r < world; r++) {
		fflush(stdout);
		pid[r] = fork();
		if (pid[r] == 0) {
			char p[128];
			snprintf(p, sizeof p, "%s/%d.err", logdir, r);
			if (!freopen(p, "w", stderr))
				_exit(99);
			fclose(stdout);
			int rc = fn(r, world, port);
			fflush(stderr);
			_exit(rc);
		}
	}
	for (int r = 0; r < world; r++) {
		waitpid(pid[r], &status[r], 0);
		seconds[r] = now_seconds() - t0;
	}
}

static int slurp_has(int rank, const char *what)
{
	char p[128], s[2048] = "";
	snprintf(p, sizeof p, "%s/%d.err", logdir, rank);
	FILE *f = fopen(p, "r");
	if (!f)
		return 0;
	size_t n = fread(s, 1, sizeof s - 1, f);
	s[n] = 0;
	fclose(f);
	if (!strstr(s, what))
		printf("#   rank %d's stderr: %s\n", rank, s);
	return strstr(s, what) != NULL;
}

/* The collectives on arrays of many lengths: shorter than one slice (the
 * last ranks' slices empty), not a multiple of the alignment, uneven
 * slices; a non-zero count of failed checks on this rank. */
static int check_collectives(dist *d)
{
	int rank = dist_rank(d), world = dist_world(d), bad = 0;
	double x[2] = { rank + 1, 0.5 };
	bad |= dist_allreduce_sum(d, x, 2) || x[0] != world * (world + 1) / 2 || x[1] != 0.5 * world;
	static const size_t ns[] = { 1, 63, 100, 1000, 4097, 65536 + 5 };
	long tri = world * (world + 1) / 2;
	for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
		size_t n = ns[k], lo, hi;
		float *a = xmalloc(n * sizeof *a);
		for (size_t i = 0; i < n; i++)
			a[i] = (float)((rank + 1) * (long)(i % 4096));
		bad |= dist_reduce_scatter(d, a, n);
		dist_slice(n, world, rank, &lo, &hi);
		for (size_t i = lo; i < hi; i++)
			bad |= a[i] != (float)(tri * (long)(i % 4096));
		for (size_t i = 0; i < n; i++)
			if (i < lo || i >= hi)
				a[i] = -1; /* not ours: all-gather must overwrite */
		bad |= dist_allgather(d, a, n);
		for (size_t i = 0; i < n; i++)
			bad |= a[i] != (float)(tri * (long)(i % 4096));
		free(a);
	}
	unsigned char id[128];
	for (int i = 0; i < 128; i++)
		id[i] = rank ? 0 : (unsigned char)(i * 7 + 1);
	bad |= dist_broadcast(d, id, sizeof id);
	for (int i = 0; i < 128; i++)
		bad |= id[i] != (unsigned char)(i * 7 + 1);
	return bad;
}

static int collectives(int rank, int world, int port)
{
	char err[512];
	dist_env e = job(rank, world, "127.0.0.1", port);
	dist *d = dist_open(&e, 10, err, sizeof err);
	if (!d) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	int bad = check_collectives(d);
	const char *names[] = { "the model config", "the tokenizer" };
	uint64_t v[2] = { 42, 7 };
	bad |= dist_check_same(d, names, v, 2, err, sizeof err);
	bad |= dist_close(d);
	return bad;
}

static int differ(int rank, int world, int port)
{
	char err[512];
	dist_env e = job(rank, world, "127.0.0.1", port);
	dist *d = dist_open(&e, 10, err, sizeof err);
	if (!d)
		return 1;
	const char *names[] = { "the model config", "the tokenizer" };
	uint64_t v[2] = { 42, rank == 2 ? 8 : 7 };
	if (!dist_check_same(d, names, v, 2, err, sizeof err))
		return 0;
	fprintf(stderr, "%s\n", err);
	return 3;
}

/* Rank 2 is killed after the start; the others wait as if inside a long
 * GPU collective that never returns. */
static int killed(int rank, int world, int port)
{
	char err[512];
	dist_env e = job(rank, world, "127.0.0.1", port);
	dist *d = dist_open(&e, 10, err, sizeof err);
	if (!d)
		return 1;
	if (rank == 2)
		raise(SIGKILL);
	sleep(20);
	return 0;
}

/* A job of 3 whose rank 2 never comes. */
static int missing(int rank, int world, int port)
{
	(void)world;
	char err[512];
	dist_env e = job(rank, 3, "127.0.0.1", port);
	dist *d = dist_open(&e, 1, err, sizeof err);
	fprintf(stderr, "%s\n", d ? "opened" : err);
	return d ? 0 : 1;
}

static int listens(int rank, int world, int port)
{
	(void)rank;
	char err[512];
	dist_env e = job(0, world + 1, "127.0.0.1", port);
	dist *d = dist_open(&e, 2, err, sizeof err);
	fprintf(stderr, "%s\n", d ? "opened" : err);
	return d ? 0 : 1;
}

static int connects(int rank, int world, int port)
{
	(void)rank;
	char err[512];
	dist_env e = job(1, world + 1, port ? "127.0.0.1" : "no-such-host.invalid", port ? port : 1);
	dist *d = dist_open(&e, 1, err, sizeof err);
	fprintf(stderr, "%s\n", d ? "opened" : err);
	return d ? 0 : 1;
}

static void tcp_tests(void)
{
	int st[8];
	double sec[8];
	for (int w = 2; w <= 3; w++) {
		run_job(w, free_port(), collectives, st, sec);
		int good = 1;
		for (int r = 0; r < w; r++)
			good &= WIFEXITED(st[r]) && WEXITSTATUS(st[r]) == 0;
		ok(good, "%d processes over tcp: all-reduce, reduce-scatter, all-gather, broadcast, "
			 "checks, clean close", w);
	}

	run_job(3, free_port(), differ, st, sec);
	int all3 = 1;
	for (int r = 0; r < 3; r++)
		all3 &= WIFEXITED(st[r]) && WEXITSTATUS(st[r]) == 3;
	ok(all3 && slurp_has(0, "rank 2 differs from rank 0 in the tokenizer"),
	   "a rank with another tokenizer: refused on every rank, naming rank 2 and the field");

	run_job(3, free_port(), killed, st, sec);
	ok(WIFEXITED(st[0]) && WEXITSTATUS(st[0]) == 1 && WIFEXITED(st[1]) && WEXITSTATUS(st[1]) == 1 &&
		   sec[0] < 3 && sec[1] < 3,
	   "kill -9 of rank 2: ranks 0 and 1 end with status 1 within 3 s (%.2f, %.2f s)", sec[0], sec[1]);
	ok(slurp_has(0, "rank 2 ended") && slurp_has(1, "rank 0 ended"),
	   "rank 0 names rank 2; rank 1 names rank 0, which ended with it");

	run_job(2, free_port(), missing, st, sec);
	ok(WEXITSTATUS(st[0]) == 1 && slurp_has(0, "only 2 of 3 ranks reached") &&
		   slurp_has(0, "(missing: 2)") && sec[0] < 3,
	   "a rank that never comes: rank 0 gives up after the timeout, naming it (%.1f s)", sec[0]);

	int port = free_port();
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int held = s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof a) && !listen(s, 1);
	run_job(1, port, listens, st, sec);
	ok(held && WEXITSTATUS(st[0]) == 1 && slurp_has(0, "is in use"),
	   "rank 0 on a port in use: a clear error");
	close(s);

	run_job(1, free_port(), connects, st, sec);
	ok(WEXITSTATUS(st[0]) == 1 && slurp_has(0, "cannot reach rank 0 at 127.0.0.1") && sec[0] < 4,
	   "nobody listening at MASTER_ADDR:MASTER_PORT: an error after the timeout (%.1f s)", sec[0]);
	run_job(1, 0, connects, st, sec);
	ok(WEXITSTATUS(st[0]) == 1 && slurp_has(0, "MASTER_ADDR no-such-host.invalid"),
	   "an unknown MASTER_ADDR: an error naming it");
}

/* Started by mpirun (tests/dist-mpi.t): the collectives over the mpi
 * transport, rank 0 reporting for all ranks. */
static const char *from_env(const char *name) { return getenv(name); }

static int mpi_job(void)
{
	char err[512];
	dist_env e;
	if (dist_env_read(&e, from_env, err, sizeof err))
		die("%s", err);
	dist *d = dist_open(&e, 10, err, sizeof err);
	if (!d)
		die("%s", err);
	int rank = dist_rank(d), world = dist_world(d);
	double bad = check_collectives(d);
	if (dist_allreduce_sum(d, &bad, 1))
		die("%s", dist_error(d));
	if (rank == 0) {
		ok(!strcmp(dist_transport(d), "mpi"), "mpirun: the mpi transport (%s)", dist_transport(d));
		ok(bad == 0, "%d ranks over mpi: all-reduce, reduce-scatter and all-gather of 6 lengths "
			     "(uneven slices, empty ones), broadcast",
		   world);
	}
	if (dist_close(d))
		die("closing the job failed");
	return rank ? 0 : done_testing();
}

int main(void)
{
	cli_init("test_lib_dist");
	if (getenv("OMPI_COMM_WORLD_SIZE"))
		return mpi_job();
	env_tests();
	nodelist_tests();
	slice_tests();
	if (!mkdtemp(logdir))
		return 1;
	tcp_tests();
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", logdir);
	if (system(cmd))
		printf("# could not remove %s\n", logdir);
	return done_testing();
}
