/* evaldir.h - where the cache and the evaluation sets live: bonsai-fetch
 * writes there and bonsai-eval reads from there, so both ask these. */
#ifndef BONSAI_EVALDIR_H
#define BONSAI_EVALDIR_H

#include <stddef.h>

/* $OVERRIDE, else $XDG_CACHE_HOME/NAME, else ~/.cache/NAME (the XDG rule
 * that both our cache and Hugging Face's follow). Returns a malloc'd
 * string; NULL with err[0] 0 when none of these is set, and NULL with
 * "out of memory ..." in err when that ran out. */
char *user_cache_dir(const char *override, const char *name, char *err, size_t errlen);

/* $BONSAI_CACHE, else $XDG_CACHE_HOME/bonsai, else ~/.cache/bonsai; NULL
 * as user_cache_dir() returns it. */
char *bonsai_cache_dir(char *err, size_t errlen);

/* $BONSAI_EVAL_DIR, else eval/ in bonsai_cache_dir() (./.cache/bonsai/eval
 * when there is none). Returns a malloc'd string; NULL with the message
 * in err when out of memory. */
char *eval_sets_dir(char *err, size_t errlen);

#endif
