/* evaldir.h - where the cache and the evaluation sets live: bonsai-fetch
 * writes there and bonsai-eval reads from there, so both ask these. */
#ifndef BONSAI_EVALDIR_H
#define BONSAI_EVALDIR_H

/* $OVERRIDE, else $XDG_CACHE_HOME/NAME, else ~/.cache/NAME (the XDG rule
 * that both our cache and Hugging Face's follow); NULL when none of these
 * is set. Returns a malloc'd string. */
char *user_cache_dir(const char *override, const char *name);

/* $BONSAI_CACHE, else $XDG_CACHE_HOME/bonsai, else ~/.cache/bonsai; NULL
 * when none of these is set. Returns a malloc'd string. */
char *bonsai_cache_dir(void);

/* $BONSAI_EVAL_DIR, else eval/ in bonsai_cache_dir() (./.cache/bonsai/eval
 * when there is none). Returns a malloc'd string. */
char *eval_sets_dir(void);

#endif
