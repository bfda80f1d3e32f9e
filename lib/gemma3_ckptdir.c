/* gemma3_ckptdir.c - finding the checkpoints of a run directory: one scan
 * for the trainer (resume, pruning) and the readers (latest checkpoint). */
#include "gemma3.h"
#include "cli.h"
#include "xio.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_NAME_FMT "ckpt-%08ld.safetensors"

char *gemma3_checkpoint_name(long step)
{
	char name[64];
	snprintf(name, sizeof name, CKPT_NAME_FMT, step);
	return xstrdup(name);
}

int gemma3_checkpoint_step(const char *name, long *step)
{
	if (strncmp(name, "ckpt-", 5) != 0)
		return 0;
	const char *p = name + 5;
	long v = 0;
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LONG_MAX - (*p - '0')) / 10)
			return 0;
		v = v * 10 + (*p - '0');
	}
	/* Only the name the writer makes: no other padding, no suffix. */
	char canon[64];
	snprintf(canon, sizeof canon, CKPT_NAME_FMT, v);
	if (strcmp(canon, name) != 0)
		return 0;
	*step = v;
	return 1;
}

static int by_step(const void *a, const void *b)
{
	long x = ((const gemma3_ckpt *)a)->step, y = ((const gemma3_ckpt *)b)->step;
	return x < y ? -1 : x > y;
}

size_t gemma3_list_checkpoints(const char *run_dir, gemma3_ckpt **list)
{
	*list = NULL;
	DIR *d = opendir(run_dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		long step;
		if (!gemma3_checkpoint_step(e->d_name, &step))
			continue;
		*list = xreallocarray(*list, n + 1, sizeof **list);
		(*list)[n].step = step;
		(*list)[n++].name = xstrdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(*list, n, sizeof **list, by_step);
	return n;
}

void gemma3_free_checkpoints(gemma3_ckpt *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

char *gemma3_latest_checkpoint(const char *run_dir)
{
	gemma3_ckpt *l;
	size_t n = gemma3_list_checkpoints(run_dir, &l);
	char *p = n ? path_join(run_dir, l[n - 1].name) : NULL;
	gemma3_free_checkpoints(l, n);
	return p;
}
