/* tokenizer_tiktoken.c - loads a .tiktoken ranks file ("base64 rank" per
 * line). The rank is the token id and the merge priority: merging two
 * tokens gives the token of their concatenated bytes, so the pair table is
 * every split of every token into two tokens. The pattern is built in for
 * r50k_base, cl100k_base and o200k_base (by file name), otherwise it comes
 * from --pattern or the pat_str of a .json beside the file. Special tokens
 * come from the built-in list or that .json; encode never matches them in
 * text (tiktoken's encode_ordinary). */
#include "tokenizer_internal.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { const char *name; uint32_t id; } special;

static const special R50K_SPECIAL[] = { { "<|endoftext|>", 50256 }, { NULL, 0 } };
static const special CL100K_SPECIAL[] = {
	{ "<|endoftext|>", 100257 }, { "<|fim_prefix|>", 100258 }, { "<|fim_middle|>", 100259 },
	{ "<|fim_suffix|>", 100260 }, { "<|endofprompt|>", 100276 }, { NULL, 0 } };
static const special O200K_SPECIAL[] = {
	{ "<|endoftext|>", 199999 }, { "<|endofprompt|>", 200018 }, { NULL, 0 } };

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Decodes s[0..n) into out (room for n bytes); returns the length or -1. */
static long b64decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	size_t i = 0;
	for (; i < n && s[i] != '='; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	for (; i < n; i++)
		if (s[i] != '=')
			return -1;
	return (long)o;
}

/* Is the file's name, without directory and extension, name? */
static int base_is(const char *path, const char *name)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strlen(name);
	return strncmp(b, name, n) == 0 && (!b[n] || strcmp(b + n, ".tiktoken") == 0);
}

/* What the loader holds until the tokenizer is built. */
typedef struct {
	const char *path;
	char *err;
	size_t errlen;
	size_t n, cap;       /* tokens read */
	uint32_t *ranks;
	char **tok;
	size_t *tlen;
	uint32_t size;       /* vocabulary size */
	json_doc *side;      /* the .json beside the file, or NULL */
	char **strs;         /* id -> bytes, once placed */
	size_t *lens;
	uint8_t *flags;
} tt_load;

static void tt_free(tt_load *L)
{
	if (L->strs) {
		for (uint32_t i = 0; i < L->size; i++)
			free(L->strs[i]);
	} else {
		for (size_t i = 0; i < L->n; i++)
			free(L->tok[i]);
	}
	free(L->strs);
	free(L->lens);
	free(L->flags);
	free(L->ranks);
	free(L->tok);
	free(L->tlen);
	json_free(L->side);
}

static int no_memory(const tt_load *L, const char *what)
{
	return tok_no_memory(L->err, L->errlen, L->path, what);
}

/* Room for one more token in L's arrays (each keeps its contents when
 * another cannot grow). */
static int token_room(tt_load *L)
{
	if (L->n < L->cap)
		return 0;
	size_t cap = L->cap ? 2 * L->cap : 1024;
	void *p[] = { L->ranks, L->tok, L->tlen };
	static const size_t size[] = { sizeof *L->ranks, sizeof *L->tok, sizeof *L->tlen };
	int rc = grow_arrays(p, size, 3, cap);
	L->ranks = p[0], L->tok = p[1], L->tlen = p[2];
	if (rc < 0)
		return no_memory(L, "the ranks");
	L->cap = cap;
	return 0;
}

