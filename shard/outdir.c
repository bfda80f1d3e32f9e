/* outdir.c - where bonsai-shard -o writes. A new directory, or a new set
 * replacing an old one (--force), is built in a sibling "DIR.tmp-PID" and
 * renamed into place once its manifest is written: a failure, a signal or
 * a kill -9 part-way leaves DIR as it was. */
#define _GNU_SOURCE /* renameat2 */
#include "cli.h"
#include "shard_tool.h"
#include "tokenizer_dir.h"
#include "xio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A shard, finished or still under its temporary name ("NAME.tmp.XXXXXX"). */
static int is_shard_file(const char *dir, const char *name)
{
	(void)dir;
	return (strncmp(name, "train_", 6) == 0 || strncmp(name, "val_", 4) == 0) && strstr(name, ".bin");
}

/* The files a run of bonsai-shard -o makes in its directory, finished or
 * still under their temporary names, the tokenizer's included: a new set
 * comes with its own, or none. */
static int is_set_file(const char *dir, const char *name)
{
	if (tokenizer_dir_file(dir, name))
		return 1;
	if (strncmp(name, "manifest", 8) == 0)
		return name[8] == '\0' || strncmp(name + 8, ".tmp.", 5) == 0;
	return is_shard_file(dir, name);
}

/* The name of a shard in dir (malloc()ed), or NULL when it holds none. */
static char *first_shard(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		die("%s: cannot list: %s", dir, strerror(errno));
	struct dirent *e;
	char *found = NULL;
	while (!found && (e = readdir(d)))
		if (is_shard_file(dir, e->d_name))
			found = xstrdup(e->d_name);
	closedir(d);
	return found;
}

/* A directory without a manifest is written in place. Shards already
 * there (a set whose manifest was removed, a copy cut short) would lie
 * beside the new set's, unlisted, and bonsai-shard verify would refuse
 * the directory: refused, or removed with --force. */
static void clear_stray_shards(const char *dir, const char *path, int force)
{
	char *stray = first_shard(dir);
	if (!stray)
		return;
	if (!force)
		die("%s: holds shards (%s) but no manifest; use -f/--force to replace them", path, stray);
	free(stray);
	remove_dir_files(dir, is_shard_file, 0);
}

/* A .tiktoken goes last: it marks its NAME.json as the set's. */
static int set_file_first(const char *dir, const char *name)
{
	return is_set_file(dir, name) && !(tokenizer_dir_file(dir, name) == 1 && strstr(name, ".tiktoken"));
}

/* Removes the set files in dir and then dir itself; anything else found
 * there is left alone (with dir) and reported. */
static void remove_set_dir(const char *dir)
{
	remove_dir_files(dir, set_file_first, 0);
	remove_dir_files(dir, is_set_file, 1);
}

static char *dir_of(const char *path)
{
	char *p = xstrdup(path);
	char *slash = strrchr(p, '/');
	if (!slash)
		strcpy(p, ".");
	else if (slash == p)
		p[1] = '\0';
	else
		*slash = '\0';
	return p;
}

/* "DIR.tmp-PID" siblings of dir whose process is gone are what a killed
 * run left: removed here. One whose process still runs (another run, or a
 * reused id) is left alone. */
