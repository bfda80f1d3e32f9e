/* tokenizer_hf_write.c - writes a byte-level BPE as a Hugging Face
 * tokenizer.json (the vocabulary in GPT-2's byte alphabet, merges as
 * "a b" strings, which every tokenizers version reads, since byte-level
 * strings never hold a space), and derives that form from a tiktoken
 * encoding's ranks, so that transformers reads an export of a run made
 * with r50k_base, cl100k_base or o200k_base. */
#include "tokenizer_internal.h"
#include "buf.h"
#include "cli.h"
#include "json.h"
#include "xio.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* s[0..n) in GPT-2's byte alphabet, as a JSON string, appended to o (a
 * checked buffer: running out of memory shows in it); u: a checked buffer
 * to work in. */
static void put_bytelevel(buf_t *o, buf_t *u, const char *s, size_t n)
{
	u->len = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c[4];
		utf8proc_ssize_t l =
			utf8proc_encode_char((utf8proc_int32_t)bytelevel_char((unsigned char)s[i]), c);
		buf_append(u, c, (size_t)l);
	}
	if (u->failed)
		o->failed = 1;
	else
		json_write_string(o, u->data ? u->data : "", u->len);
}

/* The merge of ids l and r as "a b" (the byte-level strings, unquoted). */
static void put_merge(buf_t *o, buf_t *u, buf_t *q, const bytelevel_bpe *b, uint32_t l,
		      uint32_t r)
{
	q->len = 0;
	put_bytelevel(q, u, b->bytes + b->off[l], b->off[l + 1] - b->off[l]);
	size_t ql = q->len;
	put_bytelevel(q, u, b->bytes + b->off[r], b->off[r + 1] - b->off[r]);
	if (q->failed) {
		o->failed = 1;
		return;
	}
	buf_putc(o, '"');
	buf_append(o, q->data + 1, ql - 2); /* without the quotes */
	buf_putc(o, ' ');
	buf_append(o, q->data + ql + 1, q->len - ql - 2);
	buf_putc(o, '"');
}

