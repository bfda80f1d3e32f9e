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

/* $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
static char *hf_home(void)
{
	return user_cache_dir("HF_HOME", "huggingface");
}

char *hf_hub_cache_dir(void)
{
	const char *e = env("HF_HUB_CACHE");
	if (e)
		return xstrdup(e);
	char *home = hf_home();
	if (!home)
		return NULL;
	char *d = xpath_join(home, "hub");
	free(home);
	return d;
}

char *hf_token(char *err, size_t errlen)
{
	err[0] = 0;
	const char *e = env("HF_TOKEN");
	if (e)
		return xstrdup(e);
	char *path = env("HF_TOKEN_PATH") ? xstrdup(env("HF_TOKEN_PATH")) : NULL;
	if (!path) {
		char *home = hf_home();
		if (!home)
			return NULL;
		path = xpath_join(home, "token");
		free(home);
	}
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
	char *s = text;
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t k = strcspn(s, "\r\n");
	while (k && isspace((unsigned char)s[k - 1]))
		k--;
	char *tok = NULL;
	if (k) {
		tok = xmalloc(k + 1);
		memcpy(tok, s, k);
		tok[k] = 0;
	}
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
	buf_t b = {0};
	buf_printf(&b, "%s/%s--", cache, kind);
	for (const char *p = repo; *p; p++)
		if (*p == '/')
			buf_puts(&b, "--");
		else
			buf_putc(&b, *p);
	buf_cstr(&b);
	return b.data;
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
	buf_t b = {0};
	if (hf_is_commit(revision)) {
		commit = xstrdup(revision);
	} else {
		buf_printf(&b, "%s/refs/%s", dir, revision);
		size_t n;
		char e2[512];
		char *text = read_file_err(buf_cstr(&b), &n, e2, sizeof e2);
		if (!text) {
			errf(err, errlen, "%s %s (revision %s) is not in the Hub cache %s: no %s", kind, repo,
				revision, cache, buf_cstr(&b));
			goto out;
		}
		text[strcspn(text, " \t\r\n")] = 0;
		if (!hf_is_commit(text)) {
			errf(err, errlen, "%s: not a commit id", buf_cstr(&b));
			free(text);
			goto out;
		}
		commit = text;
	}
	b.len = 0;
	buf_printf(&b, "%s/snapshots/%s", dir, commit);
	if (!is_dir(buf_cstr(&b))) {
		errf(err, errlen, "%s %s (revision %s) is not in the Hub cache %s: no %s", kind, repo,
			revision, cache, buf_cstr(&b));
		goto out;
	}
	snap = xstrdup(buf_cstr(&b));
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
		return xstrdup(arg);
	char *cache = hf_hub_cache_dir();
	if (!cache) {
		errf(err, errlen, "%s: no such file, and no Hub cache to look in for the model %s "
			"(set HF_HUB_CACHE, HF_HOME or HOME)", arg, arg);
		return NULL;
	}
	char e2[1024];
	char *snap = hf_cached_snapshot(cache, "models", arg, "main", e2, sizeof e2);
	if (!snap)
		errf(err, errlen, "%s: no such file, and %s; download it with: bonsai-fetch --model %s",
			arg, e2, arg);
	free(cache);
	return snap;
}
