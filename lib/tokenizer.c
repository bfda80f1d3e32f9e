/* tokenizer.c - encoding and decoding with a loaded tokenizer
 * (tokenizer_load.c), and its vocabulary size, bos, eos and fingerprint.
 * Encoding: added tokens are cut out of the raw text first;
 * each stretch between them is normalized, split into pieces (literal split
 * or one of the built-in patterns), and every piece becomes its first
 * symbols (bytes, or characters with byte fallback) that BPE then merges. */
#define _GNU_SOURCE /* memmem */
#include "tokenizer_internal.h"
#include "buf.h"
#include "cli.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

uint32_t tokenizer_vocab_size(const tokenizer *t) { return t->vocab_size; }
int32_t tokenizer_bos(const tokenizer *t) { return t->bos; }
int32_t tokenizer_eos(const tokenizer *t) { return t->eos; }
uint64_t tokenizer_fingerprint(const tokenizer *t) { return t->fingerprint; }

/* The encoder's functions return 0, or -1 with the message in c->err. */
typedef struct {
	uint32_t **ids;
	size_t *n, *cap;
	uint32_t *sym;
	size_t sym_cap;
	buf_t norm[2]; /* the normalizer's steps write them in turn */
	bpe_scratch bpe;
	char *err;
	size_t errlen;
} enc_ctx;

/* Out of line, so that the check in reserve_out() inlines into the hot
 * loops (with it inside, push_many() stopped being inlined: 4% of cl100k's
 * encoding). */
static __attribute__((noinline, cold)) int grow_out(enc_ctx *c, size_t extra)
{
	size_t cap = *c->cap ? *c->cap : 256;
	while (cap < *c->n + extra)
		cap *= 2;
	uint32_t *ids = reallocarray(*c->ids, cap, sizeof *ids);
	if (!ids)
		return errf(c->err, c->errlen, "out of memory for %zu token ids", cap);
	*c->ids = ids;
	*c->cap = cap;
	return 0;
}

static inline int reserve_out(enc_ctx *c, size_t extra)
{
	return *c->n + extra <= *c->cap ? 0 : grow_out(c, extra);
}

static int push(enc_ctx *c, uint32_t id)
{
	if (reserve_out(c, 1) < 0)
		return -1;
	(*c->ids)[(*c->n)++] = id;
	return 0;
}

static void push_sym(const tokenizer *t, uint32_t *sym, size_t *k, int32_t id)
{
	if (id < 0) { /* unk_id >= 0: tok_check_total refused the other tokenizers */
		if (t->fuse_unk && *k && sym[*k - 1] == (uint32_t)t->unk_id)
			return;
		id = t->unk_id;
	}
	sym[(*k)++] = (uint32_t)id;
}

static inline int push_many(enc_ctx *c, const uint32_t *ids, size_t k)
{
	if (reserve_out(c, k) < 0)
		return -1;
	memcpy(*c->ids + *c->n, ids, k * sizeof *ids);
	*c->n += k;
	return 0;
}

/* The first symbols of s[0..n) into sym (room for n); returns their count. */
static size_t first_symbols(const tokenizer *t, const unsigned char *s, size_t n, uint32_t *sym)
{
	size_t k = 0;
	if (t->sym_mode == SYM_BYTES) {
		for (size_t i = 0; i < n; i++)
			push_sym(t, sym, &k, t->byte_id[s[i]]);
	} else {
		for (size_t i = 0; i < n;) {
			utf8proc_int32_t cp = -1;
			utf8proc_ssize_t l = s[i] < 0x80 ? (cp = s[i], 1)
				: utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
			if (l <= 0)
				l = 1, cp = -1; /* an invalid byte: byte fallback */
			if (cp >= 0 && t->cp_id[cp]) {
				sym[k++] = (uint32_t)(t->cp_id[cp] - 1);
			} else {
				for (utf8proc_ssize_t b = 0; b < l; b++)
					push_sym(t, sym, &k, t->fallback_id[s[i + b]]);
			}
			i += (size_t)l;
		}
	}
	return k;
}

