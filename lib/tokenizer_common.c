/* tokenizer_common.c - pieces the tokenizer loaders share: reading a whole
 * file, the decode table, the added-token trie, bos/eos by name, the
 * fingerprint, GPT-2's byte-level alphabet, and tokenizer_free (here, so that
 * a loader can undo what it half made without calling back into the
 * dispatch that called it). */
#include "tokenizer_internal.h"
#include "cli.h"
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int tok_set_bytes(tokenizer *t, uint32_t vocab_size, char **strs, const size_t *lens,
		  const uint8_t *flags, char *err, size_t errlen)
{
	uint64_t total = 0;
	for (uint32_t i = 0; i < vocab_size; i++)
		total += strs[i] ? lens[i] : 0;
	t->vocab_size = vocab_size;
	t->off = calloc((size_t)vocab_size + 1, sizeof *t->off);
	t->flags = calloc(vocab_size ? vocab_size : 1, 1);
	t->bytes = total < SIZE_MAX ? malloc(total ? total : 1) : NULL;
	if (!t->off || !t->flags || !t->bytes)
		return errf(err, errlen, "out of memory for the vocabulary (%u tokens, %" PRIu64
			    " bytes)", vocab_size, total);
	uint64_t o = 0;
	for (uint32_t i = 0; i < vocab_size; i++) {
		t->off[i] = o;
		if (strs[i]) {
			memcpy(t->bytes + o, strs[i], lens[i]);
			o += lens[i];
			t->flags[i] = flags[i] | TOKF_PRESENT;
		}
	}
	t->off[vocab_size] = o;
	return 0;
}

int added_trie_init(added_trie *a)
{
	memset(a, 0, sizeof *a);
	if (u64map_init(&a->edges, 64) < 0)
		return -1;
	a->cap = 64;
	if (!(a->term = malloc(a->cap * sizeof *a->term))) {
		u64map_free(&a->edges);
		return -1;
	}
	a->term[0] = -1;
	a->nodes = 1;
	return 0;
}

int added_trie_add(added_trie *a, const char *s, size_t n, int32_t id)
{
	if (n == 0)
		return 0;
	uint64_t node = 0, child;
	a->first[(unsigned char)s[0]] = 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t key = node << 8 | (unsigned char)s[i];
		if (!u64map_get(&a->edges, key, &child)) {
			if (a->nodes == a->cap) {
				int32_t *term = reallocarray(a->term, a->cap * 2, sizeof *term);
				if (!term)
					return -1;
				a->term = term;
				a->cap *= 2;
			}
			/* the node is taken only once its edge is in */
			if (u64map_put(&a->edges, key, a->nodes) < 0)
				return -1;
			child = a->nodes++;
			a->term[child] = -1;
		}
		node = child;
	}
	if (a->term[node] < 0) /* the first of equal contents wins */
		a->term[node] = id;
	return 0;
}

int32_t added_trie_match(const added_trie *a, const unsigned char *s, size_t n, size_t i,
			 size_t *len)
{
	uint64_t node = 0, child;
	int32_t best = -1;
	for (size_t j = i; j < n; j++) {
		if (!u64map_get(&a->edges, node << 8 | s[j], &child))
			break;
		node = child;
		if (a->term[node] >= 0) {
			best = a->term[node];
			*len = j + 1 - i;
		}
	}
	return best;
}

void added_trie_free(added_trie *a)
{
	u64map_free(&a->edges);
	free(a->term);
	a->term = NULL;
}

static int32_t find_added(const tokenizer *t, const char *const *names)
{
	for (; *names; names++) {
		size_t n = strlen(*names);
		for (uint32_t id = 0; id < t->vocab_size; id++)
			if ((t->flags[id] & TOKF_ADDED) && t->off[id + 1] - t->off[id] == n &&
			    memcmp(t->bytes + t->off[id], *names, n) == 0)
				return (int32_t)id;
	}
	return -1;
}

