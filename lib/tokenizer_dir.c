/* tokenizer_dir.c - see tokenizer_dir.h. */
#include "tokenizer_dir.h"
#include "cli.h"
#include "tokenizer_internal.h"
#include "xio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n > k && strcmp(s + n - k, suf) == 0;
}

/* The folder of path (path itself when it is one); NULL when out of
 * memory. */
static char *folder_of(const char *path)
{
	struct stat st;
	char *dir = strdup(path);
	if (!dir || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return dir;
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	return dir;
}

/* dir/name into *found when it is a file (else *found stays): 0, or -1
 * when out of memory. */
static int find_file(const char *dir, const char *name, char **found)
{
	char *p = path_join(dir, name);
	if (!p)
		return -1;
	if (is_file(p)) {
		free(*found);
		*found = p;
		return 1;
	}
	free(p);
	return 0;
}

/* The folder's only *.tiktoken file into *found (NULL when none or more
 * than one): 0, or -1 when out of memory. */
static int only_tiktoken(const char *dir, char **found)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0, rc = 0;
	while (d && rc >= 0 && (e = readdir(d)))
		if (ends_with(e->d_name, ".tiktoken") && (rc = find_file(dir, e->d_name, found)) > 0)
			n++;
	if (d)
		closedir(d);
	if (n > 1 || rc < 0) { /* which one the model's is cannot be told */
		free(*found);
		*found = NULL;
	}
	return rc < 0 ? -1 : 0;
}

int tokenizer_in_dir(const char *path, char **found, char *err, size_t errlen)
{
	*found = NULL;
	char *dir = folder_of(path);
	/* an export of a .tiktoken holds a tokenizer.json derived from it for
	 * transformers; ours read the ranks, whose fingerprint the shards keep */
	int rc = dir ? find_file(dir, "tokenizer.tiktoken", found) : -1;
	if (rc == 0)
		rc = only_tiktoken(dir, found);
	if (rc == 0 && !*found)
		rc = find_file(dir, "tokenizer.json", found);
	free(dir);
	if (rc < 0) {
		free(*found);
		*found = NULL;
		return errf(err, errlen, "%s: out of memory looking for its tokenizer", path);
	}
	return 0;
}

int tokenizer_dir_file(const char *dir, const char *name)
{
	if (strcmp(name, "tokenizer.json") == 0 || ends_with(name, ".tiktoken"))
		return 1;
	if (!ends_with(name, ".json"))
		return 0;
	/* NAME.tiktoken looked up in dir, with no allocation: a longer name
	 * than a folder can hold is none there */
	size_t n = strlen(name) - 5;
	char tt[NAME_MAX + 1];
	if (n + sizeof ".tiktoken" > sizeof tt)
		return 0;
	memcpy(tt, name, n);
	strcpy(tt + n, ".tiktoken");
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	struct stat st;
	int side = fd >= 0 && fstatat(fd, tt, &st, 0) == 0 && S_ISREG(st.st_mode);
	if (fd >= 0)
		close(fd);
	return side ? 2 : 0;
}

/* Copies the file from to to (written whole, then renamed): 0, or -1 with
 * the message. */
static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
	size_t len;
	char *text = tok_read_file(from, &len, err, errlen);
	if (!text)
		return -1;
	int rc = write_file_err(to, text, len, err, errlen);
	free(text);
	return rc;
}

int tokenizer_check_fingerprint(const char *path, uint64_t fingerprint, const char *what,
				char *err, size_t errlen)
{
	char e[512];
	tokenizer *t = tokenizer_load(path, NULL, e, sizeof e);
	if (!t)
		return errf(err, errlen, "%s", e), -1;
	uint64_t fp = tokenizer_fingerprint(t);
	tokenizer_free(t);
	if (fp != fingerprint)
		return errf(err, errlen,
			    "%s: another tokenizer (fingerprint %016" PRIx64 ") than %s (%016" PRIx64
			    ")",
			    path, fp, what, fingerprint),
		       -1;
	return 0;
}

/* The .json beside a .tiktoken src, when there is one, copied beside its
 * copy in dir (*side_to: its name there, NULL when none). */
static int copy_side(const char *src, const char *base, const char *dir, char **side_to,
		     char *err, size_t errlen)
{
	*side_to = NULL;
	char *side = tiktoken_side_path(src), *sb = tiktoken_side_path(base);
	int rc = 0;
	if (!side || !sb || !(*side_to = path_join(dir, sb)))
		rc = errf(err, errlen, "%s: out of memory for a file name", dir);
	else if (!is_file(side)) {
		free(*side_to);
		*side_to = NULL;
	} else {
		rc = copy_file(side, *side_to, err, errlen);
	}
	free(side);
	free(sb);
	if (rc < 0) {
		free(*side_to);
		*side_to = NULL;
	}
	return rc;
}

int tokenizer_copy_to_dir(const char *src, const char *dir, uint64_t fingerprint,
			  const char *what, char *err, size_t errlen)
{
	if (tokenizer_check_fingerprint(src, fingerprint, what, err, errlen))
		return -1;
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	int tiktoken = ends_with(base, ".tiktoken");
	char *to = path_join(dir, tiktoken ? base : "tokenizer.json"), *side_to = NULL;
	if (!to)
		return errf(err, errlen, "%s: out of memory for a file name", dir);
	int rc = copy_file(src, to, err, errlen), copied = rc == 0;
	if (rc == 0 && tiktoken)
		rc = copy_side(src, base, dir, &side_to, err, errlen);
	/* a .tiktoken read with --pattern loads differently under its name alone */
	if (rc == 0)
		rc = tokenizer_check_fingerprint(to, fingerprint, what, err, errlen);
	if (rc < 0 && copied) { /* all of the copy or none of it */
		unlink(to);
		if (side_to)
			unlink(side_to);
	}
	free(side_to);
	free(to);
	return rc;
}
