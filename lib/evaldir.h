/* evaldir.h - where the evaluation sets live: bonsai-fetch --eval writes
 * there and bonsai-eval reads from there, so both ask this one function. */
#ifndef BONSAI_EVALDIR_H
#define BONSAI_EVALDIR_H

/* $BONSAI_EVAL_DIR, else $BONSAI_CACHE/eval, else
 * $XDG_CACHE_HOME/bonsai/eval, else ~/.cache/bonsai/eval (./.cache/... with
 * no HOME). Returns a malloc'd string. */
char *eval_sets_dir(void);

#endif
