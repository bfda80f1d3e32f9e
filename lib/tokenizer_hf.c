/* tokenizer_hf.c - loads a Hugging Face tokenizer.json with a BPE model.
 * Supported (anything else is refused with a message, never guessed):
 *   normalizer: null, Replace with a String pattern, Sequence of those;
 *   pre_tokenizer: null, Split on a String, Split on the Regex of a built-in
 *     pattern (Isolated), ByteLevel (add_prefix_space false), Sequence;
 *   decoder: Replace, ByteFallback, Fuse, ByteLevel, Sequence (or null);
 *   model: BPE with byte_fallback, unk_token, fuse_unk, ignore_merges;
 *   added_tokens without lstrip/rstrip/single_word. */
#include "tokenizer_internal.h"
#include "buf.h"
#include "cli.h"
#include "hash.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct {
	const char *path;
	tokenizer *t;
	char *err;
	size_t errlen;
	int byte_level;      /* a ByteLevel pre-tokenizer or decoder */
	int split_regex;     /* a Split with a Regex pattern was seen */
	size_t n_drepl;      /* decoder Replace rules */
	const char *drepl_from[8], *drepl_to[8];
	size_t drepl_from_len[8], drepl_to_len[8];
	int byte_fallback_dec;
} hf_load;

/* Every refusal: the message with the file's name, and -1. */
#define FAIL(...) return tok_fail(L->err, L->errlen, L->path, 0, __VA_ARGS__)
static int no_memory(const hf_load *L, const char *what)
{
	return tok_no_memory(L->err, L->errlen, L->path, what);
}

/* Makes room for one more replacement in each of t's normalizer arrays
 * (each keeps its contents when another cannot grow). */
static int repl_room(tokenizer *t)
{
	void *p[] = { t->repl_from, t->repl_to, t->repl_from_len, t->repl_to_len };
	static const size_t size[] = { sizeof *t->repl_from, sizeof *t->repl_to,
				       sizeof *t->repl_from_len, sizeof *t->repl_to_len };
	int rc = grow_arrays(p, size, 4, t->n_repl + 1);
	t->repl_from = p[0], t->repl_to = p[1], t->repl_from_len = p[2], t->repl_to_len = p[3];
	return rc;
}

/* v's "type", or NULL (with the message) when it has none. */
static const char *type_of(hf_load *L, const json_value *v, const char *what)
{
	const char *ty = json_get_str(v, "type");
	if (!ty)
		tok_fail(L->err, L->errlen, L->path, 0, "%s has no \"type\"", what);
	return ty;
}

static int is_false(const json_value *v)
{
	return !v || v->type == JSON_NULL || v->type == JSON_FALSE;
}

/* A {"String": s} pattern, or NULL (with the message). */
static const json_value *string_pattern(hf_load *L, const json_value *v, const char *what)
{
	const json_value *p = json_get(v, "pattern");
	const json_value *s = p ? json_get(p, "String") : NULL;
	if (!s || s->type != JSON_STRING) {
		tok_fail(L->err, L->errlen, L->path, 0, "%s: only String patterns are supported", what);
		return NULL;
	}
	return s;
}

static int add_normalizer(hf_load *L, const json_value *v)
{
	if (!v || v->type == JSON_NULL)
		return 0;
	const char *ty = type_of(L, v, "normalizer");
	if (!ty)
		return -1;
	tokenizer *t = L->t;
	if (strcmp(ty, "Sequence") == 0) {
		const json_value *a = json_get(v, "normalizers");
		if (!a || a->type != JSON_ARRAY)
			FAIL("normalizer Sequence without normalizers");
		for (size_t i = 0; i < a->len; i++)
			if (add_normalizer(L, &a->items[i]) < 0)
				return -1;
	} else if (strcmp(ty, "Replace") == 0) {
		const json_value *from = string_pattern(L, v, "normalizer Replace");
		const json_value *to = json_get(v, "content");
		if (!from)
			return -1;
		if (!to || to->type != JSON_STRING)
			FAIL("normalizer Replace without content");
		if (from->len == 0)
			FAIL("normalizer Replace of an empty string");
		size_t k = t->n_repl;
		char *f = NULL, *r = NULL;
		if (repl_room(t) < 0 || !(f = tok_copy_str(from->str, from->len)) ||
		    !(r = tok_copy_str(to->str, to->len))) {
			free(f);
			return no_memory(L, "the normalizer");
		}
		t->repl_from[k] = f;
		t->repl_from_len[k] = from->len;
		t->repl_to[k] = r;
		t->repl_to_len[k] = to->len;
		t->n_repl++;
	} else {
		FAIL("normalizer %s is not supported", ty);
	}
	return 0;
}

