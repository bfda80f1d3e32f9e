/* tokenizer_dir.h - the tokenizer a folder keeps: a shard folder the one
 * its shards were made with, a run folder its shards', an exported model
 * folder its own. The one place that knows where it lies in a folder, for
 * bonsai-shard, bonsai-train, bonsai-eval and bonsai-generate.
 *
 * A tokenizer.json is kept as "tokenizer.json"; a .tiktoken file under its
 * own name (the name picks the built-in pattern of r50k_base, cl100k_base
 * and o200k_base), with the NAME.json beside it when there is one. */
#ifndef BONSAI_TOKENIZER_DIR_H
#define BONSAI_TOKENIZER_DIR_H

#include <stddef.h>
#include <stdint.h>

/* The tokenizer of the folder path, or of the folder a file path lies in
 * (a checkpoint's run folder): tokenizer.tiktoken, the folder's only
 * *.tiktoken file, or tokenizer.json (an export of a .tiktoken holds both:
 * the ranks are the tokenizer, the tokenizer.json is for transformers).
 * Into *found (malloc()ed; NULL when there is none): 0, or -1 with the
 * message in err[errlen] when out of memory. */
int tokenizer_in_dir(const char *path, char **found, char *err, size_t errlen);

/* Is name (a file name, no folder) one that tokenizer_copy_to_dir may
 * write? 2 for a .tiktoken's side NAME.json (when dir holds NAME.tiktoken),
 * 1 for the other names, 0 otherwise. */
int tokenizer_dir_file(const char *dir, const char *name);

/* Checks that src has the given fingerprint (what: whose it is, for the
 * message), copies it into dir (each file written whole, then renamed) and
 * checks that the copy loads with that fingerprint too. Returns 0, or -1
 * with the message in err: tokenizer_check_fingerprint's, a write error's,
 * or that memory ran out; the files it wrote are removed again then. */
int tokenizer_copy_to_dir(const char *src, const char *dir, uint64_t fingerprint,
			  const char *what, char *err, size_t errlen);

/* Loads path (tokenizer_load) and checks its fingerprint: 0, or -1 with
 * "PATH: ..." naming both fingerprints (what says what the other is, e.g.
 * "the shards in DIR"). */
int tokenizer_check_fingerprint(const char *path, uint64_t fingerprint, const char *what,
				char *err, size_t errlen);

#endif
