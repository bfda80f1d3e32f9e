/* lib/nccl: NCCL found at run time without LD_LIBRARY_PATH. A file named
 * by BONSAI_NCCL loads and answers its version (when the CUDA Toolkit's
 * NCCL is on this machine); when nothing can be found, the error lists
 * every place tried, the named file and the Python site-packages included.
 * Each case runs in a child: the loader keeps what it loaded. */
#include "cli.h"
#include "nccl.h"
#include "tap.h"

#include <sys/wait.h>
#include <unistd.h>

static const char *const TOOLKIT_NCCL = "/usr/local/cuda/lib64/libnccl.so.2";

/* Runs the loader in a child with the given BONSAI_NCCL and HOME; its
 * message (or "loaded PATH VERSION") into out. */
static void load_in_child(const char *file, const char *home, char *out, size_t n)
{
	int fd[2];
	if (pipe(fd))
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		setenv("BONSAI_NCCL", file, 1);
		setenv("HOME", home, 1);
		unsetenv("VIRTUAL_ENV");
		unsetenv("CONDA_PREFIX");
		unsetenv("LD_LIBRARY_PATH");
		char err[4096], msg[4200];
		const nccl_api *a = nccl_load(err, sizeof err);
		if (a)
			snprintf(msg, sizeof msg, "loaded %s %d%s", a->path, a->version,
				 a->ReduceScatter && a->AllGather ? " with reduce-scatter and all-gather" : "");
		else
			snprintf(msg, sizeof msg, "%s", err);
		if (write(fd[1], msg, strlen(msg)) < 0)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	size_t k = 0;
	ssize_t r;
	while (k + 1 < n && (r = read(fd[0], out + k, n - 1 - k)) > 0)
		k += (size_t)r;
	out[k] = 0;
	close(fd[0]);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	cli_init("test_lib_nccl");
	char out[8192];
	if (access(TOOLKIT_NCCL, R_OK) == 0) {
		load_in_child(TOOLKIT_NCCL, "/nonexistent", out, sizeof out);
		char want[600];
		snprintf(want, sizeof want, "loaded %s ", TOOLKIT_NCCL);
		ok(!strncmp(out, want, strlen(want)) && atoi(out + strlen(want)) >= 20000 &&
			   strstr(out, "with reduce-scatter and all-gather"),
		   "BONSAI_NCCL=%s: loaded, version 2.x, ncclReduceScatter and ncclAllGather (%s)",
		   TOOLKIT_NCCL, out);
	} else {
		printf("ok 1 # SKIP %s absent\n", TOOLKIT_NCCL);
		tap_n++;
	}
	load_in_child("/nonexistent/libnccl.so.2", "/nonexistent-home", out, sizeof out);
	if (!strncmp(out, "loaded ", 7)) {
		/* installed somewhere the search reaches: then not from the bad name */
		ok(!strstr(out, "/nonexistent/"), "a missing BONSAI_NCCL file is passed over (%s)", out);
	} else {
		ok(strstr(out, "cannot load NCCL") && strstr(out, "/nonexistent/libnccl.so.2") &&
			   strstr(out, "/nonexistent-home/.local/lib/python3*/site-packages/nvidia/nccl/lib") &&
			   strstr(out, "libnccl.so.2:"),
		   "no NCCL anywhere: the error lists the places tried");
		printf("# %s\n", out);
	}
	return done_testing();
}