/* "base64 rank" lines into L->tok, L->tlen, L->ranks. */
static int read_ranks(tt_load *L, const char *text, size_t len)
{
	long line = 0;
	for (size_t i = 0; i < len;) {
		const char *e = memchr(text + i, '\n', len - i);
		size_t l = e ? (size_t)(e - (text + i)) : len - i;
		line++;
		const char *s = text + i;
		i += l + 1;
		if (l && s[l - 1] == '\r')
			l--;
		if (l == 0)
			continue;
		const char *sp = memchr(s, ' ', l);
		if (!sp)
			return tok_fail(L->err, L->errlen, L->path, line,
					"not a .tiktoken line (\"base64 rank\")");
		char *end;
		char num[16];
		size_t nl = l - (size_t)(sp + 1 - s);
		if (nl == 0 || nl >= sizeof num)
			return tok_fail(L->err, L->errlen, L->path, line, "bad rank");
		memcpy(num, sp + 1, nl);
		num[nl] = 0;
		unsigned long r = strtoul(num, &end, 10);
		if (*end || num[0] < '0' || num[0] > '9' || r >= 16777216)
			return tok_fail(L->err, L->errlen, L->path, line, "bad rank \"%s\"", num);
		if (token_room(L) < 0)
			return -1;
		char *b = malloc((size_t)(sp - s) + 1);
		if (!b)
			return no_memory(L, "the ranks");
		long bl = b64decode(s, (size_t)(sp - s), b);
		if (bl <= 0) {
			free(b);
			return tok_fail(L->err, L->errlen, L->path, line, "bad base64 token");
		}
		L->tok[L->n] = b;
		L->tlen[L->n] = (size_t)bl;
		L->ranks[L->n] = (uint32_t)r;
		if (r + 1 > L->size)
			L->size = (uint32_t)r + 1;
		L->n++;
	}
	if (L->n == 0)
		return tok_fail(L->err, L->errlen, L->path, 0, "no tokens: not a .tiktoken file");
	return 0;
}

char *tiktoken_side_path(const char *path)
{
	size_t pl = strlen(path);
	char *jp = malloc(pl + 6);
	if (!jp)
		return NULL;
	memcpy(jp, path, pl + 1);
	if (pl > 9 && strcmp(jp + pl - 9, ".tiktoken") == 0)
		jp[pl - 9] = 0;
	strcat(jp, ".json");
	return jp;
}

/* The pre-tokenizer, and the built-in special tokens (*specials) or those
 * of the .json beside the file (*side_special). */
static int set_pattern(tt_load *L, tokenizer *t, const char *pattern, const special **specials,
		       const json_value **side_special)
{
	static const struct {
		const char *name;
		pretok_kind pretok;
		const special *specials;
	} builtins[] = { { "r50k_base", PRETOK_R50K, R50K_SPECIAL },
			 { "cl100k_base", PRETOK_CL100K, CL100K_SPECIAL },
			 { "o200k_base", PRETOK_O200K, O200K_SPECIAL } };
	*specials = NULL;
	*side_special = NULL;
	for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++) {
		if (!base_is(L->path, builtins[i].name))
			continue;
		*specials = builtins[i].specials;
		t->pretok = builtins[i].pretok;
		if (pattern && pretok_lookup(pattern) != (int)builtins[i].pretok)
			return tok_fail(L->err, L->errlen, L->path, 0,
					"%s has a built-in pattern; --pattern cannot change it",
					builtins[i].name);
		return 0;
	}
	char *jp = tiktoken_side_path(L->path);
	if (!jp)
		return no_memory(L, "a file name");
	if (access(jp, R_OK) == 0) {
		size_t jl;
		char *jt = tok_read_file(jp, &jl, L->err, L->errlen), jerr[256];
		if (!jt) {
			free(jp);
			return -1;
		}
		L->side = json_parse(jt, jl, jerr, sizeof jerr);
		free(jt);
		if (!L->side) {
			tok_fail(L->err, L->errlen, jp, 0, "%s", jerr);
			free(jp);
			return -1;
		}
		const char *pat = json_get_str(json_root(L->side), "pat_str");
		if (!pattern && pat)
			pattern = pat;
		*side_special = json_get(json_root(L->side), "special_tokens");
	}
	free(jp);
	if (!pattern)
		return tok_fail(L->err, L->errlen, L->path, 0,
				"not a built-in encoding (r50k_base, cl100k_base, o200k_base): "
				"give its pattern with --pattern");
	return tok_set_pattern(t, pattern, strlen(pattern), 0, L->path, L->err, L->errlen);
}

