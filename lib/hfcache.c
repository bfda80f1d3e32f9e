/* hfcache.c - see hfcache.h. */
#include "hfcache.h"
#include "buf.h"
#include "cli.h"
#include "evaldir.h"
#include "xio.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *env(const char *name)
{
	const char *e = getenv(name);
	return e && *e ? e : NULL;
}

/* $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface;
 * NULL as user_cache_dir() returns it. */
static char *hf_home(char *err, size_t errlen)
{
	return user_cache_dir("HF_HOME", "huggingface", err, errlen);
}

/* A copy of s, or NULL with the message (what: for it). */
static char *dup_or_err(const char *s, const char *what, char *err, size_t errlen)
{
	char *d = strdup(s);
	if (!d)
		errf(err, errlen, "out of memory (for %s)", what);
	return d;
}

/* FILE in $HF_HOME; NULL as user_cache_dir() returns it. */
static char *in_hf_home(const char *file, char *err, size_t errlen)
{
	char *home = hf_home(err, errlen);
	if (!home)
		return NULL;
	char *p = path_join(home, file);
	if (!p)
		errf(err, errlen, "%s/%s: out of memory", home, file);
	free(home);
	return p;
}

char *hf_hub_cache_dir(char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	const char *e = env("HF_HUB_CACHE");
	if (e)
		return dup_or_err(e, "the Hub cache's name", err, errlen);
	return in_hf_home("hub", err, errlen);
}

/* The first line of text, white space trimmed; NULL with err[0] 0 when
 * it is empty, with the message when out of memory. */
static char *first_line(const char *text, char *err, size_t errlen)
{
	const char *s = text;
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t k = strcspn(s, "\r\n");
	while (k && isspace((unsigned char)s[k - 1]))
		k--;
	if (!k)
		return NULL;
	char *tok = strndup(s, k);
	if (!tok)
		errf(err, errlen, "out of memory (for the token)");
	return tok;
}

char *hf_token(char *err, size_t errlen)
{
	err[0] = 0;
	const char *e = env("HF_TOKEN");
	if (e)
		return dup_or_err(e, "the token", err, errlen);
	char *path = env("HF_TOKEN_PATH") ? dup_or_err(env("HF_TOKEN_PATH"), "the token's path", err, errlen)
					  : in_hf_home("token", err, errlen);
	if (!path)
		return NULL;
	struct stat st;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		free(path);
		return NULL;
	}
	size_t n;
	char *text = read_file_err(path, &n, err, errlen);
	free(path);
	if (!text)
		return NULL;
	char *tok = first_line(text, err, errlen);
	free(text);
	return tok;
}

int hf_offline(void)
{
	const char *e = env("HF_HUB_OFFLINE");
	return e && (!strcmp(e, "1") || !strcasecmp(e, "on") || !strcasecmp(e, "yes") ||
		!strcasecmp(e, "true"));
}

char *hf_repo_dir(const char *cache, const char *kind, const char *repo)
{
	buf_t b = BUF_CHECKED;
	buf_printf(&b, "%s/%s--", cache, kind);
	for (const char *p = repo; *p; p++)
		if (*p == '/')
			buf_puts(&b, "--");
		else
			buf_putc(&b, *p);
	return buf_take(&b, NULL);
}

int hf_is_commit(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == 40;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

char *hf_cached_snapshot(const char *cache, const char *kind, const char *repo,
	const char *revision, char *err, size_t errlen)
{
	char *dir = hf_repo_dir(cache, kind, repo);
	char *commit = NULL;
	char *snap = NULL;
	buf_t b = BUF_CHECKED;
	if (!dir)
		goto no_memory;
	if (hf_is_commit(revision)) {
		if (!(commit = strdup(revision)))
			goto no_memory;
	} else {
		buf_printf(&b, "%s/refs/%s", dir, revision);
		const char *ref = buf_cstr(&b);
		if (!ref)
			goto no_memory;
		size_t n;
		char e2[512];
		char *text = read_file_err(ref, &n, e2, sizeof e2);
		if (!text) {
			if (err_out_of_memory(e2))
				errf(err, errlen, "%s", e2);
			else
				errf(err, errlen, "%s %s (revision %s) is not in the Hub cache %s: no %s", kind,
				     repo, revision, cache, ref);
			goto out;
		}
		text[strcspn(text, " \t\r\n")] = 0;
		if (!hf_is_commit(text)) {
			errf(err, errlen, "%s: not a commit id", ref);
			free(text);
			goto out;
		}
		commit = text;
	}
	b.len = 0;
	buf_printf(&b, "%s/snapshots/%s", dir, commit);
	const char *sp = buf_cstr(&b);
	if (!sp)
		goto no_memory;
	if (!is_dir(sp)) {
		errf(err, errlen, "%s %s (revision %s) is not in the Hub cache %s: no %s", kind, repo,
			revision, cache, sp);
		goto out;
	}
	snap = buf_take(&b, NULL); /* sp is its text: no new allocation */
	goto out;
no_memory:
	errf(err, errlen, "out of memory (for a path in the Hub cache %s)", cache);
out:
	buf_free(&b);
	free(commit);
	free(dir);
	return snap;
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c == '.';
}

int hf_repo_id_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return 0;
	for (const char *p = s; *p; p++)
		if (p != slash && !name_char(*p))
			return 0;
	/* "..", "." as a part would walk the URL tree or the cache */
	if (s[0] == '.' || slash[1] == '.')
		return 0;
	return 1;
}

char *hf_model_path(const char *arg, char *err, size_t errlen)
{
	struct stat st;
	if (stat(arg, &st) == 0 || !hf_repo_id_ok(arg))
		return dup_or_err(arg, "a model's path", err, errlen);
	char e2[1024];
	char *cache = hf_hub_cache_dir(e2, sizeof e2);
	if (!cache) {
		if (e2[0])
			errf(err, errlen, "%s", e2);
		else
			errf(err, errlen, "%s: no such file, and no Hub cache to look in for the model %s "
				"(set HF_HUB_CACHE, HF_HOME or HOME)", arg, arg);
		return NULL;
	}
	char *snap = hf_cached_snapshot(cache, "models", arg, "main", e2, sizeof e2);
	if (!snap && err_out_of_memory(e2))
		errf(err, errlen, "%s", e2);
	else if (!snap)
		errf(err, errlen, "%s: no such file, and %s; download it with: bonsai-fetch --model %s",
			arg, e2, arg);
	free(cache);
	return snap;
}