static int add_pre_tokenizer(hf_load *L, const json_value *v)
{
	if (!v || v->type == JSON_NULL)
		return 0;
	const char *ty = type_of(L, v, "pre_tokenizer");
	if (!ty)
		return -1;
	tokenizer *t = L->t;
	if (strcmp(ty, "Sequence") == 0) {
		const json_value *a = json_get(v, "pretokenizers");
		if (!a || a->type != JSON_ARRAY)
			FAIL("pre_tokenizer Sequence without pretokenizers");
		for (size_t i = 0; i < a->len; i++)
			if (add_pre_tokenizer(L, &a->items[i]) < 0)
				return -1;
	} else if (strcmp(ty, "Split") == 0) {
		if (t->split || t->pretok != PRETOK_NONE)
			FAIL("more than one splitting pre-tokenizer is not supported");
		if (!is_false(json_get(v, "invert")))
			FAIL("pre_tokenizer Split with invert is not supported");
		const char *beh = json_get_str(v, "behavior");
		static const char *const names[] = { "Removed", "Isolated", "MergedWithPrevious",
			"MergedWithNext", "Contiguous" };
		int b = -1;
		for (int i = 0; i < 5; i++)
			if (beh && strcmp(beh, names[i]) == 0)
				b = i;
		if (b < 0)
			FAIL("pre_tokenizer Split: unknown behavior %s", beh ? beh : "(none)");
		const json_value *p = json_get(v, "pattern");
		const json_value *re = p ? json_get(p, "Regex") : NULL;
		if (re && re->type == JSON_STRING) {
			if (b != SPLIT_ISOLATED)
				FAIL("pre_tokenizer Split on a regex must be Isolated");
			if (tok_set_pattern(t, re->str, re->len, 1, L->path, L->err, L->errlen) < 0)
				return -1;
		} else {
			const json_value *s = string_pattern(L, v, "pre_tokenizer Split");
			if (!s)
				return -1;
			if (s->len == 0)
				FAIL("pre_tokenizer Split on an empty string");
			if (!(t->split = tok_copy_str(s->str, s->len)))
				return no_memory(L, "the pre-tokenizer");
			t->split_len = s->len;
			t->split_behavior = b;
		}
	} else if (strcmp(ty, "ByteLevel") == 0) {
		if (!is_false(json_get(v, "add_prefix_space")))
			FAIL("pre_tokenizer ByteLevel with add_prefix_space is not supported");
		L->byte_level = 1;
		const json_value *ur = json_get(v, "use_regex");
		if (!ur || ur->type == JSON_TRUE) {
			if (t->split || t->pretok != PRETOK_NONE)
				FAIL("ByteLevel use_regex after another split is not supported");
			t->pretok = PRETOK_R50K;
		}
	} else {
		FAIL("pre_tokenizer %s is not supported", ty);
	}
	return 0;
}