/* Places every rank and special token at its id (L->strs). */
static int place_ids(tt_load *L, const special *specials, const json_value *side_special)
{
	if (side_special && side_special->type != JSON_OBJECT)
		side_special = NULL;
	if (specials)
		for (const special *s = specials; s->name; s++)
			if (s->id + 1 > L->size)
				L->size = s->id + 1;
	for (size_t i = 0; side_special && i < side_special->len; i++) {
		double id = side_special->items[i].number;
		if (side_special->items[i].type != JSON_NUMBER || id < 0 || id >= 16777216 ||
		    id != (double)(uint32_t)id)
			return tok_fail(L->err, L->errlen, L->path, 0,
					"bad special token id in the .json beside it");
		if ((uint32_t)id + 1 > L->size)
			L->size = (uint32_t)id + 1;
	}
	L->lens = calloc(L->size, sizeof *L->lens);
	L->flags = calloc(L->size, 1);
	char **strs = L->lens && L->flags ? calloc(L->size, sizeof *strs) : NULL;
	if (!strs)
		return no_memory(L, "the vocabulary");
	/* the tokens are L->strs' from here on (tt_free), placed or freed */
	L->strs = strs;
	int rc = 0;
	for (size_t i = 0; i < L->n; i++) {
		if (L->strs[L->ranks[i]] && rc == 0)
			rc = tok_fail(L->err, L->errlen, L->path, 0, "rank %u appears twice", L->ranks[i]);
		if (L->strs[L->ranks[i]]) {
			free(L->tok[i]);
			continue;
		}
		L->strs[L->ranks[i]] = L->tok[i];
		L->lens[L->ranks[i]] = L->tlen[i];
	}
	if (rc < 0)
		return rc;
	for (const special *s = specials; s && s->name; s++) {
		if (L->strs[s->id])
			return tok_fail(L->err, L->errlen, L->path, 0,
					"special token %s has the id of a rank", s->name);
		if (!(L->strs[s->id] = strdup(s->name)))
			return no_memory(L, "the special tokens");
		L->lens[s->id] = strlen(s->name);
		L->flags[s->id] = TOKF_ADDED | TOKF_SPECIAL;
	}
	for (size_t i = 0; side_special && i < side_special->len; i++) {
		uint32_t id = (uint32_t)side_special->items[i].number;
		if (L->strs[id])
			return tok_fail(L->err, L->errlen, L->path, 0,
					"special token %s has the id of a rank", side_special->keys[i]);
		if (!(L->strs[id] = malloc(side_special->key_lens[i] + 1)))
			return no_memory(L, "the special tokens");
		memcpy(L->strs[id], side_special->keys[i], side_special->key_lens[i] + 1);
		L->lens[id] = side_special->key_lens[i];
		L->flags[id] = TOKF_ADDED | TOKF_SPECIAL;
	}
	return 0;
}

/* Prefixes up to this long are looked up by hashing them; longer ones by
 * walking prefix trees of the tokens longer than this, so that a token of
 * n bytes costs O(n), not the O(n^2) of hashing each of its prefixes. */
#define SHORT_TOKEN 64

/* The prefix trees of the tokens longer than SHORT_TOKEN, forwards and
 * over their bytes reversed (*reversed: those, NULL for the others), and
 * the longest length. */
static int long_tokens(tt_load *L, tokenizer *t, prefix_tree *fwd, prefix_tree *rev,
		       char **reversed, size_t *longest)
{
	for (size_t i = 0; i < L->n; i++) {
		size_t l = L->tlen[i];
		if (l <= SHORT_TOKEN)
			continue;
		const char *s = t->bytes + t->off[L->ranks[i]];
		if (!(reversed[i] = malloc(l)))
			return -1;
		for (size_t k = 0; k < l; k++)
			reversed[i][k] = s[l - 1 - k];
		if (prefix_tree_add(fwd, s, l, (int32_t)L->ranks[i]) < 0 ||
		    prefix_tree_add(rev, reversed[i], l, (int32_t)L->ranks[i]) < 0)
			return -1;
		if (l > *longest)
			*longest = l;
	}
	return 0;
}

/* The pair table: (a, b) -> id for every split of every token into two
 * tokens a and b. */