void tok_guess_bos_eos(tokenizer *t)
{
	static const char *const bos[] = { "<bos>", "<s>", "<|begin_of_text|>", "<|bos|>",
		"<|startoftext|>", "<|endoftext|>", NULL };
	static const char *const eos[] = { "<eos>", "</s>", "<|end_of_text|>", "<|eos|>",
		"<|endoftext|>", NULL };
	if (t->bos < 0)
		t->bos = find_added(t, bos);
	if (t->eos < 0)
		t->eos = find_added(t, eos);
}

static void hash_u64(xxh64_state *s, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	xxh64_update(s, b, 8);
}

static void hash_str(xxh64_state *s, const char *p, size_t n)
{
	hash_u64(s, n);
	xxh64_update(s, p, n);
}

/* The serialization: a version tag, how text becomes symbols, the
 * normalizer and pre-tokenizer, every id's flags and bytes, the merges in
 * rank order, bos/eos, then the loader's extra hash. All integers are
 * 64-bit little-endian; strings are length-prefixed. */
void tok_fingerprint(tokenizer *t, const uint32_t *merge_pairs, size_t n_merges,
		     uint64_t extra)
{
	xxh64_state s;
	xxh64_init(&s, 0);
	hash_str(&s, "bonsai-tokenizer-1", 18);
	hash_u64(&s, (uint64_t)t->kind);
	hash_u64(&s, (uint64_t)t->sym_mode);
	size_t pl;
	const char *pt = tok_pattern_text(t, &pl);
	hash_str(&s, pt, pl);
	if (t->regex) /* only then: the built-in patterns keep their fingerprints */
		hash_u64(&s, (uint64_t)t->regex_gaps);
	hash_u64(&s, (uint64_t)t->whole_piece);
	hash_u64(&s, (uint64_t)(int64_t)t->unk_id);
	hash_u64(&s, (uint64_t)t->fuse_unk);
	for (int b = 0; b < 256; b++)
		hash_u64(&s, (uint64_t)(int64_t)t->fallback_id[b]);
	hash_u64(&s, t->n_repl);
	for (size_t i = 0; i < t->n_repl; i++) {
		hash_str(&s, t->repl_from[i], t->repl_from_len[i]);
		hash_str(&s, t->repl_to[i], t->repl_to_len[i]);
	}
	hash_str(&s, t->split ? t->split : "", t->split_len);
	hash_u64(&s, (uint64_t)t->split_behavior);
	hash_u64(&s, t->vocab_size);
	for (uint32_t id = 0; id < t->vocab_size; id++) {
		hash_u64(&s, t->flags[id]);
		hash_str(&s, t->bytes + t->off[id], t->off[id + 1] - t->off[id]);
	}
	hash_u64(&s, n_merges);
	for (size_t i = 0; i < 2 * n_merges; i++)
		hash_u64(&s, merge_pairs[i]);
	hash_u64(&s, (uint64_t)(int64_t)t->bos);
	hash_u64(&s, (uint64_t)(int64_t)t->eos);
	hash_u64(&s, extra);
	t->fingerprint = xxh64_digest(&s);
}

/* Bytes that are printable and not a space stand for themselves; the other
 * 68 are mapped, in byte order, to U+0100 and up. */
static int bytelevel_direct(unsigned b)
{
	return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
}

uint32_t bytelevel_char(unsigned char b)
{
	if (bytelevel_direct(b))
		return b;
	uint32_t k = 0;
	for (unsigned i = 0; i < b; i++)
		k += !bytelevel_direct(i);
	return 256 + k;
}

int bytelevel_byte(uint32_t cp)
{
	if (cp < 256)
		return bytelevel_direct(cp) ? (int)cp : -1;
	uint32_t k = 256;
	for (unsigned i = 0; i < 256; i++)
		if (!bytelevel_direct(i) && k++ == cp)
			return (int)i;
	return -1;
}

