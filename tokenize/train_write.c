/* train_write.c - writes a trained byte-level BPE as a Hugging Face
 * tokenizer.json: the cl100k pattern split then ByteLevel (no regex) as the
 * pre-tokenizer, the ByteLevel decoder, the special tokens as added tokens. */
#include "train.h"
#include "cli.h"
#include "pretok.h"
#include "tokenizer_internal.h"

#include <stdlib.h>
#include <string.h>

void train_write_json(outfile *out, char **specials, size_t n_special,
		      const uint32_t *pairs, size_t n_merges)
{
	size_t n = n_special + 256 + n_merges;
	uint64_t *off = xcalloc(n + 1, sizeof *off);
	uint8_t *present = xmalloc(n), *special = xcalloc(n, 1);
	buf_t bytes = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (i < n_special) {
			buf_puts(&bytes, specials[i]);
			special[i] = 1;
		} else if (i < n_special + 256) {
			buf_putc(&bytes, (char)(i - n_special));
		} else {
			size_t m = i - n_special - 256;
			for (int k = 0; k < 2; k++) {
				uint32_t p = pairs[2 * m + k];
				/* the buffer may move as it grows */
				size_t at = (size_t)off[p], len = (size_t)(off[p + 1] - off[p]);
				buf_reserve(&bytes, len);
				buf_append(&bytes, bytes.data + at, len);
			}
		}
		present[i] = 1;
		off[i + 1] = bytes.len;
	}
	const char *re = pretok_pattern_text(PRETOK_CL100K);
	bytelevel_bpe b = { .n_ids = (uint32_t)n, .off = off, .bytes = bytes.data ? bytes.data : "",
			    .present = present, .special = special, .pairs = pairs,
			    .n_merges = n_merges, .pattern = re, .pattern_len = strlen(re),
			    .ignore_merges = 0 };
	/* checked: the writer's own buffers report running out through it */
	buf_t text = BUF_CHECKED;
	bytelevel_json_text(&text, &b);
	if (text.failed)
		die("%s: out of memory for its text", out->path);
	outfile_write(out, text.data, text.len);
	outfile_commit(out);
	buf_free(&text);
	buf_free(&bytes);
	free(off);
	free(present);
	free(special);
}
