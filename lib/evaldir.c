/* evaldir.c - the default folder of the evaluation sets (evaldir.h). */
#include "evaldir.h"

#include "buf.h"

#include <stdlib.h>

char *eval_sets_dir(void)
{
	buf_t b = {0};
	const char *e = getenv("BONSAI_EVAL_DIR");
	if (e && *e)
		buf_puts(&b, e);
	else if ((e = getenv("BONSAI_CACHE")) && *e)
		buf_printf(&b, "%s/eval", e);
	else if ((e = getenv("XDG_CACHE_HOME")) && *e)
		buf_printf(&b, "%s/bonsai/eval", e);
	else {
		e = getenv("HOME");
		buf_printf(&b, "%s/.cache/bonsai/eval", e && *e ? e : ".");
	}
	buf_cstr(&b);
	return b.data;
}
