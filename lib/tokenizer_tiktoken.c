/* tokenizer_tiktoken.c - loads a .tiktoken ranks file ("base64 rank" per
 * line). The rank is the token id and the merge priority: merging two
 * tokens gives the token of their concatenated bytes, so the pair table is
 * every split of every token into two tokens. The pattern is built in for
 * r50k_base, cl100k_base and o200k_base (by file name), otherwise it comes
 * from --pattern or the pat_str of a .json beside the file. Special tokens
 * come from the built-in list or that .json; encode never matches them in
 * text (tiktoken's encode_ordinary). */
#include "tokenizer_internal.h"
#include "cli.h"
#include "json.h"
#include "xio.h"

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

/* The file's name without directory and extension. */
static char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	char *s = xstrdup(b);
	char *dot = strrchr(s, '.');
	if (dot && strcmp(dot, ".tiktoken") == 0)
		*dot = 0;
	return s;
}

tokenizer *tokenizer_load_tiktoken(const char *path, const char *text, size_t len,
				   const char *pattern)
{
	tokenizer *t = xcalloc(1, sizeof *t);
	t->path = (char *)path;
	t->kind = TOK_TIKTOKEN;
	t->sym_mode = SYM_BYTES;
	t->whole_piece = 1;
	t->bos = t->eos = t->unk_id = -1;
	for (int b = 0; b < 256; b++)
		t->byte_id[b] = t->fallback_id[b] = -1;

	/* ranks */
	size_t cap = 1024, n = 0;
	char **strs = NULL;
	size_t *lens = NULL;
	uint32_t *ranks = xmalloc(cap * sizeof *ranks);
	char **tok = xmalloc(cap * sizeof *tok);
	size_t *tlen = xmalloc(cap * sizeof *tlen);
	uint32_t size = 0;
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
			die_at(path, line, "not a .tiktoken line (\"base64 rank\")");
		char *end;
		char num[16];
		size_t nl = l - (size_t)(sp + 1 - s);
		if (nl == 0 || nl >= sizeof num)
			die_at(path, line, "bad rank");
		memcpy(num, sp + 1, nl);
		num[nl] = 0;
		unsigned long r = strtoul(num, &end, 10);
		if (*end || num[0] < '0' || num[0] > '9' || r >= 16777216)
			die_at(path, line, "bad rank \"%s\"", num);
		if (n == cap) {
			cap *= 2;
			ranks = xreallocarray(ranks, cap, sizeof *ranks);
			tok = xreallocarray(tok, cap, sizeof *tok);
			tlen = xreallocarray(tlen, cap, sizeof *tlen);
		}
		tok[n] = xmalloc((size_t)(sp - s) + 1);
		long bl = b64decode(s, (size_t)(sp - s), tok[n]);
		if (bl <= 0)
			die_at(path, line, "bad base64 token");
		tlen[n] = (size_t)bl;
		ranks[n] = (uint32_t)r;
		if (r + 1 > size)
			size = (uint32_t)r + 1;
		n++;
	}
	if (n == 0)
		die_at(path, 0, "no tokens: not a .tiktoken file");

	/* pattern and special tokens */
	char *name = base_name(path);
	int builtin = pretok_lookup(name);
	const special *specials = NULL;
	if (builtin >= 0 && strchr(name, '_')) {
		specials = builtin == PRETOK_R50K ? R50K_SPECIAL
			 : builtin == PRETOK_CL100K ? CL100K_SPECIAL : O200K_SPECIAL;
		if (strcmp(name, "r50k_base") != 0 && strcmp(name, "cl100k_base") != 0 &&
		    strcmp(name, "o200k_base") != 0)
			specials = NULL, builtin = -1;
	} else {
		builtin = -1;
	}
	json_doc *side = NULL;
	const json_value *side_special = NULL;
	if (builtin < 0) {
		size_t pl = strlen(path);
		char *jp = xmalloc(pl + 6);
		memcpy(jp, path, pl + 1);
		if (pl > 9 && strcmp(jp + pl - 9, ".tiktoken") == 0)
			jp[pl - 9] = 0;
		strcat(jp, ".json");
		if (access(jp, R_OK) == 0) {
			size_t jl;
			char *jt = read_file(jp, &jl), err[256];
			side = json_parse(jt, jl, err, sizeof err);
			free(jt);
			if (!side)
				die_at(jp, 0, "%s", err);
			const char *pat = json_get_str(json_root(side), "pat_str");
			if (!pattern && pat)
				pattern = pat;
			side_special = json_get(json_root(side), "special_tokens");
		}
		free(jp);
		if (!pattern)
			die_at(path, 0, "not a built-in encoding (r50k_base, cl100k_base, o200k_base): "
			       "give its pattern with --pattern");
		int k = pretok_lookup(pattern);
		if (k < 0)
			die_at(path, 0, "pattern \"%s\" is not supported: only the r50k_base, cl100k_base "
			       "and o200k_base patterns (by name or exact text) are", pattern);
		t->pretok = (pretok_kind)k;
	} else {
		if (pattern && pretok_lookup(pattern) != builtin)
			die_at(path, 0, "%s has a built-in pattern; --pattern cannot change it", name);
		t->pretok = (pretok_kind)builtin;
	}
	free(name);

	uint32_t n_special = 0;
	if (specials)
		for (const special *s = specials; s->name; s++)
			if (s->id + 1 > size)
				size = s->id + 1;
	if (side_special && side_special->type == JSON_OBJECT)
		for (size_t i = 0; i < side_special->len; i++) {
			double id = side_special->items[i].number;
			if (side_special->items[i].type != JSON_NUMBER || id < 0 || id >= 16777216 ||
			    id != (double)(uint32_t)id)
				die_at(path, 0, "bad special token id in the .json beside it");
			if ((uint32_t)id + 1 > size)
				size = (uint32_t)id + 1;
		}

	strs = xcalloc(size, sizeof *strs);
	lens = xcalloc(size, sizeof *lens);
	uint8_t *flags = xcalloc(size, 1);
	for (size_t i = 0; i < n; i++) {
		if (strs[ranks[i]])
			die_at(path, 0, "rank %u appears twice", ranks[i]);
		strs[ranks[i]] = tok[i];
		lens[ranks[i]] = tlen[i];
	}
	if (specials)
		for (const special *s = specials; s->name; s++, n_special++) {
			if (strs[s->id])
				die_at(path, 0, "special token %s has the id of a rank", s->name);
			strs[s->id] = xstrdup(s->name);
			lens[s->id] = strlen(s->name);
			flags[s->id] = TOKF_ADDED | TOKF_SPECIAL;
		}
	if (side_special && side_special->type == JSON_OBJECT)
		for (size_t i = 0; i < side_special->len; i++) {
			uint32_t id = (uint32_t)side_special->items[i].number;
			if (strs[id])
				die_at(path, 0, "special token %s has the id of a rank", side_special->keys[i]);
			strs[id] = xmalloc(side_special->key_lens[i] + 1);
			memcpy(strs[id], side_special->keys[i], side_special->key_lens[i] + 1);
			lens[id] = side_special->key_lens[i];
			flags[id] = TOKF_ADDED | TOKF_SPECIAL;
		}
	if (side)
		json_free(side);
	tok_set_bytes(t, size, strs, lens, flags);

	/* whole pieces, bytes, and the pair table */
	strmap_init(&t->piece_ids, n);
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ranks[i];
		if (!strmap_put(&t->piece_ids, t->bytes + t->off[id], t->off[id + 1] - t->off[id], id))
			die_at(path, 0, "the bytes of rank %u appear twice", id);
		if (tlen[i] == 1)
			t->byte_id[(unsigned char)t->bytes[t->off[id]]] = (int32_t)id;
	}
	bpe_table_init(&t->merges, size, size, n * 2);
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ranks[i];
		const char *s = t->bytes + t->off[id];
		size_t l = tlen[i];
		for (size_t k = 1; k < l; k++) {
			int64_t a = strmap_get(&t->piece_ids, s, k);
			if (a < 0)
				continue;
			int64_t b = strmap_get(&t->piece_ids, s + k, l - k);
			if (b >= 0)
				bpe_table_put(&t->merges, (uint32_t)a, (uint32_t)b, id, id);
		}
	}
	tok_guess_bos_eos(t);
	tok_fingerprint(t, NULL, 0, 0);

	for (uint32_t i = 0; i < size; i++)
		free(strs[i]);
	free(strs);
	free(lens);
	free(flags);
	free(ranks);
	free(tok);
	free(tlen);
	return t;
}