/* One piece: itself if it is a token (tiktoken), from the cache, or its
 * first symbols merged. h: piece_cache_hash(s, n). */
static int encode_word(const tokenizer *t, enc_ctx *c, const unsigned char *s, size_t n,
		       uint64_t h)
{
	if (n == 0)
		return 0;
	const uint32_t *cached;
	size_t nc;
	if (piece_cache_get(t, s, n, h, &cached, &nc))
		return push_many(c, cached, nc);
	/* after the cache: the piece table is larger, and its lookup a miss in
	 * the CPU's caches, where most words are found in the piece cache */
	if (t->whole_piece) {
		int64_t id = n <= PIECE_CACHE_MAX_BYTES
			? strmap_get_hashed(&t->piece_ids, (const char *)s, n, h)
			: strmap_get(&t->piece_ids, (const char *)s, n);
		if (id >= 0) {
			uint32_t u = (uint32_t)id;
			piece_cache_put(t, s, n, h, &u, 1);
			return push(c, u);
		}
	}
	if (n > c->sym_cap) {
		size_t cap = n > 2 * c->sym_cap ? n : 2 * c->sym_cap;
		free(c->sym);
		c->sym_cap = 0;
		if (!(c->sym = reallocarray(NULL, cap, sizeof *c->sym)))
			return errf(c->err, c->errlen, "out of memory for a piece of %zu bytes", n);
		c->sym_cap = cap;
	}
	size_t k = first_symbols(t, s, n, c->sym);
	c->bpe.memo = piece_cache_pair_memo(t);
	if (bpe_merge(&t->merges, c->sym, &k, &c->bpe, c->err, c->errlen) < 0)
		return -1;
	piece_cache_put(t, s, n, h, c->sym, k);
	return push_many(c, c->sym, k);
}

/* May a piece be cut at s[q], where the word-start character begins? */
static int can_cut(const tokenizer *t, const unsigned char *s, size_t q)
{
	uint32_t cp = s[q - 1];
	if (cp >= 0x80) { /* most text is ASCII: decode only the rest */
		size_t k = q - 1;
		while (k > 0 && (s[k] & 0xc0) == 0x80 && q - k < 4)
			k--;
		utf8proc_int32_t c;
		if (utf8proc_iterate(s + k, (utf8proc_ssize_t)(q - k), &c) != (utf8proc_ssize_t)(q - k))
			return 0;
		cp = (uint32_t)c;
	}
	if (cp == t->word_cp || !t->cp_id[cp])
		return 0;
	for (size_t i = 0; i < t->n_glue; i++)
		if (t->glue[i] == cp)
			return 0;
	return 1;
}

/* The next word-start character in s[pos..n), or n. Words are short (6
 * bytes on average), too short for memmem's setup to pay. */
static size_t find_word_cp(const tokenizer *t, const unsigned char *s, size_t pos, size_t n)
{
	const unsigned char *w = (const unsigned char *)t->word_utf8;
	size_t wl = t->word_len;
	for (; pos + wl <= n; pos++) {
		if (s[pos] != w[0])
			continue;
		size_t k = 1;
		while (k < wl && s[pos + k] == w[k])
			k++;
		if (k == wl)
			return pos;
	}
	return n;
}

/* Words are looked up in the cache in batches: first all their hashes,
 * starting the fetches of their cache slots, then the lookups, so that the
 * cache misses of a batch overlap instead of coming one after another. */
#define WORD_BATCH 16

typedef struct {
	size_t off, len;
	uint64_t h;
	size_t first, n_ids; /* where the ids found in the cache were put */
	int found;
} word_ref;

/* The batch is looked up in the cache first, its ids put aside: the
 * pieces that the cache does not have (new words) then have their slots of
 * the whole-piece table fetched together too before they are encoded, in
 * order. A piece is looked up in the cache again then, in case the same
 * new word came twice in the batch. */
