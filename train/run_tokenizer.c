/* run_tokenizer.c - the run directory keeps its shards' tokenizer, so that
 * its checkpoints and their export carry it (bonsai-eval and
 * bonsai-generate find it there). */
#include "cli.h"
#include "commands.h"
#include "tokenizer_dir.h"
#include "xio.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

char *run_tokenizer_in(const char *dir)
{
	char *found, err[600];
	if (tokenizer_in_dir(dir, &found, err, sizeof err) < 0)
		die("%s", err);
	return found;
}

void run_keep_tokenizer(const char *data, const char *run, uint64_t fingerprint)
{
	char err[1200], what[600];
	snprintf(what, sizeof what, "the shards in %s (the run keeps its shards' tokenizer)", data);
	struct stat sb;
	char *have = stat(run, &sb) == 0 && S_ISDIR(sb.st_mode) ? run_tokenizer_in(run) : NULL;
	if (have) {
		if (tokenizer_check_fingerprint(have, fingerprint, what, err, sizeof err))
			die("%s", err);
		free(have);
		return;
	}
	char *src = run_tokenizer_in(data);
	if (!src)
		return; /* shards made without -t: the run has none either */
	mkdir_p(run);
	snprintf(what, sizeof what, "the shards in %s", data);
	if (tokenizer_copy_to_dir(src, run, fingerprint, what, err, sizeof err))
		die("%s", err);
	free(src);
}
