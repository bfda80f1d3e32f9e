/* launch.c - bonsai-train --gpus N: one process a GPU on this host, started
 * the way torchrun starts them, and taken down together. */
#include "cli.h"
#include "commands.h"
#include "dist.h"

#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* After a rank fails, the others that fail with it (a rank's partners
 * end at once when it dies) are gathered for COLLECT_S, so that the report
 * can put the cause first (a rank killed by a signal before one that
 * exited because a partner died); then the rest get SIGTERM, and GRACE_S
 * later SIGKILL. */
enum { COLLECT_S = 1, GRACE_S = 10 };

static volatile sig_atomic_t alarmed;
static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static void describe(char *s, size_t n, int status)
{
	if (WIFSIGNALED(status))
		snprintf(s, n, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(s, n, "exited with status %d", WEXITSTATUS(status));
}

static void signal_all(const pid_t *pid, int n, int sig)
{
	for (int r = 0; r < n; r++)
		if (pid[r] > 0)
			kill(pid[r], sig);
}

/* One line naming the ranks that failed on their own, those killed by a
 * signal first. */
static void report(const int *status, const pid_t *was, const char *failed, int n, int left)
{
	char line[1024] = "";
	size_t o = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int r = 0; r < n; r++) {
			if (!failed[r] || (WIFSIGNALED(status[r]) ? 1 : 0) == pass || o >= sizeof line - 200)
				continue;
			char how[96];
			describe(how, sizeof how, status[r]);
			o += (size_t)snprintf(line + o, sizeof line - o, "%srank %d (pid %d) %s",
					      o ? "; " : "", r, (int)was[r], how);
		}
	if (left)
		snprintf(line + o, sizeof line - o, "; stopping the other %d rank%s", left,
			 left == 1 ? "" : "s");
	warnx_("%s", line);
}

int launch_local(int n, int argc, char **argv)
{
	/* argv without --gpus N / --gpus=N */
	char **cargv = xcalloc((size_t)argc + 1, sizeof *cargv);
	int k = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--gpus") && i + 1 < argc) {
			i++;
			continue;
		}
		if (!strncmp(argv[i], "--gpus=", 7))
			continue;
		cargv[k++] = argv[i];
	}
	char err[256];
	int port = dist_free_port(err, sizeof err);
	if (port < 0)
		die("--gpus: %s", err);
	char sn[16], sp[16], st[16];
	snprintf(sn, sizeof sn, "%d", n);
	snprintf(sp, sizeof sp, "%d", port);
	/* Each rank its share of the cores this process may use: n ranks of
	 * all of them each ran n times as many threads as cores, the CPU
	 * ranks' steps slower than one process's. OMP_NUM_THREADS, when set,
	 * is each rank's. */
	int share = omp_get_num_procs() / n;
	snprintf(st, sizeof st, "%d", share > 0 ? share : 1);
	const char *given = getenv("OMP_NUM_THREADS");
	int set_threads = !given || !*given;
	cli_catch_signals();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	fflush(NULL);
	pid_t *pid = xcalloc((size_t)n, sizeof *pid), *was = xcalloc((size_t)n, sizeof *was);
	int *status = xcalloc((size_t)n, sizeof *status);
	char *failed = xcalloc((size_t)n, 1);
	for (int r = 0; r < n; r++) {
		pid[r] = fork();
		if (pid[r] < 0) {
			warnx_("--gpus: cannot start rank %d: %s", r, strerror(errno));
			signal_all(pid, r, SIGKILL);
			while (wait(NULL) > 0 || errno == EINTR)
				;
			exit(EXIT_RUNTIME);
		}
		if (pid[r] == 0) {
			char sr[16];
			snprintf(sr, sizeof sr, "%d", r);
			/* its own process group: a terminal's Ctrl-C reaches the
			 * ranks once, through this parent */
			setpgid(0, 0);
			/* the launcher's variables win over a surrounding job's */
			unsetenv("OMPI_COMM_WORLD_SIZE");
			if (setenv("RANK", sr, 1) || setenv("LOCAL_RANK", sr, 1) ||
			    setenv("WORLD_SIZE", sn, 1) || setenv("LOCAL_WORLD_SIZE", sn, 1) ||
			    setenv("MASTER_ADDR", "127.0.0.1", 1) || setenv("MASTER_PORT", sp, 1) ||
			    (set_threads && setenv("OMP_NUM_THREADS", st, 1)))
				_exit(127);
			execv("/proc/self/exe", cargv);
			fprintf(stderr, "%s: --gpus: cannot run /proc/self/exe: %s\n", cli_progname(),
				strerror(errno));
			_exit(127);
		}
	}
	for (int r = 0; r < n; r++)
		was[r] = pid[r];
	enum { RUNNING, COLLECTING, STOPPING } phase = RUNNING;
	int alive = n, forwarded = 0;
	while (alive) {
		int st;
		pid_t w = waitpid(-1, &st, 0);
		if (w < 0) {
			if (errno != EINTR)
				die("--gpus: waiting for the ranks: %s", strerror(errno));
			if (alarmed && phase == COLLECTING) {
				report(status, was, failed, n, alive);
				signal_all(pid, n, SIGTERM);
				phase = STOPPING;
				alarmed = 0;
				alarm(GRACE_S);
			} else if (alarmed) {
				signal_all(pid, n, SIGKILL);
				alarmed = 0;
			} else if (cli_interrupted() && !forwarded) {
				/* the ranks finish their step, save and exit */
				signal_all(pid, n, cli_interrupted());
				forwarded = 1;
			}
			continue;
		}
		int r = 0;
		while (r < n && pid[r] != w)
			r++;
		if (r == n)
			continue;
		pid[r] = 0;
		alive--;
		status[r] = st;
		if ((WIFEXITED(st) && WEXITSTATUS(st) == 0) || phase == STOPPING)
			continue;
		failed[r] = 1;
		if (phase == RUNNING) {
			phase = COLLECTING;
			alarm(COLLECT_S);
		}
	}
	alarm(0);
	if (phase == COLLECTING)
		report(status, was, failed, n, 0);
	free(pid);
	free(was);
	free(status);
	free(failed);
	free(cargv);
	return phase != RUNNING ? EXIT_RUNTIME : 0;
}