/* The text of b's tokenizer.json into o. */
void bytelevel_json_text(buf_t *o, const bytelevel_bpe *b)
{
	buf_t u = BUF_CHECKED, q = BUF_CHECKED;
	buf_puts(o, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n"
		 "  \"added_tokens\": [");
	int first = 1;
	for (uint32_t i = 0; i < b->n_ids; i++) {
		if (!b->special[i])
			continue;
		buf_printf(o, "%s\n    {\"id\": %u, \"content\": ", first ? "" : ",", i);
		json_write_string(o, b->bytes + b->off[i], b->off[i + 1] - b->off[i]);
		buf_puts(o, ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
			 "\"normalized\": false, \"special\": true}");
		first = 0;
	}
	buf_puts(o, "\n  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": {\"type\": \"Sequence\", "
		 "\"pretokenizers\": [\n    {\"type\": \"Split\", \"pattern\": {\"Regex\": ");
	json_write_string(o, b->pattern, b->pattern_len);
	buf_puts(o, "}, \"behavior\": \"Isolated\", \"invert\": false},\n"
		 "    {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
		 "\"use_regex\": false}\n  ]},\n"
		 "  \"post_processor\": null,\n"
		 "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, "
		 "\"trim_offsets\": true, \"use_regex\": true},\n"
		 "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, "
		 "\"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, "
		 "\"fuse_unk\": false, \"byte_fallback\": false, ");
	buf_printf(o, "\"ignore_merges\": %s,\n    \"vocab\": {", b->ignore_merges ? "true" : "false");
	first = 1;
	for (uint32_t i = 0; i < b->n_ids; i++) {
		if (!b->present[i])
			continue;
		buf_puts(o, first ? "\n      " : ",\n      ");
		if (b->special[i]) /* named as it is, as in added_tokens */
			json_write_string(o, b->bytes + b->off[i], b->off[i + 1] - b->off[i]);
		else
			put_bytelevel(o, &u, b->bytes + b->off[i], b->off[i + 1] - b->off[i]);
		buf_printf(o, ": %u", i);
		first = 0;
	}
	buf_puts(o, "\n    },\n    \"merges\": [");
	for (size_t m = 0; m < b->n_merges && !o->failed; m++) {
		buf_puts(o, m ? ",\n      " : "\n      ");
		put_merge(o, &u, &q, b, b->pairs[2 * m], b->pairs[2 * m + 1]);
	}
	buf_puts(o, "\n    ]\n  }\n}\n");
	buf_free(&u);
	buf_free(&q);
}

int bytelevel_json_write(const char *path, const bytelevel_bpe *b, char *err, size_t errlen)
{
	buf_t o = BUF_CHECKED;
	bytelevel_json_text(&o, b);
	int rc = o.failed ? errf(err, errlen, "%s: out of memory for its text", path)
			  : write_file_err(path, o.data, o.len, err, errlen);
	buf_free(&o);
	return rc;
}

/* The two tokens that tiktoken's merging of id's bytes, with only the
 * ranks below id, ends with: 0, or -1 when it does not end with two. */
static int last_merge(const tokenizer *t, uint32_t id, size_t *cut, uint32_t pair[2])
{
	const char *s = t->bytes + t->off[id];
	size_t n = t->off[id + 1] - t->off[id], parts = n;
	for (size_t i = 0; i <= n; i++)
		cut[i] = i; /* part k is s[cut[k] .. cut[k+1]) */
	while (parts > 2) {
		int64_t best = -1;
		size_t at = 0;
		for (size_t k = 0; k + 2 <= parts; k++) {
			int64_t r = strmap_get(&t->piece_ids, s + cut[k], cut[k + 2] - cut[k]);
			if (r >= 0 && (uint32_t)r < id && (best < 0 || r < best))
				best = r, at = k;
		}
		if (best < 0)
			return -1;
		memmove(cut + at + 1, cut + at + 2, (parts - at - 1) * sizeof *cut);
		parts--;
	}
	int64_t a = strmap_get(&t->piece_ids, s, cut[1]);
	int64_t c = strmap_get(&t->piece_ids, s + cut[1], n - cut[1]);
	if (parts != 2 || a < 0 || c < 0)
		return -1;
	pair[0] = (uint32_t)a, pair[1] = (uint32_t)c;
	return 0;
}

int tokenizer_write_hf_json(const tokenizer *t, const char *path, char *err, size_t errlen)
{
	if (t->kind != TOK_TIKTOKEN)
		return errf(err, errlen, "%s: not a tiktoken encoding", t->path), -1;
	uint32_t n = t->vocab_size;
	size_t longest = 0;
	for (uint32_t id = 0; id < n; id++)
		if (t->off[id + 1] - t->off[id] > longest)
			longest = t->off[id + 1] - t->off[id];
	size_t *cut = malloc((longest + 1) * sizeof *cut);
	uint32_t *pairs = reallocarray(NULL, n ? n : 1, 2 * sizeof *pairs);
	uint8_t *present = calloc(n ? n : 1, 1), *special = calloc(n ? n : 1, 1);
	size_t m = 0;
	int rc = cut && pairs && present && special
		 ? 0 : errf(err, errlen, "%s: out of memory for its merges", t->path);
	for (uint32_t id = 0; id < n && rc == 0; id++) {
		present[id] = (t->flags[id] & TOKF_PRESENT) != 0;
		special[id] = (t->flags[id] & TOKF_SPECIAL) != 0;
		if (!present[id] || special[id] || t->off[id + 1] - t->off[id] < 2)
			continue;
		if (last_merge(t, id, cut, pairs + 2 * m)) {
			rc = -1;
			errf(err, errlen,
			     "%s: rank %u is not the merge of two lower ranks: no tokenizer.json "
			     "can hold it", t->path, id);
		}
		m++;
	}
	if (rc == 0) {
		size_t pl;
		const char *pat = tok_pattern_text(t, &pl);
		bytelevel_bpe b = { .n_ids = n, .off = t->off, .bytes = t->bytes, .present = present,
				    .special = special, .pairs = pairs, .n_merges = m,
				    .pattern = pat, .pattern_len = pl, .ignore_merges = 1 };
		rc = bytelevel_json_write(path, &b, err, errlen);
	}
	free(cut);
	free(pairs);
	free(present);
	free(special);
	return rc;
}
