/* train_write.c - writes a trained byte-level BPE as a Hugging Face
 * tokenizer.json: the cl100k pattern split then ByteLevel (no regex) as the
 * pre-tokenizer, the ByteLevel decoder, the special tokens as added tokens. */
#include "train.h"
#include "cli.h"
#include "pretok.h"
#include "tokenizer_internal.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

int bytelevel_text_bytes(const char *s, buf_t *out)
{
	out->len = 0;
	for (size_t i = 0, n = strlen(s); i < n;) {
		int32_t cp;
		i += utf8_decode(s + i, n - i, &cp);
		int b = cp < 0 ? -1 : bytelevel_byte((uint32_t)cp);
		if (b < 0)
			return -1;
		buf_putc(out, (char)b);
	}
	return 0;
}

/* A vocab string is a special token's text as it is and every other
 * token's bytes in the byte-level alphabet: a token of a special's text
 * (--special Ġthe and the merge of " the") would be one key twice in the
 * vocab, which no loader takes. Cutting the specials out of the text
 * before counting leaves only such non-ASCII spellings to make one. */
static void refuse_clash(char **specials, size_t n_special, const char *bytes,
			 const uint64_t *off, size_t n)
{
	buf_t sb = { 0 };
	for (size_t k = 0; k < n_special; k++) {
		if (bytelevel_text_bytes(specials[k], &sb) < 0)
			continue;
		for (size_t i = n_special; i < n; i++)
			if (off[i + 1] - off[i] == sb.len && !memcmp(bytes + off[i], sb.data, sb.len))
				die("--special %s: the training made token %zu of the same vocab text "
				    "(its bytes in the byte-level alphabet): no tokenizer.json can hold "
				    "both; give another special token", specials[k], i);
	}
	buf_free(&sb);
}

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
	refuse_clash(specials, n_special, bytes.data, off, n);
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