static int add_decoder(hf_load *L, const json_value *v)
{
	if (!v || v->type == JSON_NULL)
		return 0;
	const char *ty = type_of(L, v, "decoder");
	if (!ty)
		return -1;
	if (strcmp(ty, "Sequence") == 0) {
		const json_value *a = json_get(v, "decoders");
		if (!a || a->type != JSON_ARRAY)
			FAIL("decoder Sequence without decoders");
		for (size_t i = 0; i < a->len; i++)
			if (add_decoder(L, &a->items[i]) < 0)
				return -1;
	} else if (strcmp(ty, "Replace") == 0) {
		const json_value *from = string_pattern(L, v, "decoder Replace");
		const json_value *to = json_get(v, "content");
		if (!from)
			return -1;
		if (!to || to->type != JSON_STRING || from->len == 0 || L->n_drepl == 8)
			FAIL("decoder Replace is not supported in this form");
		L->drepl_from[L->n_drepl] = from->str;
		L->drepl_from_len[L->n_drepl] = from->len;
		L->drepl_to[L->n_drepl] = to->str;
		L->drepl_to_len[L->n_drepl++] = to->len;
	} else if (strcmp(ty, "ByteFallback") == 0) {
		L->byte_fallback_dec = 1;
	} else if (strcmp(ty, "Fuse") == 0) {
		/* joins the strings: what we do anyway */
	} else if (strcmp(ty, "ByteLevel") == 0) {
		L->byte_level = 1;
	} else {
		FAIL("decoder %s is not supported", ty);
	}
	return 0;
}
/* <0xNN> -> NN, or -1 */
static int fallback_byte(const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
		return -1;
	const char *h = strchr(hex, s[3]), *l = strchr(hex, s[4]);
	if (!s[3] || !s[4] || !h || !l)
		return -1;
	return (int)((h - hex) * 16 + (l - hex));
}

/* What decode writes for a vocabulary string; NULL when out of memory. */
static char *decode_vocab_string(const hf_load *L, const char *s, size_t n, size_t *out_len)
{
	int fb = !L->byte_level && L->byte_fallback_dec ? fallback_byte(s, n) : -1;
	char *out = L->byte_level || fb >= 0 ? malloc(n + 1) : NULL;
	size_t o = 0;
	if ((L->byte_level || fb >= 0) && !out)
		return NULL;
	if (L->byte_level) {
		for (size_t i = 0; i < n;) {
			utf8proc_int32_t cp;
			utf8proc_ssize_t l = utf8proc_iterate((const unsigned char *)s + i,
							      (utf8proc_ssize_t)(n - i), &cp);
			int b = l > 0 ? bytelevel_byte((uint32_t)cp) : -1;
			if (b < 0) { /* not of the alphabet: keep the text */
				l = l > 0 ? l : 1;
				memcpy(out + o, s + i, (size_t)l);
				o += (size_t)l;
			} else {
				out[o++] = (char)b;
			}
			i += (size_t)l;
		}
		*out_len = o;
		return out;
	}
	if (fb >= 0) {
		out[0] = (char)fb;
		*out_len = 1;
		return out;
	}
	buf_t b = BUF_CHECKED;
	buf_append(&b, s, n);
	for (size_t r = 0; r < L->n_drepl && !b.failed; r++) {
		buf_t nb = BUF_CHECKED;
		size_t fl = L->drepl_from_len[r];
		for (size_t i = 0; i < b.len;) {
			if (i + fl <= b.len && memcmp(b.data + i, L->drepl_from[r], fl) == 0) {
				buf_append(&nb, L->drepl_to[r], L->drepl_to_len[r]);
				i += fl;
			} else {
				buf_putc(&nb, b.data[i++]);
			}
		}
		buf_free(&b);
		b = nb;
	}
	return buf_take(&b, out_len);
}

/* The id of a vocabulary string that merge r names, or -1 (with the
 * message). */
static int64_t vocab_id(hf_load *L, const strmap *vocab, const char *s, size_t n, size_t merge)
{
	int64_t id = strmap_get(vocab, s, n);
	if (id < 0)
		tok_fail(L->err, L->errlen, L->path, 0, "merge %zu: \"%.*s\" is not in the vocabulary",
			 merge, (int)(n > 60 ? 60 : n), s);
	return id;
}