int tok_fail(char *err, size_t errlen, const char *path, long line, const char *fmt, ...)
{
	if (!err || !errlen)
		return -1;
	int k = line > 0 ? snprintf(err, errlen, "%s:%ld: ", path, line)
			 : snprintf(err, errlen, "%s: ", path);
	if (k >= 0 && (size_t)k < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -1;
}

char *tok_copy_str(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int tok_no_memory(char *err, size_t errlen, const char *path, const char *what)
{
	return tok_fail(err, errlen, path, 0, "out of memory for %s", what);
}

int tok_check_total(const tokenizer *t, const char *path, char *err, size_t errlen)
{
	if (t->unk_id >= 0)
		return 0;
	const int32_t *first = t->sym_mode == SYM_BYTES ? t->byte_id : t->fallback_id;
	for (int b = 0; b < 256; b++)
		if (first[b] < 0)
			return tok_fail(err, errlen, path, 0,
					"byte 0x%02X has no token%s and there is no unk token: text "
					"with it could not be encoded", b,
					t->sym_mode == SYM_BYTES ? "" : " (no byte fallback)");
	return 0;
}

int tok_set_pattern(tokenizer *t, const char *re, size_t len, int gaps, const char *path,
		    char *err, size_t errlen)
{
	int k = strlen(re) == len ? pretok_lookup(re) : -1;
	if (k >= 0) { /* the hand-written matcher: several times faster */
		t->pretok = (pretok_kind)k;
		return 0;
	}
	size_t w = strspn(re, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
	if (!gaps && w == len) /* a misspelt name would match only itself, the rest dropped */
		return tok_fail(err, errlen, path, 0,
				"pattern \"%s\" is not a known name (r50k_base, gpt2, p50k_base, "
				"cl100k_base, o200k_base) nor a regex", re);
	char rerr[512];
	pretok_regex *r = pretok_regex_new(re, len, rerr, sizeof rerr);
	if (!r)
		return tok_fail(err, errlen, path, 0, "%s", rerr);
	t->pretok = PRETOK_REGEX;
	t->regex = r;
	t->regex_gaps = gaps;
	return 0;
}

const char *tok_pattern_text(const tokenizer *t, size_t *len)
{
	if (t->regex)
		return pretok_regex_text(t->regex, len);
	const char *p = pretok_pattern_text(t->pretok);
	*len = strlen(p);
	return p;
}

char *tok_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		tok_fail(err, errlen, path, 0, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* the size when known; a pipe (<(zstdcat ...)) grows the buffer */
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 1 << 16, n = 0;
	char *p = malloc(cap);
	for (;;) {
		if (p && n + 1 == cap) {
			char *q = cap <= SIZE_MAX / 2 ? realloc(p, cap * 2) : NULL;
			if (!q)
				free(p);
			p = q;
			cap *= 2;
		}
		if (!p) {
			tok_fail(err, errlen, path, 0, "out of memory for its %zu bytes", cap);
			close(fd);
			return NULL;
		}
		ssize_t r = read(fd, p + n, cap - 1 - n);
		if (r == 0)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			tok_fail(err, errlen, path, 0, "%s", strerror(errno));
			free(p);
			close(fd);
			return NULL;
		}
		n += (size_t)r;
	}
	close(fd);
	p[n] = 0;
	*len = n;
	return p;
}

void tokenizer_free(tokenizer *t)
{
	if (!t)
		return;
	if (t->map) { /* all in the mapping but the copies of hot_copy */
		munmap(t->map, t->map_len);
		free(t->merges.slots);
		free(t->merges.map.slots);
		free(t->piece_ids.slots);
	} else {
		free(t->glue);
		free(t->off);
		free(t->bytes);
		free(t->flags);
		if (t->piece_ids.slots)
			strmap_free(&t->piece_ids);
		free(t->cp_id);
		bpe_table_free(&t->merges);
		if (t->added.term)
			added_trie_free(&t->added);
	}
	free(t->path);
	for (size_t i = 0; i < t->n_repl; i++) {
		free(t->repl_from[i]);
		free(t->repl_to[i]);
	}
	free(t->repl_from);
	free(t->repl_to);
	free(t->repl_from_len);
	free(t->repl_to_len);
	free(t->split);
	pretok_regex_free(t->regex);
	free(t);
}
