/* tokenizer_dir.c - see tokenizer_dir.h. */
#include "tokenizer_dir.h"
#include "cli.h"
#include "tokenizer.h"
#include "xio.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static char *folder_of(const char *path)
{
	struct stat st;
	char *dir = xstrdup(path);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
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

char *tokenizer_in_dir(const char *path)
{
	char *dir = folder_of(path), *found = xpath_join(dir, "tokenizer.tiktoken");
	if (!is_file(found)) {
		free(found);
		found = NULL;
	}
	DIR *d = found ? NULL : opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		if (!ends_with(e->d_name, ".tiktoken"))
			continue;
		char *p = xpath_join(dir, e->d_name);
		if (!is_file(p)) {
			free(p);
			continue;
		}
		free(found);
		found = p;
		n++;
	}
	if (d)
		closedir(d);
	if (n > 1) { /* which one the model's is cannot be told */
		free(found);
		found = NULL;
	}
	/* an export of a .tiktoken holds a tokenizer.json derived from it for
	 * transformers; ours read the ranks, whose fingerprint the shards keep */
	if (!found) {
		found = xpath_join(dir, "tokenizer.json");
		if (!is_file(found)) {
			free(found);
			found = NULL;
		}
	}
	free(dir);
	return found;
}

/* NAME.json for NAME.tiktoken (malloc()ed). */
static char *side_name(const char *tiktoken)
{
	size_t n = strlen(tiktoken) - strlen(".tiktoken");
	char *s = xmalloc(n + 6);
	memcpy(s, tiktoken, n);
	strcpy(s + n, ".json");
	return s;
}

int tokenizer_dir_file(const char *dir, const char *name)
{
	if (strcmp(name, "tokenizer.json") == 0 || ends_with(name, ".tiktoken"))
		return 1;
	if (!ends_with(name, ".json"))
		return 0;
	size_t n = strlen(name) - 5;
	char *tt = xmalloc(n + 10);
	memcpy(tt, name, n);
	strcpy(tt + n, ".tiktoken");
	char *p = xpath_join(dir, tt);
	int side = is_file(p);
	free(p);
	free(tt);
	return side ? 2 : 0;
}

static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
	size_t len;
	char *text = read_file_err(from, &len, err, errlen);
	if (!text)
		return -1;
	outfile *o = outfile_open(to);
	outfile_write(o, text, len);
	outfile_commit(o);
	free(text);
	return 0;
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

int tokenizer_copy_to_dir(const char *src, const char *dir, uint64_t fingerprint,
			  const char *what, char *err, size_t errlen)
{
	if (tokenizer_check_fingerprint(src, fingerprint, what, err, errlen))
		return -1;
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	int tiktoken = ends_with(base, ".tiktoken");
	char *to = xpath_join(dir, tiktoken ? base : "tokenizer.json");
	int rc = copy_file(src, to, err, errlen);
	if (rc == 0 && tiktoken) {
		char *side = side_name(src);
		if (is_file(side)) {
			char *sb = side_name(base), *side_to = xpath_join(dir, sb);
			rc = copy_file(side, side_to, err, errlen);
			free(side_to);
			free(sb);
		}
		free(side);
	}
	/* a .tiktoken read with --pattern loads differently under its name alone */
	if (rc == 0)
		rc = tokenizer_check_fingerprint(to, fingerprint, what, err, errlen);
	free(to);
	return rc;
}