/* The model's settings that the loader refuses. */
static int check_model(hf_load *L, const json_value *model)
{
	const char *mtype = json_get_str(model, "type");
	if (mtype && strcmp(mtype, "BPE") != 0)
		FAIL("model type %s is not supported (only BPE)", mtype);
	const json_value *vocab = json_get(model, "vocab");
	const json_value *merges = json_get(model, "merges");
	if (!vocab || vocab->type != JSON_OBJECT || !merges || merges->type != JSON_ARRAY)
		FAIL("BPE model without vocab object and merges array");
	const json_value *dropout = json_get(model, "dropout");
	if (dropout && dropout->type == JSON_NUMBER && dropout->number != 0)
		FAIL("BPE dropout is not supported");
	const char *csp = json_get_str(model, "continuing_subword_prefix");
	const char *ews = json_get_str(model, "end_of_word_suffix");
	if ((csp && *csp) || (ews && *ews))
		FAIL("continuing_subword_prefix / end_of_word_suffix are not supported");
	if (merges->len > UINT32_MAX - 1)
		FAIL("too many merges");
	return 0;
}

/* The vocabulary size: one more than the largest id of the vocabulary and
 * the added tokens (0 with the message on a bad entry). */
static uint32_t count_ids(hf_load *L, const json_value *vocab, const json_value *added)
{
	uint32_t size = 0;
	for (size_t i = 0; i < vocab->len; i++) {
		int64_t id;
		if (json_int(&vocab->items[i], 0, 16777215, &id))
			return (uint32_t)(tok_fail(L->err, L->errlen, L->path, 0,
						   "vocab entry %zu has a bad id", i) + 1);
		if ((uint32_t)id + 1 > size)
			size = (uint32_t)id + 1;
	}
	for (size_t i = 0; added && i < added->len; i++) {
		const json_value *a = &added->items[i];
		int64_t id;
		const json_value *c = json_get(a, "content");
		if (json_int(json_get(a, "id"), 0, 16777215, &id) || !c || c->type != JSON_STRING)
			return (uint32_t)(tok_fail(L->err, L->errlen, L->path, 0,
						   "added token %zu has no id or content", i) + 1);
		if (!is_false(json_get(a, "lstrip")) || !is_false(json_get(a, "rstrip")) ||
		    !is_false(json_get(a, "single_word")))
			return (uint32_t)(tok_fail(L->err, L->errlen, L->path, 0,
						   "added token %zu: lstrip, rstrip and single_word are "
						   "not supported", i) + 1);
		if ((uint32_t)id + 1 > size)
			size = (uint32_t)id + 1;
	}
	if (size == 0)
		tok_fail(L->err, L->errlen, L->path, 0, "empty vocabulary");
	return size;
}

/* SYM_CHARS: each character's token, and where words may be cut. 0, or -1
 * when out of memory. */
static int set_chars(tokenizer *t, const json_value *vocab)
{
	if (!(t->cp_id = calloc(0x110000, sizeof *t->cp_id)))
		return -1;
	for (size_t i = 0; i < vocab->len; i++) {
		const unsigned char *k = (const unsigned char *)vocab->keys[i];
		size_t kl = vocab->key_lens[i];
		utf8proc_int32_t cp;
		if (kl && utf8proc_iterate(k, (utf8proc_ssize_t)kl, &cp) == (utf8proc_ssize_t)kl)
			t->cp_id[cp] = (int32_t)vocab->items[i].number + 1;
	}
	if (!t->cp_id[0x2581])
		return 0;
	/* the characters that some token joins to a following ▁ */
	t->word_cp = 0x2581;
	t->word_len = (size_t)utf8proc_encode_char(0x2581, (utf8proc_uint8_t *)t->word_utf8);
	for (size_t i = 0; i < vocab->len; i++) {
		const unsigned char *k = (const unsigned char *)vocab->keys[i];
		utf8proc_ssize_t kl = (utf8proc_ssize_t)vocab->key_lens[i], j = 0, l;
		utf8proc_int32_t prev = -1, cp;
		for (; j < kl; j += l, prev = cp) {
			l = utf8proc_iterate(k + j, kl - j, &cp);
			if (l <= 0) {
				l = 1;
				cp = -1;
			} else if (cp == 0x2581 && prev >= 0 && prev != 0x2581) {
				size_t g = 0;
				while (g < t->n_glue && t->glue[g] != (uint32_t)prev)
					g++;
				if (g == t->n_glue) {
					uint32_t *glue = reallocarray(t->glue, g + 1, sizeof *glue);
					if (!glue)
						return -1;
					t->glue = glue;
					t->glue[t->n_glue++] = (uint32_t)prev;
				}
			}
		}
	}
	if (t->n_glue > 64) /* cutting would rarely pay off */
		t->word_cp = 0;
	return 0;
}

