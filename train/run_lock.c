/* run_lock.c - one bonsai-train at a time writes a run directory. Two runs
 * in one folder (a run started twice, two `make run` of one RUN_DIR) would
 * each save checkpoints over the other's and mix their metrics; the second
 * is refused instead, naming the first. The lock is flock(2) on RUN/.lock,
 * so it goes with the process however it ends: a .lock left behind locks
 * nothing. */
#include "cli.h"
#include "commands.h"
#include "xio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int run_lock(const char *dir, char *err, size_t errlen)
{
	char *path = path_join(dir, ".lock");
	if (!path)
		return errf(err, errlen, "out of memory");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
	} else if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;
		char pid[32] = "";
		ssize_t n = e == EWOULDBLOCK ? pread(fd, pid, sizeof pid - 1, 0) : -1;
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		if (e != EWOULDBLOCK)
			errf(err, errlen, "%s: cannot lock: %s", path, strerror(e));
		else
			errf(err, errlen,
			     "%s: another bonsai-train%s%s%s is writing this run (two would save over "
			     "each other's checkpoints); wait for it, or stop it first",
			     dir, *pid ? " (pid " : "", pid, *pid ? ")" : "");
		close(fd);
		fd = -1;
	} else {
		char line[32];
		int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
		if (ftruncate(fd, 0) || pwrite(fd, line, (size_t)len, 0) != len) {
			errf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	free(path);
	return fd;
}
