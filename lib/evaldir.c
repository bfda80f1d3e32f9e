/* evaldir.c - the default cache and evaluation-set folders (evaldir.h). */
#include "evaldir.h"

#include "buf.h"

#include <stdlib.h>

char *user_cache_dir(const char *override, const char *name)
{
	buf_t b = {0};
	const char *e = getenv(override);
	if (e && *e)
		buf_puts(&b, e);
	else if ((e = getenv("XDG_CACHE_HOME")) && *e)
		buf_printf(&b, "%s/%s", e, name);
	else if ((e = getenv("HOME")) && *e)
		buf_printf(&b, "%s/.cache/%s", e, name);
	else
		return NULL;
	buf_cstr(&b);
	return b.data;
}

char *bonsai_cache_dir(void)
{
	return user_cache_dir("BONSAI_CACHE", "bonsai");
}

char *eval_sets_dir(void)
{
	const char *e = getenv("BONSAI_EVAL_DIR");
	buf_t b = {0};
	if (e && *e) {
		buf_puts(&b, e);
	} else {
		char *cache = bonsai_cache_dir();
		buf_printf(&b, "%s/eval", cache ? cache : "./.cache/bonsai");
		free(cache);
	}
	buf_cstr(&b);
	return b.data;
}