/* merges: ["a", "b"] or "a b", rank = position; a later duplicate wins.
 * pairs gets (left, right) of each rank. */
static int add_merges(hf_load *L, const json_value *merges, const strmap *vmap, uint32_t size,
		      uint32_t *pairs)
{
	tokenizer *t = L->t;
	char e[256];
	if (bpe_table_init(&t->merges, size, (uint32_t)merges->len, merges->len, e, sizeof e) < 0)
		FAIL("%s", e);
	buf_t cat = BUF_CHECKED;
	int rc = 0;
	for (size_t r = 0; r < merges->len && rc == 0; r++) {
		const json_value *m = &merges->items[r];
		const char *a, *b;
		size_t al, bl;
		if (m->type == JSON_ARRAY && m->len == 2 && m->items[0].type == JSON_STRING &&
		    m->items[1].type == JSON_STRING) {
			a = m->items[0].str, al = m->items[0].len;
			b = m->items[1].str, bl = m->items[1].len;
		} else if (m->type == JSON_STRING) {
			const char *sp = memchr(m->str, ' ', m->len);
			if (!sp || memchr(sp + 1, ' ', m->len - (size_t)(sp + 1 - m->str))) {
				rc = tok_fail(L->err, L->errlen, L->path, 0, "merge %zu is not \"a b\"", r);
				break;
			}
			a = m->str, al = (size_t)(sp - m->str);
			b = sp + 1, bl = m->len - al - 1;
		} else {
			rc = tok_fail(L->err, L->errlen, L->path, 0,
				      "merge %zu is neither a pair nor a string", r);
			break;
		}
		int64_t ia = vocab_id(L, vmap, a, al, r), ib = ia < 0 ? -1 : vocab_id(L, vmap, b, bl, r);
		if (ib < 0) {
			rc = -1;
			break;
		}
		cat.len = 0;
		buf_append(&cat, a, al);
		if (buf_append(&cat, b, bl) < 0) {
			rc = no_memory(L, "a merge");
			break;
		}
		int64_t ic = vocab_id(L, vmap, cat.data, cat.len, r);
		if (ic < 0) {
			rc = -1;
			break;
		}
		if (bpe_table_put(&t->merges, (uint32_t)ia, (uint32_t)ib, (uint32_t)r, (uint32_t)ic, e,
				  sizeof e) < 0) {
			rc = tok_fail(L->err, L->errlen, L->path, 0, "%s", e);
			break;
		}
		pairs[2 * r] = (uint32_t)ia;
		pairs[2 * r + 1] = (uint32_t)ib;
	}
	buf_free(&cat);
	return rc;
}

/* bos: the first special token of the post-processor's single template */
static void set_bos(tokenizer *t, const json_value *root)
{
	const json_value *pp = json_get(root, "post_processor");
	const json_value *single = pp ? json_get(pp, "single") : NULL;
	if (!single || single->type != JSON_ARRAY || single->len == 0)
		return;
	const json_value *st = json_get(&single->items[0], "SpecialToken");
	const char *name = st ? json_get_str(st, "id") : NULL;
	for (uint32_t i = 0; name && i < t->vocab_size; i++)
		if ((t->flags[i] & TOKF_ADDED) && t->off[i + 1] - t->off[i] == strlen(name) &&
		    memcmp(t->bytes + t->off[i], name, strlen(name)) == 0) {
			t->bos = (int32_t)i;
			return;
		}
}

