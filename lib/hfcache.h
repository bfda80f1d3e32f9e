/* hfcache.h - Hugging Face's own conventions, shared by bonsai-fetch (which
 * fills the Hub cache) and the tools that take a model (which read it):
 * where the Hub cache is, its layout, the token file and offline mode.
 * No network here: nothing in lib/ links libcurl.
 *
 * The layout, as huggingface_hub keeps it:
 *   CACHE/models--ORG--NAME/blobs/ID          a file's bytes (ID: its LFS
 *                                              sha256, else its git blob id)
 *   CACHE/models--ORG--NAME/snapshots/COMMIT/PATH -> ../../blobs/ID
 *   CACHE/models--ORG--NAME/refs/REVISION      the commit, no newline
 * and datasets--ORG--NAME/ the same way. */
#ifndef BONSAI_HFCACHE_H
#define BONSAI_HFCACHE_H

#include <stddef.h>

/* $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
 * else ~/.cache/huggingface/hub; NULL with err[0] 0 when none of these is
 * set, NULL with "out of memory ..." in err when that ran out. */
char *hf_hub_cache_dir(char *err, size_t errlen);

/* $HF_TOKEN, else the first line of $HF_TOKEN_PATH, else of $HF_HOME/token
 * (default ~/.cache/huggingface/token), white space trimmed; NULL when
 * there is none. A token file that exists but cannot be read, or running
 * out of memory, is an error: NULL with the reason in err (err[0] is 0
 * when there is just no token). */
char *hf_token(char *err, size_t errlen);

/* Is HF_HUB_OFFLINE set to 1, ON, YES or TRUE (any case)? */
int hf_offline(void);

/* "models" or "datasets": CACHE/KIND--ORG--NAME; NULL when out of memory. */
char *hf_repo_dir(const char *cache, const char *kind, const char *repo);

/* Is s a 40-digit lower-case hex commit id? */
int hf_is_commit(const char *s);

/* The cached snapshot folder of repo at revision (a commit, or a branch or
 * tag through refs/REVISION); NULL with what is missing in err. */
char *hf_cached_snapshot(const char *cache, const char *kind, const char *repo,
	const char *revision, char *err, size_t errlen);

/* Is s a Hub repository id (ORG/NAME, letters, digits, - _ .)? */
int hf_repo_id_ok(const char *s);

/* The folder a tool's model argument stands for: arg itself when it
 * exists (or is no Hub id), else the snapshot of refs/main of the model
 * arg in the Hub cache. NULL, with a message telling the bonsai-fetch
 * command that downloads it, when it is not cached. */
char *hf_model_path(const char *arg, char *err, size_t errlen);

#endif
