/* evaldir.c - the default cache and evaluation-set folders (evaldir.h). */
#include "evaldir.h"

#include "buf.h"
#include "cli.h"

#include <stdlib.h>

/* b's text, or NULL with the message when it ran out of memory. */
static char *take(buf_t *b, const char *what, char *err, size_t errlen)
{
	char *text = buf_take(b, NULL);
	if (text)
		return text;
	errf(err, errlen, "out of memory (for the name of %s)", what);
	return NULL;
}

char *user_cache_dir(const char *override, const char *name, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	buf_t b = BUF_CHECKED;
	const char *e = getenv(override);
	if (e && *e)
		buf_puts(&b, e);
	else if ((e = getenv("XDG_CACHE_HOME")) && *e)
		buf_printf(&b, "%s/%s", e, name);
	else if ((e = getenv("HOME")) && *e)
		buf_printf(&b, "%s/.cache/%s", e, name);
	else
		return NULL;
	return take(&b, "the cache folder", err, errlen);
}

char *bonsai_cache_dir(char *err, size_t errlen)
{
	return user_cache_dir("BONSAI_CACHE", "bonsai", err, errlen);
}

char *eval_sets_dir(char *err, size_t errlen)
{
	const char *e = getenv("BONSAI_EVAL_DIR");
	buf_t b = BUF_CHECKED;
	if (e && *e) {
		buf_puts(&b, e);
	} else {
		char *cache = bonsai_cache_dir(err, errlen);
		if (!cache && err && err[0])
			return NULL;
		buf_printf(&b, "%s/eval", cache ? cache : "./.cache/bonsai");
		free(cache);
	}
	return take(&b, "the evaluation sets' folder", err, errlen);
}