static int encode_words(const tokenizer *t, enc_ctx *c, const unsigned char *s, word_ref *w,
			size_t nw)
{
	uint32_t found[WORD_BATCH * PIECE_CACHE_MAX_BYTES];
	size_t used = 0;
	for (size_t i = 0; i < nw; i++) {
		/* a piece of one byte (a space, a full stop ...: a fifth of the
		 * pieces of FineWeb) is that byte's token where whole pieces are
		 * tokens */
		if (w[i].len == 1 && t->whole_piece && t->byte_id[s[w[i].off]] >= 0) {
			w[i].found = 1;
			w[i].first = used;
			w[i].n_ids = 1;
			found[used++] = (uint32_t)t->byte_id[s[w[i].off]];
			continue;
		}
		w[i].found = 0;
		w[i].h = piece_cache_hash(s + w[i].off, w[i].len);
		piece_cache_prefetch(t, w[i].len, w[i].h);
	}
	for (size_t i = 0; i < nw; i++) {
		const uint32_t *ids;
		size_t k;
		if (w[i].found)
			continue;
		w[i].found = w[i].len && piece_cache_get(t, s + w[i].off, w[i].len, w[i].h, &ids, &k) &&
			     used + k <= sizeof found / sizeof *found;
		if (w[i].found) {
			memcpy(found + used, ids, k * sizeof *ids);
			w[i].first = used;
			w[i].n_ids = k;
			used += k;
		} else if (t->whole_piece && w[i].len <= PIECE_CACHE_MAX_BYTES) {
			strmap_prefetch(&t->piece_ids, w[i].h);
		}
	}
	for (size_t i = 0; i < nw; i++) {
		int rc = w[i].found ? push_many(c, found + w[i].first, w[i].n_ids)
				    : encode_word(t, c, s + w[i].off, w[i].len, w[i].h);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Adds s[off..off+len) to the batch w (*nw words), encoding the batch when
 * it is full. */
static int batch_word(const tokenizer *t, enc_ctx *c, const unsigned char *s, word_ref *w,
		      size_t *nw, size_t off, size_t len)
{
	w[*nw].off = off;
	w[*nw].len = len;
	if (++*nw < WORD_BATCH)
		return 0;
	*nw = 0;
	return encode_words(t, c, s, w, WORD_BATCH);
}

static int encode_piece(const tokenizer *t, enc_ctx *c, const unsigned char *s, size_t n)
{
	if (!t->word_cp)
		return encode_word(t, c, s, n, piece_cache_hash(s, n));
	word_ref w[WORD_BATCH];
	size_t start = 0, nw = 0;
	for (size_t q = find_word_cp(t, s, 0, n); q < n; q = find_word_cp(t, s, q + t->word_len, n)) {
		if (q > start && can_cut(t, s, q)) {
			if (batch_word(t, c, s, w, &nw, start, q - start) < 0)
				return -1;
			start = q;
		}
	}
	if (batch_word(t, c, s, w, &nw, start, n - start) < 0)
		return -1;
	return encode_words(t, c, s, w, nw);
}

/* Hugging Face's Split on a literal string, with its delimiter behaviours. */
static int encode_split(const tokenizer *t, enc_ctx *c, const unsigned char *s, size_t n)
{
	size_t start = 0, i = 0, dl = t->split_len;
	int b = t->split_behavior, rc = 0;
	while (rc == 0 && i + dl <= n) {
		const unsigned char *p = memmem(s + i, n - i, t->split, dl);
		if (!p)
			break;
		size_t d = (size_t)(p - s), e = d + dl;
		if (b == SPLIT_CONTIGUOUS)
			while (e + dl <= n && memcmp(s + e, t->split, dl) == 0)
				e += dl;
		switch (b) {
		case SPLIT_REMOVED:
			rc = encode_piece(t, c, s + start, d - start);
			start = e;
			break;
		case SPLIT_ISOLATED:
		case SPLIT_CONTIGUOUS:
			if ((rc = encode_piece(t, c, s + start, d - start)) == 0)
				rc = encode_piece(t, c, s + d, e - d);
			start = e;
			break;
		case SPLIT_MERGED_PREV:
			rc = encode_piece(t, c, s + start, e - start);
			start = e;
			break;
		case SPLIT_MERGED_NEXT:
			rc = encode_piece(t, c, s + start, d - start);
			start = d;
			break;
		}
		i = e;
	}
	return rc < 0 ? -1 : encode_piece(t, c, s + start, n - start);
}

/* The normalizer's literal replacements, in order, each over the whole
 * result of the one before; returns the text (c->norm[0 or 1], or s when
 * nothing was replaced) and its length in *n, or NULL with the message
 * when out of memory. */
static const unsigned char *normalize(const tokenizer *t, enc_ctx *c, const unsigned char *s,
				      size_t *n)
{
	const unsigned char *cur = s;
	size_t cn = *n;
	int w = 0;
	for (size_t r = 0; r < t->n_repl; r++) {
		size_t fl = t->repl_from_len[r], tl = t->repl_to_len[r];
		if (fl == 0 || fl > cn)
			continue;
		const char *from = t->repl_from[r], *to = t->repl_to[r];
		buf_t *out = &c->norm[w];
		w ^= 1;
		out->len = 0;
		size_t room = cn + cn / fl * (tl > fl ? tl - fl : 0) + 8;
		if (buf_reserve(out, room) < 0) {
			errf(c->err, c->errlen, "out of memory for %zu bytes of normalized text", room);
			return NULL;
		}
		char *o = out->data;
		if (fl == 1 && tl <= 4) {
			/* Gemma's ' ' -> U+2581: byte by byte; the replacement is
			 * stored as 4 bytes (the buffer has room) and the output
			 * moves on by its length */
			char f = from[0], to4[4] = { 0 };
			memcpy(to4, to, tl);
			for (size_t i = 0; i < cn; i++) {
				if (cur[i] == (unsigned char)f) {
					memcpy(o, to4, 4);
					o += tl;
				} else {
					*o++ = (char)cur[i];
				}
			}
		} else {
			size_t i = 0;
			for (;;) {
				const unsigned char *p = i + fl <= cn ? memmem(cur + i, cn - i, from, fl) : NULL;
				size_t e = p ? (size_t)(p - cur) : cn;
				memcpy(o, cur + i, e - i);
				o += e - i;
				if (!p)
					break;
				memcpy(o, to, tl);
				o += tl;
				i = e + fl;
			}
		}
		out->len = (size_t)(o - out->data);
		cur = (const unsigned char *)out->data;
		cn = out->len;
	}
	*n = cn;
	return cur;
}

/* Pieces by the PCRE2 pattern: its matches and, for Hugging Face's Split,
 * the text between them. tiktoken drops that text, but it never sees bytes
 * that are not UTF-8, which match nothing here: each of their maximal
 * subparts is a piece of its own, so that no byte is lost. */
static int encode_regex(const tokenizer *t, enc_ctx *c, const unsigned char *s, size_t n)
{
	word_ref w[WORD_BATCH]; /* batched as in encode_stretch, unless words are cut */
	size_t nw = 0;
#define PIECE(a, b) \
	do { \
		if ((t->word_cp ? encode_piece(t, c, s + (a), (b) - (a)) \
				: batch_word(t, c, s, w, &nw, (a), (b) - (a))) < 0) \
			return -1; \
	} while (0)
	for (size_t i = 0; i < n;) {
		size_t m, e;
		if (pretok_regex_next(t->regex, s, n, i, &m, &e, c->err, c->errlen) < 0)
			return -1;
		if (m > i && t->regex_gaps) {
			PIECE(i, m);
		} else {
			for (size_t j = i, l; j < m; j += l) {
				int32_t cp;
				l = utf8_decode((const char *)s + j, m - j, &cp);
				if (cp < 0)
					PIECE(j, j + l);
			}
		}
		if (e > m)
			PIECE(m, e);
		i = e;
	}
#undef PIECE
	return encode_words(t, c, s, w, nw);
}

/* Text with no added tokens in it: normalize, split into pieces, merge. */
static int encode_stretch(const tokenizer *t, enc_ctx *c, const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (t->n_repl && !(s = normalize(t, c, s, &n)))
		return -1;
	if (t->split)
		return encode_split(t, c, s, n);
	if (t->regex)
		return encode_regex(t, c, s, n);
	if (t->pretok != PRETOK_NONE && t->word_cp) {
		for (size_t i = 0; i < n;) {
			size_t e = pretok_next(t->pretok, s, n, i);
			if (encode_piece(t, c, s + i, e - i) < 0)
				return -1;
			i = e;
		}
		return 0;
	}
	if (t->pretok != PRETOK_NONE) {
		/* pieces in batches, as the words of encode_piece */
		word_ref w[WORD_BATCH];
		size_t nw = 0;
		for (size_t i = 0; i < n;) {
			size_t e = pretok_next(t->pretok, s, n, i);
			if (batch_word(t, c, s, w, &nw, i, e - i) < 0)
				return -1;
			i = e;
		}
		return encode_words(t, c, s, w, nw);
	}
	return encode_piece(t, c, s, n);
}

/* The stretches between added tokens, and the added tokens. */
static int encode_text(const tokenizer *t, enc_ctx *c, const unsigned char *s, size_t len)
{
	size_t start = 0;
	if (t->added.nodes > 1) {
		for (size_t i = 0; i < len;) {
			size_t l;
			int32_t id;
			if (t->added.first[s[i]] && (id = added_trie_match(&t->added, s, len, i, &l)) >= 0) {
				if (encode_stretch(t, c, s + start, i - start) < 0 || push(c, (uint32_t)id) < 0)
					return -1;
				i += l;
				start = i;
			} else {
				i++;
			}
		}
	}
	return encode_stretch(t, c, s + start, len - start);
}

int tokenizer_encode(const tokenizer *t, const char *text, size_t len, uint32_t **ids, size_t *n,
		     size_t *cap, char *err, size_t errlen)
{
	if (piece_cache_ready(t) < 0)
		return errf(err, errlen, "out of memory for the tokenizer's piece cache (13 MB)");
	enc_ctx c = { .ids = ids, .n = n, .cap = cap, .norm = { BUF_CHECKED, BUF_CHECKED },
		      .err = err, .errlen = errlen };
	int rc = encode_text(t, &c, (const unsigned char *)text, len);
	free(c.sym);
	buf_free(&c.norm[0]);
	buf_free(&c.norm[1]);
	bpe_scratch_free(&c.bpe);
	return rc;
}

static int check_id(const tokenizer *t, uint32_t id, char *err, size_t errlen)
{
	if (id >= t->vocab_size)
		return errf(err, errlen, "%s: token id %u is not below the vocabulary size %u", t->path,
			    id, t->vocab_size);
	if (!(t->flags[id] & TOKF_PRESENT))
		return errf(err, errlen, "%s: token id %u is not in the vocabulary", t->path, id);
	return 0;
}

char *tokenizer_decode(const tokenizer *t, const uint32_t *ids, size_t n, size_t *len, char *err,
		       size_t errlen)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (check_id(t, ids[i], err, errlen) < 0)
			return NULL;
		total += t->off[ids[i] + 1] - t->off[ids[i]];
	}
	char *out = malloc(total + 1), *p = out;
	if (!out)
		return errf(err, errlen, "out of memory for %zu bytes of decoded text", total), NULL;
	for (size_t i = 0; i < n; i++) {
		size_t l = t->off[ids[i] + 1] - t->off[ids[i]];
		memcpy(p, t->bytes + t->off[ids[i]], l);
		p += l;
	}
	*p = 0;
	*len = total;
	return out;
}

long tokenizer_token_bytes(const tokenizer *t, uint32_t id, char *out, size_t cap, char *err,
			   size_t errlen)
{
	if (check_id(t, id, err, errlen) < 0)
		return -1;
	size_t l = t->off[id + 1] - t->off[id];
	if (l > cap)
		return errf(err, errlen, "%s: token %u has %zu bytes, more than the %zu given", t->path,
			    id, l, cap);
	memcpy(out, t->bytes + t->off[id], l);
	return (long)l;
}