static void remove_stale_siblings(const char *dir)
{
	char *parent = dir_of(dir);
	const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	size_t blen = strlen(base);
	DIR *d = opendir(parent);
	if (!d) {
		free(parent);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (strncmp(n, base, blen) != 0 || strncmp(n + blen, ".tmp-", 5) != 0)
			continue;
		char *end;
		errno = 0;
		long pid = strtol(n + blen + 5, &end, 10);
		int moved_aside = strcmp(end, ".old") == 0;
		if (errno || (*end && !moved_aside) || end == n + blen + 5 || pid <= 0 || pid > INT_MAX)
			continue;
		/* our own id: left by an earlier process that had it */
		if ((pid_t)pid != getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		char *p = xpath_join(parent, n);
		if (moved_aside && access(dir, F_OK) != 0 && errno == ENOENT) {
			/* killed between the two renames of the fallback below */
			warnx_("%s: restoring the set a killed run had moved aside", dir);
			if (rename(p, dir) != 0)
				die("%s: cannot rename back to %s: %s", p, dir, strerror(errno));
		} else {
			warnx_("%s: removing what a killed run left", p);
			remove_set_dir(p);
		}
		free(p);
	}
	closedir(d);
	free(parent);
}

static void remove_work(void *arg)
{
	shard_outdir *od = arg;
	remove_set_dir(od->work);
}

void shard_outdir_open(shard_outdir *od, const char *path, int force)
{
	memset(od, 0, sizeof *od);
	struct stat sb;
	if (stat(path, &sb) == 0) {
		/* a symlink to a set: the set is replaced where it lies */
		od->final = realpath(path, NULL);
		if (!od->final)
			die("%s: %s", path, strerror(errno));
	} else {
		if (errno != ENOENT)
			die_at(path, 0, "cannot create directory: %s", strerror(errno));
		od->final = xstrdup(path);
		size_t n = strlen(od->final);
		while (n > 1 && od->final[n - 1] == '/')
			od->final[--n] = '\0';
	}
	/* first, as it may put back a set a killed run had moved aside */
	remove_stale_siblings(od->final);
	if (stat(od->final, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			die("%s: not a directory", path);
		if (access(path, W_OK) != 0)
			die("%s: directory is not writable: %s", path, strerror(errno));
		char *mp = xpath_join(od->final, "manifest");
		int has_set = access(mp, F_OK) == 0;
		free(mp);
		if (!has_set) {
			/* an empty or foreign directory (a mount point, say): no set
			 * to keep, and a rename could not replace it */
			clear_stray_shards(od->final, path, force);
			od->work = xstrdup(od->final);
			return;
		}
		if (!force)
			die("%s: already holds shards (a manifest); use -f/--force to replace them", path);
		od->replace = 1;
	} else {
		mkdirs_above(od->final);
	}
	char *parent = dir_of(od->final);
	if (access(parent, W_OK) != 0)
		die("%s: directory is not writable (the new set is built there): %s", parent, strerror(errno));
	free(parent);
	size_t n = strlen(od->final) + 32;
	od->work = xmalloc(n);
	snprintf(od->work, n, "%s.tmp-%ld", od->final, (long)getpid());
	if (mkdir(od->work, 0777) != 0)
		die("%s: cannot create directory: %s", od->work, strerror(errno));
	od->swap = 1;
	cli_atdie(remove_work, od);
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		die("%s: cannot open: %s", dir, strerror(errno));
	if (fsync(fd) != 0 && errno != EINVAL)
		die("%s: %s", dir, strerror(errno));
	close(fd);
}

/* Files of the old set's directory that are not the set (notes, a README)
 * move into the new one; the old set's own files go. */
static void carry_over(const char *old_dir, const char *new_dir)
{
	DIR *d = opendir(old_dir);
	if (!d) {
		warnx_("%s: cannot list: %s", old_dir, strerror(errno));
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || is_set_file(old_dir, n))
			continue;
		char *from = xpath_join(old_dir, n), *to = xpath_join(new_dir, n);
		if (rename(from, to) != 0)
			warnx_("%s: not moved into %s: %s", from, new_dir, strerror(errno));
		free(from);
		free(to);
	}
	closedir(d);
}

void shard_outdir_commit(shard_outdir *od)
{
	if (!od->swap)
		return;
	sync_dir(od->work);
	if (!od->replace) {
		if (rename(od->work, od->final) != 0)
			die("%s: cannot rename %s into place: %s", od->final, od->work, strerror(errno));
	} else {
		/* one atomic exchange: at every instant DIR is a complete set */
		if (renameat2(AT_FDCWD, od->work, AT_FDCWD, od->final, RENAME_EXCHANGE) != 0) {
			if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
				die("%s: cannot swap the new set in (%s): %s", od->final, od->work,
				    strerror(errno));
			/* a file system without exchange: the old set is moved aside
			 * first; a run killed in between finds it there and puts it back */
			size_t n = strlen(od->work) + 8;
			char *aside = xmalloc(n);
			snprintf(aside, n, "%s.old", od->work);
			if (rename(od->final, aside) != 0)
				die("%s: cannot move the old set aside: %s", od->final, strerror(errno));
			if (rename(od->work, od->final) != 0) {
				int e = errno;
				if (rename(aside, od->final) != 0)
					warnx_("%s: the old set is at %s", od->final, aside);
				die("%s: cannot rename %s into place: %s", od->final, od->work, strerror(e));
			}
			free(od->work);
			od->work = aside;
		}
	}
	cli_atdie_remove(remove_work, od);
	char *parent = dir_of(od->final);
	sync_dir(parent);
	free(parent);
	if (od->replace) {
		carry_over(od->work, od->final);
		remove_set_dir(od->work);
	}
}

void shard_outdir_free(shard_outdir *od)
{
	free(od->final);
	free(od->work);
}
