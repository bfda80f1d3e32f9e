/* tokenizer_load.c - loading a tokenizer by its content: a JSON object is a
 * tokenizer.json, anything else a .tiktoken file. A large source goes
 * through its compiled form, kept in the cache so that the next load maps
 * it instead of parsing again. */
#include "tokenizer_internal.h"
#include "cli.h"
#include "evaldir.h"
#include "hash.h"
#include "xio.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Source files smaller than this are parsed every time. */
#define COMPILE_MIN_BYTES (256u << 10)

/* What the compiled form is made from: the format, the source's bytes,
 * the pattern given and, for a .tiktoken file, the .json beside it. 0 with
 * it in *key, or -1 with the message when the .json cannot be read. */
static int source_key(const char *path, const char *text, size_t len, const char *pattern,
		      int is_json, uint64_t *key, char *err, size_t errlen)
{
	xxh64_state s;
	xxh64_init(&s, 0);
	uint64_t head[2] = { TOK_COMPILED_VERSION, len };
	static const char tag[] = "bonsai-tokenizer-compiled " BONSAI_VERSION;
	xxh64_update(&s, tag, sizeof tag);
	xxh64_update(&s, head, sizeof head);
	xxh64_update(&s, text, len);
	xxh64_update(&s, pattern ? pattern : "", pattern ? strlen(pattern) + 1 : 0);
	if (!is_json) {
		/* the file's name picks the pattern of r50k_base, cl100k_base
		 * and o200k_base: the same ranks under another name are another
		 * tokenizer (or none, wanting --pattern), not the cached one */
		const char *b = strrchr(path, '/');
		b = b ? b + 1 : path;
		xxh64_update(&s, b, strlen(b) + 1);
		char *jp = tiktoken_side_path(path), *side = NULL;
		size_t sl;
		if (!jp)
			return tok_fail(err, errlen, path, 0, "out of memory for a file name");
		/* the loader reads it too, when it is there */
		if (access(jp, R_OK) == 0 && !(side = tok_read_file(jp, &sl, err, errlen))) {
			free(jp);
			return -1;
		}
		if (side)
			xxh64_update(&s, side, sl);
		free(side);
		free(jp);
	}
	*key = xxh64_digest(&s);
	return 0;
}

/* The compiled form's file in the cache into *p (NULL: no cache folder),
 * with the folders above it made: 0, or -1 with the message when out of
 * memory. */
static int compiled_path(const char *path, uint64_t key, char **p, char *err, size_t errlen)
{
	*p = NULL;
	char e[512];
	char *dir = bonsai_cache_dir(e, sizeof e);
	if (!dir && e[0])
		return tok_fail(err, errlen, path, 0, "%s", e);
	if (!dir)
		return 0;
	char name[64];
	snprintf(name, sizeof name, "tokenizers/%016" PRIx64 ".bin", key);
	char *cp = path_join(dir, name);
	free(dir);
	if (!cp)
		return tok_fail(err, errlen, path, 0, "out of memory for the name of its compiled form");
	/* a folder that cannot be made: no cache, loading from the source
	 * still works; out of memory is an error */
	if (mkdirs_above_err(cp, e, sizeof e) && err_out_of_memory(e)) {
		free(cp);
		return tok_fail(err, errlen, path, 0, "%s", e);
	}
	*p = cp;
	return 0;
}

/* The source's bytes: mapped when it is a regular file large enough to be
 * compiled (a copy of 33 MB would cost more than hashing it for its key),
 * else read (a small file, a pipe). *mapped says which; NULL with the
 * message on an error. */
static char *source_bytes(const char *path, size_t *len, int *mapped, char *err, size_t errlen)
{
	*mapped = 0;
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= (off_t)COMPILE_MIN_BYTES) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (m != MAP_FAILED) {
			close(fd);
			*mapped = 1;
			*len = (size_t)st.st_size;
			return m;
		}
	}
	if (fd >= 0)
		close(fd);
	return tok_read_file(path, len, err, errlen);
}

/* The tokenizer from the compiled form in cpath (*t NULL when none) or
 * else from the source text (NUL-terminated, as the parsers want it: read
 * again when it was mapped), keeping its compiled form in cpath. 0, or -1
 * with the message. */
static int load_text(const char *path, const char *pattern, char **text, size_t *len,
		     int *mapped, int is_json, uint64_t key, char **cpath, tokenizer **t,
		     char *err, size_t errlen)
{
	int damaged;
	if (*cpath && tok_compiled_open(*cpath, key, t, &damaged, err, errlen) < 0)
		return -1;
	if (*cpath && damaged)
		warnx_("note: %s (compiled from %s) is damaged: made again", *cpath, path);
	if (*t)
		return 0;
	if (*mapped) {
		munmap(*text, *len);
		*mapped = 0;
		uint64_t now;
		if (!(*text = tok_read_file(path, len, err, errlen)))
			return -1;
		if (*cpath && source_key(path, *text, *len, pattern, is_json, &now, err, errlen) < 0)
			return -1;
		if (*cpath && now != key) { /* changed since: keep no compiled form of what was read */
			free(*cpath);
			*cpath = NULL;
		}
	}
	if (is_json && pattern)
		return tok_fail(err, errlen, path, 0, "--pattern applies to .tiktoken files only");
	*t = is_json ? tokenizer_load_hf(path, *text, *len, err, errlen)
		     : tokenizer_load_tiktoken(path, *text, *len, pattern, err, errlen);
	if (!*t)
		return -1;
	char werr[512];
	if (*cpath && tok_compiled_write(*t, *cpath, key, werr, sizeof werr) < 0)
		warnx_("note: cannot keep the compiled tokenizer: %s", werr);
	return 0;
}

tokenizer *tokenizer_load(const char *path, const char *pattern, char *err, size_t errlen)
{
	size_t len;
	int mapped;
	pretok_init();
	char *text = source_bytes(path, &len, &mapped, err, errlen);
	if (!text)
		return NULL;
	size_t i = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	int is_json = i < len && text[i] == '{';
	uint64_t key = 0;
	char *cpath = NULL;
	tokenizer *t = NULL;
	int rc = 0;
	/* a small file parses in milliseconds: no key, no file in the cache */
	if (len >= COMPILE_MIN_BYTES && (rc = source_key(path, text, len, pattern, is_json, &key, err,
							  errlen)) == 0)
		rc = compiled_path(path, key, &cpath, err, errlen);
	if (rc == 0)
		rc = load_text(path, pattern, &text, &len, &mapped, is_json, key, &cpath, &t, err,
			       errlen);
	free(cpath);
	if (mapped)
		munmap(text, len);
	else
		free(text);
	if (rc == 0 && !(t->path = strdup(path)))
		rc = tok_fail(err, errlen, path, 0, "out of memory for its name");
	if (rc < 0) {
		tokenizer_free(t);
		return NULL;
	}
	static uint64_t serial;
	t->serial = __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED);
	return t;
}