tokenizer *tokenizer_load_hf(const char *path, const char *text, size_t len, char *err,
			     size_t errlen)
{
	tokenizer *t = calloc(1, sizeof *t);
	if (!t) {
		tok_fail(err, errlen, path, 0, "out of memory for its tokenizer");
		return NULL;
	}
	hf_load L = { .path = path, .t = t, .err = err, .errlen = errlen };
	char **strs = NULL;
	size_t *lens = NULL;
	uint8_t *flags = NULL;
	uint32_t *pairs = NULL, size = 0;
	strmap vmap = { 0 };
	int ok = 0;
	char jerr[256];
	json_doc *doc = json_parse(text, len, jerr, sizeof jerr);
	if (!doc) {
		tok_fail(err, errlen, path, 0, "%s", jerr);
		goto out;
	}
	const json_value *root = json_root(doc), *model;
	if (root->type != JSON_OBJECT) {
		tok_fail(err, errlen, path, 0, "not a tokenizer.json: the top level is not an object");
		goto out;
	}
	model = json_get(root, "model");
	if (!model || model->type != JSON_OBJECT) {
		tok_fail(err, errlen, path, 0, "not a tokenizer.json: no \"model\"");
		goto out;
	}
	if (check_model(&L, model) < 0)
		goto out;
	const json_value *vocab = json_get(model, "vocab"), *merges = json_get(model, "merges");
	const json_value *added = json_get(root, "added_tokens");
	if (added && added->type != JSON_ARRAY) {
		tok_fail(err, errlen, path, 0, "added_tokens is not an array");
		goto out;
	}
	size_t n_added = added ? added->len : 0;

	t->kind = TOK_HF;
	t->bos = t->eos = t->unk_id = -1;
	for (int b = 0; b < 256; b++)
		t->byte_id[b] = t->fallback_id[b] = -1;
	if (add_normalizer(&L, json_get(root, "normalizer")) < 0 ||
	    add_pre_tokenizer(&L, json_get(root, "pre_tokenizer")) < 0 ||
	    add_decoder(&L, json_get(root, "decoder")) < 0)
		goto out;
	t->sym_mode = L.byte_level ? SYM_BYTES : SYM_CHARS;
	int byte_fallback = !is_false(json_get(model, "byte_fallback"));
	t->fuse_unk = !is_false(json_get(model, "fuse_unk"));

	/* ids: the vocabulary and the added tokens */
	if ((size = count_ids(&L, vocab, added)) == 0)
		goto out;
	strs = calloc(size, sizeof *strs);
	lens = calloc(size, sizeof *lens);
	flags = calloc(size, 1);
	if (!strs || !lens || !flags || strmap_init(&vmap, vocab->len, NULL) < 0) {
		tok_fail(err, errlen, path, 0, "out of memory for a vocabulary of %u ids", size);
		goto out;
	}
	char e[256];
	xxh64_state vh;
	xxh64_init(&vh, 1);
	for (size_t i = 0; i < vocab->len; i++) {
		uint32_t id = (uint32_t)vocab->items[i].number;
		const char *k = vocab->keys[i];
		size_t kl = vocab->key_lens[i];
		if (strs[id]) {
			tok_fail(err, errlen, path, 0, "id %u is given to two vocab entries", id);
			goto out;
		}
		int put = strmap_put(&vmap, k, kl, id, e, sizeof e);
		if (put < 0) {
			tok_fail(err, errlen, path, 0, "%s", e);
			goto out;
		}
		if (!put) {
			tok_fail(err, errlen, path, 0, "vocab entry \"%.*s\" appears twice",
				 (int)(kl > 60 ? 60 : kl), k);
			goto out;
		}
		if (!(strs[id] = decode_vocab_string(&L, k, kl, &lens[id]))) {
			no_memory(&L, "the vocabulary");
			goto out;
		}
	}
	/* the vocabulary strings define the symbols: part of the identity */
	for (size_t i = 0; i < vocab->len; i++) {
		uint64_t idv = (uint64_t)vocab->items[i].number;
		xxh64_update(&vh, &idv, sizeof idv);
		xxh64_update(&vh, vocab->keys[i], vocab->key_lens[i] + 1);
	}
	if (added_trie_init(&t->added) < 0) {
		no_memory(&L, "the added tokens");
		goto out;
	}
	for (size_t i = 0; i < n_added; i++) {
		const json_value *a = &added->items[i];
		uint32_t id = (uint32_t)json_get_num(a, "id", 0);
		const json_value *c = json_get(a, "content");
		/* Special tokens decode to their text; the others (Gemma's runs of
		 * '\n' and '▁') through the decoder like any vocabulary entry, so
		 * that "  " encoded to the token ▁▁ decodes to "  " again. */
		free(strs[id]);
		flags[id] |= TOKF_ADDED;
		if (!is_false(json_get(a, "special"))) {
			flags[id] |= TOKF_SPECIAL;
			strs[id] = tok_copy_str(c->str, c->len);
			lens[id] = c->len;
		} else {
			strs[id] = decode_vocab_string(&L, c->str, c->len, &lens[id]);
		}
		if (!strs[id] || added_trie_add(&t->added, c->str, c->len, (int32_t)id) < 0) {
			no_memory(&L, "the added tokens");
			goto out;
		}
		uint64_t idv = id;
		xxh64_update(&vh, &idv, sizeof idv);
		xxh64_update(&vh, c->str, c->len + 1);
	}
	if (tok_set_bytes(t, size, strs, lens, flags, e, sizeof e) < 0) {
		tok_fail(err, errlen, path, 0, "%s", e);
		goto out;
	}

	/* first symbols */
	if (t->sym_mode == SYM_BYTES) {
		for (int b = 0; b < 256; b++) {
			char u[4];
			utf8proc_ssize_t l = utf8proc_encode_char((utf8proc_int32_t)bytelevel_char((unsigned char)b),
								  (utf8proc_uint8_t *)u);
			t->byte_id[b] = (int32_t)strmap_get(&vmap, u, (size_t)l);
		}
	} else {
		if (set_chars(t, vocab) < 0) {
			no_memory(&L, "the character table");
			goto out;
		}
		if (byte_fallback)
			for (int b = 0; b < 256; b++) {
				char name[8];
				snprintf(name, sizeof name, "<0x%02X>", b);
				t->fallback_id[b] = (int32_t)strmap_get(&vmap, name, 6);
			}
	}
	const char *unk = json_get_str(model, "unk_token");
	if (unk)
		t->unk_id = (int32_t)strmap_get(&vmap, unk, strlen(unk));
	if (tok_check_total(t, path, err, errlen) < 0)
		goto out;
	if (!is_false(json_get(model, "ignore_merges"))) {
		if (t->sym_mode != SYM_BYTES) {
			tok_fail(err, errlen, path, 0, "ignore_merges is supported for byte-level models only");
			goto out;
		}
		/* a piece that is a vocabulary entry is that entry */
		t->whole_piece = 1;
		if (strmap_init(&t->piece_ids, vocab->len, t->bytes) < 0) {
			no_memory(&L, "the piece table");
			goto out;
		}
		for (uint32_t id = 0; id < size; id++)
			if ((t->flags[id] & TOKF_PRESENT) && !(t->flags[id] & TOKF_ADDED) &&
			    strmap_put(&t->piece_ids, t->bytes + t->off[id], t->off[id + 1] - t->off[id], id,
				       e, sizeof e) < 0) {
				tok_fail(err, errlen, path, 0, "%s", e);
				goto out;
			}
	}

	pairs = reallocarray(NULL, merges->len ? merges->len : 1, 2 * sizeof *pairs);
	if (!pairs) {
		no_memory(&L, "the merges");
		goto out;
	}
	if (add_merges(&L, merges, &vmap, size, pairs) < 0)
		goto out;
	set_bos(t, root);
	tok_guess_bos_eos(t);
	tok_fingerprint(t, pairs, merges->len, xxh64_digest(&vh));
	ok = 1;
out:
	free(pairs);
	for (uint32_t i = 0; strs && i < size; i++)
		free(strs[i]);
	free(strs);
	free(lens);
	free(flags);
	if (vmap.slots)
		strmap_free(&vmap);
	json_free(doc);
	if (!ok) {
		tokenizer_free(t);
		return NULL;
	}
	return t;
}
