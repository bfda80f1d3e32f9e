/* train_write.c - writes a trained byte-level BPE as a Hugging Face
 * tokenizer.json: the cl100k pattern split then ByteLevel (no regex) as the
 * pre-tokenizer, the ByteLevel decoder, the special tokens as added tokens.
 * Merges are written as "a b" strings, which every tokenizers version
 * reads (byte-level strings never hold a space). */
#include "train.h"
#include "cli.h"
#include "json.h"
#include "pretok.h"
#include "tokenizer_internal.h"
#include "xio.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

void train_write_json(const char *path, char **specials, size_t n_special,
		      const uint32_t *pairs, size_t n_merges)
{
	size_t n = n_special + 256 + n_merges;
	buf_t *str = xcalloc(n, sizeof *str); /* byte-level string of each id */
	for (size_t i = 0; i < n_special; i++)
		buf_puts(&str[i], specials[i]);
	for (int b = 0; b < 256; b++) {
		unsigned char u[4];
		utf8proc_ssize_t l = utf8proc_encode_char((utf8proc_int32_t)bytelevel_char((unsigned char)b), u);
		buf_append(&str[n_special + (size_t)b], u, (size_t)l);
	}
	for (size_t m = 0; m < n_merges; m++) {
		buf_t *z = &str[n_special + 256 + m];
		buf_append(z, str[pairs[2 * m]].data, str[pairs[2 * m]].len);
		buf_append(z, str[pairs[2 * m + 1]].data, str[pairs[2 * m + 1]].len);
	}

	buf_t o = { 0 };
	buf_puts(&o, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n"
		 "  \"added_tokens\": [");
	for (size_t i = 0; i < n_special; i++) {
		buf_printf(&o, "%s\n    {\"id\": %zu, \"content\": ", i ? "," : "", i);
		json_write_string(&o, str[i].data, str[i].len);
		buf_puts(&o, ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
			 "\"normalized\": false, \"special\": true}");
	}
	buf_puts(&o, "\n  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": {\"type\": \"Sequence\", "
		 "\"pretokenizers\": [\n    {\"type\": \"Split\", \"pattern\": {\"Regex\": ");
	const char *re = pretok_pattern_text(PRETOK_CL100K);
	json_write_string(&o, re, strlen(re));
	buf_puts(&o, "}, \"behavior\": \"Isolated\", \"invert\": false},\n"
		 "    {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
		 "\"use_regex\": false}\n  ]},\n"
		 "  \"post_processor\": null,\n"
		 "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, "
		 "\"trim_offsets\": true, \"use_regex\": true},\n"
		 "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, "
		 "\"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, "
		 "\"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n"
		 "    \"vocab\": {");
	for (size_t i = 0; i < n; i++) {
		buf_puts(&o, i ? ",\n      " : "\n      ");
		json_write_string(&o, str[i].data, str[i].len);
		buf_printf(&o, ": %zu", i);
	}
	buf_puts(&o, "\n    },\n    \"merges\": [");
	for (size_t m = 0; m < n_merges; m++) {
		const buf_t *a = &str[pairs[2 * m]], *b = &str[pairs[2 * m + 1]];
		buf_t ab = { 0 };
		buf_append(&ab, a->data, a->len);
		buf_putc(&ab, ' ');
		buf_append(&ab, b->data, b->len);
		buf_puts(&o, m ? ",\n      " : "\n      ");
		json_write_string(&o, ab.data, ab.len);
		buf_free(&ab);
	}
	buf_puts(&o, "\n    ]\n  }\n}\n");

	outfile *f = outfile_open(path);
	outfile_write(f, o.data, o.len);
	outfile_commit(f);
	buf_free(&o);
	for (size_t i = 0; i < n; i++)
		buf_free(&str[i]);
	free(str);
}
