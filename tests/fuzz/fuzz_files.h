/* fuzz_files.h - for libFuzzer targets that hand their input to a reader
 * through files, as the tools read them: a folder on tmpfs (a file per
 * input costs little there) made by fuzz_files_init(), removed with its
 * files at exit, and fuzz_put() to write one. */
#ifndef BONSAI_FUZZ_FILES_H
#define BONSAI_FUZZ_FILES_H

#include "xio.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[] = "/dev/shm/bonsai-fuzz.XXXXXX";
static char *fuzz_paths[4];

static void fuzz_files_remove(void)
{
	for (size_t i = 0; i < sizeof fuzz_paths / sizeof fuzz_paths[0] && fuzz_paths[i]; i++)
		unlink(fuzz_paths[i]);
	rmdir(fuzz_dir);
}

/* Makes the folder and the paths of the NULL-terminated names in it (at
 * most 4), fuzz_paths[i] for names[i]. */
static void fuzz_files_init(const char *const *names)
{
	if (!mkdtemp(fuzz_dir))
		abort();
	for (size_t i = 0; names[i]; i++) {
		if (i == sizeof fuzz_paths / sizeof fuzz_paths[0])
			abort();
		fuzz_paths[i] = xpath_join(fuzz_dir, names[i]);
	}
	atexit(fuzz_files_remove);
}

static void fuzz_put(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
		abort();
}

#endif
