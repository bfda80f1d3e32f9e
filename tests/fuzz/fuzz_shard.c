/* fuzz_shard.c - libFuzzer target for the readers of bonsai-shard's inputs
 * and outputs: the first byte picks what the rest is,
 *   0: a token stream (tokreader: header, frames, end mark, zstd);
 *   1: a shard file (shard_open with verify: header, sizes, checksum,
 *      zstd payload, token ids, document table);
 *   2: a shard directory's manifest (manifest_read).
 * Each reader must refuse bad bytes with a message and return; a stream
 * that reads to its end must have counted what its end mark says. The
 * bytes go through a file, as the tools read them.
 *   make fuzz && build/fuzz/fuzz_shard -max_total_time=30 CORPUS_DIR */
#include "cli.h"
#include "fuzz_files.h"
#include "shard.h"
#include "tokstream.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cli_init("fuzz_shard");
	fuzz_files_init((const char *const[]){ "input", "manifest", NULL });
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0] % 3;
	char err[600];
	fuzz_put(fuzz_paths[mode == 2], data + 1, size - 1);
	if (mode == 0) {
		tokreader *r = tokreader_open(fuzz_paths[0], err, sizeof err);
		if (!r)
			return 0;
		const uint32_t *ids;
		size_t n;
		int more;
		uint32_t vocab = tokreader_info(r)->vocab_size;
		while ((more = tokreader_next(r, &ids, &n, err, sizeof err)) > 0)
			for (size_t i = 0; i < n; i++)
				if (ids[i] >= vocab)
					abort();
		tokreader_close(r);
	} else if (mode == 1) {
		shard *s = shard_open(fuzz_paths[0], 1, err, sizeof err);
		if (!s)
			return 0;
		uint64_t sum = 0;
		for (uint64_t i = 0; i < s->h.n_tokens; i++)
			sum += shard_token(s, i);
		for (uint64_t d = 0; d < s->h.n_docs; d++)
			if (s->doc_starts[d] > s->h.n_tokens)
				abort();
		shard_close(s);
		(void)sum;
	} else {
		manifest *m = manifest_read(fuzz_dir, err, sizeof err);
		if (m) {
			for (size_t i = 0; i < m->n; i++)
				if (!m->entries[i].file || strchr(m->entries[i].file, '/'))
					abort();
			manifest_free(m);
		}
	}
	return 0;
}