static int add_pairs(tt_load *L, tokenizer *t)
{
	prefix_tree fwd = { 0 }, rev = { 0 };
	char **reversed = calloc(L->n, sizeof *reversed), e[256];
	int32_t *pre = NULL, *suf = NULL;
	size_t longest = 0;
	int rc = -1;
	if (!reversed || prefix_tree_init(&fwd) < 0 || prefix_tree_init(&rev) < 0 ||
	    long_tokens(L, t, &fwd, &rev, reversed, &longest) < 0 ||
	    !(pre = malloc((longest + 1) * sizeof *pre)) || !(suf = malloc((longest + 1) * sizeof *suf))) {
		no_memory(L, "the merges");
		goto out;
	}
	if (bpe_table_init(&t->merges, t->vocab_size, t->vocab_size, L->n * 2, e, sizeof e) < 0) {
		tok_fail(L->err, L->errlen, L->path, 0, "%s", e);
		goto out;
	}
	for (size_t i = 0; i < L->n; i++) {
		uint32_t id = L->ranks[i];
		const char *s = t->bytes + t->off[id];
		size_t l = L->tlen[i];
		if (reversed[i]) {
			prefix_tree_prefixes(&fwd, s, l, pre);
			prefix_tree_prefixes(&rev, reversed[i], l, suf);
		}
		for (size_t k = 1; k < l; k++) {
			int64_t a = k <= SHORT_TOKEN ? strmap_get(&t->piece_ids, s, k) : pre[k];
			if (a < 0)
				continue;
			int64_t b = l - k <= SHORT_TOKEN ? strmap_get(&t->piece_ids, s + k, l - k)
							 : suf[l - k];
			if (b >= 0 && bpe_table_put(&t->merges, (uint32_t)a, (uint32_t)b, id, id, e,
						    sizeof e) < 0) {
				tok_fail(L->err, L->errlen, L->path, 0, "%s", e);
				goto out;
			}
		}
	}
	rc = 0;
out:
	for (size_t i = 0; reversed && i < L->n; i++)
		free(reversed[i]);
	free(reversed);
	free(pre);
	free(suf);
	prefix_tree_free(&fwd);
	prefix_tree_free(&rev);
	return rc;
}

tokenizer *tokenizer_load_tiktoken(const char *path, const char *text, size_t len,
				   const char *pattern, char *err, size_t errlen)
{
	tokenizer *t = calloc(1, sizeof *t);
	if (!t) {
		tok_fail(err, errlen, path, 0, "out of memory for its tokenizer");
		return NULL;
	}
	t->kind = TOK_TIKTOKEN;
	t->sym_mode = SYM_BYTES;
	t->whole_piece = 1;
	t->bos = t->eos = t->unk_id = -1;
	for (int b = 0; b < 256; b++)
		t->byte_id[b] = t->fallback_id[b] = -1;
	tt_load L = { .path = path, .err = err, .errlen = errlen };
	const special *specials;
	const json_value *side_special;
	char e[256];
	int ok = 0;
	if (read_ranks(&L, text, len) < 0 ||
	    set_pattern(&L, t, pattern, &specials, &side_special) < 0 ||
	    place_ids(&L, specials, side_special) < 0)
		goto out;
	if (tok_set_bytes(t, L.size, L.strs, L.lens, L.flags, e, sizeof e) < 0) {
		tok_fail(err, errlen, path, 0, "%s", e);
		goto out;
	}

	/* whole pieces and bytes */
	if (strmap_init(&t->piece_ids, L.n, t->bytes) < 0) {
		no_memory(&L, "the piece table");
		goto out;
	}
	for (size_t i = 0; i < L.n; i++) {
		uint32_t id = L.ranks[i];
		int put = strmap_put(&t->piece_ids, t->bytes + t->off[id], t->off[id + 1] - t->off[id],
				     id, e, sizeof e);
		if (put <= 0) {
			if (put < 0)
				tok_fail(err, errlen, path, 0, "%s", e);
			else
				tok_fail(err, errlen, path, 0, "the bytes of rank %u appear twice", id);
			goto out;
		}
		if (L.tlen[i] == 1)
			t->byte_id[(unsigned char)t->bytes[t->off[id]]] = (int32_t)id;
	}
	if (tok_check_total(t, path, err, errlen) < 0 || add_pairs(&L, t) < 0)
		goto out;
	tok_guess_bos_eos(t);
	tok_fingerprint(t, NULL, 0, 0);
	ok = 1;
out:
	tt_free(&L);
	if (!ok) {
		tokenizer_free(t);
		return NULL;
	}
	return t;
}
