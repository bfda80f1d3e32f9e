/* tokenizer_compiled.c - the compiled form of a tokenizer: its tables as
 * they are in memory (the merge table, the vocabulary, the added-token
 * trie, the character table ...), one after another in a file, so that
 * loading is a mapping of the file and a checksum instead of parsing
 * 33 MB of JSON and building the tables again.
 *
 * The file: a header (scalars, the 256-entry tables, where each array
 * lies), then the arrays, each at a multiple of 64 bytes. Integers are in
 * the machine's order (the header says which; another order is refused:
 * the file is a cache, rebuilt from the source). The checksum is XXH64 of
 * the whole file with the checksum field zero; a file whose checksum,
 * size, key or array extents do not agree is never used. Written under a
 * temporary name in the same folder and renamed into place, so that a
 * reader sees a whole file or none, and writers at once do not mix. */
#include "tokenizer_internal.h"
#include "cli.h"
#include "hash.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { S_OFF, S_BYTES, S_FLAGS, S_CPID, S_GLUE, S_MSLOTS, S_MERGED, S_AEDGES, S_ATERM, S_PIECES,
       S_REPL, S_SPLIT, S_PATTERN, N_SEC };

#define ALIGN 64
#define ENDIAN_MARK 0x01020304u
#define N_CP 0x110000

typedef struct {
	char magic[8];
	uint32_t version, endian;
	uint64_t key, size, checksum, fingerprint;
	int32_t kind, pretok, sym_mode, whole_piece, bos, eos, unk_id, fuse_unk;
	int32_t split_behavior, merges_wide;
	uint32_t vocab_size, word_cp, merges_ib, merges_rb, merges_n_ranks, regex_gaps;
	uint64_t word_len, n_glue, n_repl, split_len;
	uint64_t merges_mask, merges_count, added_nodes, added_mask, added_count;
	uint64_t pieces_mask, pieces_count;
	char word_utf8[4];
	uint32_t pad1;
	int32_t byte_id[256], fallback_id[256];
	unsigned char added_first[256];
	struct { uint64_t off, len; } sec[N_SEC];
} ctok_header;

static const char MAGIC[8] = "BONSAITK";

/* The arrays of t, where they come from in memory; S_REPL is serialized
 * as it is written (emit_repl), from t. */
typedef struct {
	const tokenizer *t;
	const void *p[N_SEC];
	uint64_t len[N_SEC];
} sections;

static void gather(const tokenizer *t, sections *s)
{
	memset(s, 0, sizeof *s);
	s->t = t;
	uint32_t v = t->vocab_size;
	s->p[S_OFF] = t->off, s->len[S_OFF] = ((uint64_t)v + 1) * sizeof *t->off;
	s->p[S_BYTES] = t->bytes, s->len[S_BYTES] = t->off[v];
	s->p[S_FLAGS] = t->flags, s->len[S_FLAGS] = v;
	if (t->cp_id)
		s->p[S_CPID] = t->cp_id, s->len[S_CPID] = (uint64_t)N_CP * sizeof *t->cp_id;
	s->p[S_GLUE] = t->glue, s->len[S_GLUE] = t->n_glue * sizeof *t->glue;
	const bpe_table *m = &t->merges;
	if (m->wide)
		s->p[S_MSLOTS] = m->map.slots, s->len[S_MSLOTS] = (m->map.mask + 1) * sizeof *m->map.slots;
	else
		s->p[S_MSLOTS] = m->slots, s->len[S_MSLOTS] = (m->mask + 1) * sizeof *m->slots;
	s->p[S_MERGED] = m->merged, s->len[S_MERGED] = (uint64_t)m->n_ranks * sizeof *m->merged;
	if (t->added.term) {
		s->p[S_AEDGES] = t->added.edges.slots;
		s->len[S_AEDGES] = (t->added.edges.mask + 1) * sizeof *t->added.edges.slots;
		s->p[S_ATERM] = t->added.term, s->len[S_ATERM] = t->added.nodes * sizeof *t->added.term;
	}
	if (t->whole_piece)
		s->p[S_PIECES] = t->piece_ids.slots,
		s->len[S_PIECES] = (t->piece_ids.mask + 1) * sizeof *t->piece_ids.slots;
	/* the replacements: from length, to length (8 bytes each), the bytes */
	size_t rl = 0;
	for (size_t i = 0; i < t->n_repl; i++)
		rl += 16 + t->repl_from_len[i] + t->repl_to_len[i];
	s->len[S_REPL] = rl;
	s->p[S_SPLIT] = t->split, s->len[S_SPLIT] = t->split ? t->split_len : 0;
	if (t->regex) {
		size_t pl;
		s->p[S_PATTERN] = pretok_regex_text(t->regex, &pl), s->len[S_PATTERN] = pl;
	}
}

static void fill_header(const tokenizer *t, const sections *s, uint64_t key, ctok_header *h)
{
	memset(h, 0, sizeof *h);
	memcpy(h->magic, MAGIC, 8);
	h->version = TOK_COMPILED_VERSION;
	h->endian = ENDIAN_MARK;
	h->key = key;
	h->fingerprint = t->fingerprint;
	h->kind = t->kind, h->pretok = (int32_t)t->pretok, h->sym_mode = t->sym_mode;
	h->whole_piece = t->whole_piece, h->bos = t->bos, h->eos = t->eos;
	h->unk_id = t->unk_id, h->fuse_unk = t->fuse_unk, h->split_behavior = t->split_behavior;
	h->vocab_size = t->vocab_size, h->word_cp = t->word_cp;
	h->regex_gaps = (uint32_t)t->regex_gaps;
	const bpe_table *m = &t->merges;
	h->merges_wide = m->wide, h->merges_ib = m->ib, h->merges_rb = m->rb;
	h->merges_n_ranks = m->n_ranks;
	h->merges_mask = m->wide ? m->map.mask : m->mask;
	h->merges_count = m->wide ? m->map.count : m->count;
	h->word_len = t->word_len, h->n_glue = t->n_glue, h->n_repl = t->n_repl;
	h->split_len = t->split ? t->split_len : 0;
	h->added_nodes = t->added.term ? t->added.nodes : 0;
	h->added_mask = t->added.term ? t->added.edges.mask : 0;
	h->added_count = t->added.term ? t->added.edges.count : 0;
	h->pieces_mask = t->whole_piece ? t->piece_ids.mask : 0;
	h->pieces_count = t->whole_piece ? t->piece_ids.count : 0;
	memcpy(h->word_utf8, t->word_utf8, 4);
	memcpy(h->byte_id, t->byte_id, sizeof h->byte_id);
	memcpy(h->fallback_id, t->fallback_id, sizeof h->fallback_id);
	memcpy(h->added_first, t->added.first, sizeof h->added_first);
	uint64_t off = (sizeof *h + ALIGN - 1) / ALIGN * ALIGN;
	for (int i = 0; i < N_SEC; i++) {
		h->sec[i].off = off;
		h->sec[i].len = s->len[i];
		off = (off + s->len[i] + ALIGN - 1) / ALIGN * ALIGN;
	}
	h->size = off;
}

/* The file's bytes in order, to a hash and to a file: the header, then
 * each array after zeros up to its offset. */
typedef struct {
	xxh64_state *hash;
	FILE *fp;
} sink;

static void emit(sink *k, const void *p, size_t n)
{
	if (!n) /* p may be NULL then */
		return;
	if (k->hash)
		xxh64_update(k->hash, p, n);
	if (k->fp)
		fwrite(p, 1, n, k->fp); /* errors: ferror at the end */
}

/* The normalizer's replacements: from length, to length (8 bytes each),
 * the bytes. */
static void emit_repl(sink *k, const tokenizer *t)
{
	for (size_t i = 0; i < t->n_repl; i++) {
		uint64_t len[2] = { t->repl_from_len[i], t->repl_to_len[i] };
		emit(k, len, sizeof len);
		emit(k, t->repl_from[i], len[0]);
		emit(k, t->repl_to[i], len[1]);
	}
}

static void emit_all(sink *k, const ctok_header *h, const sections *s)
{
	static const char zeros[ALIGN];
	emit(k, h, sizeof *h);
	uint64_t at = sizeof *h;
	for (int i = 0; i < N_SEC; i++) {
		emit(k, zeros, h->sec[i].off - at);
		if (i == S_REPL)
			emit_repl(k, s->t);
		else
			emit(k, s->p[i], s->len[i]);
		at = h->sec[i].off + s->len[i];
	}
	emit(k, zeros, h->size - at);
}

int tok_compiled_write(const tokenizer *t, const char *path, uint64_t key, char *err,
		       size_t errlen)
{
	if (t->whole_piece && t->piece_ids.base != t->bytes)
		return errf(err, errlen, "%s: the piece table is not over the vocabulary", path);
	sections s;
	gather(t, &s);
	ctok_header h;
	fill_header(t, &s, key, &h);
	xxh64_state st;
	xxh64_init(&st, 0);
	sink hs = { &st, NULL };
	emit_all(&hs, &h, &s);
	h.checksum = xxh64_digest(&st);

	/* no allocation: a cache that cannot be written is no error */
	char tmp[PATH_MAX + 16];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
		return errf(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
	int fd = mkstemp(tmp), rc = 0;
	FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!fp) {
		rc = errf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
	} else {
		fchmod(fd, 0644); /* mkstemp's 0600 would hide it from other users of the cache */
		sink fs = { NULL, fp };
		emit_all(&fs, &h, &s);
		int werr = ferror(fp) ? errno : 0;
		if (fclose(fp) != 0 && !werr)
			werr = errno;
		if (werr || rename(tmp, path) != 0) {
			rc = errf(err, errlen, "%s: %s", werr ? tmp : path, strerror(werr ? werr : errno));
			unlink(tmp);
		}
	}
	return rc;
}

/* Does the header describe arrays that fit the file and the sizes that
 * its counts imply? */
static int extents_ok(const ctok_header *h, const char *base)
{
	for (int i = 0; i < N_SEC; i++)
		if (h->sec[i].off % ALIGN || h->sec[i].off < sizeof *h || h->sec[i].off > h->size ||
		    h->sec[i].len > h->size - h->sec[i].off)
			return 0;
	uint64_t v = h->vocab_size;
	if (h->sec[S_OFF].len != (v + 1) * 8 || h->sec[S_FLAGS].len != v)
		return 0;
	uint64_t total;
	memcpy(&total, base + h->sec[S_OFF].off + v * 8, 8);
	if (h->sec[S_BYTES].len != total)
		return 0;
	const uint64_t *off = (const uint64_t *)(base + h->sec[S_OFF].off);
	for (uint64_t i = 0; i < v; i++)
		if (off[i] > off[i + 1])
			return 0;
	if (h->sec[S_CPID].len != (h->sym_mode == SYM_CHARS ? (uint64_t)N_CP * 4 : 0) ||
	    h->sec[S_GLUE].len != h->n_glue * 4 || h->sec[S_MERGED].len != (uint64_t)h->merges_n_ranks * 4 ||
	    h->sec[S_ATERM].len != h->added_nodes * 4 || h->sec[S_SPLIT].len != h->split_len)
		return 0;
	uint64_t ms = h->merges_mask + 1;
	if (ms & h->merges_mask || h->sec[S_MSLOTS].len != ms * (h->merges_wide ? 16 : 8))
		return 0;
	if (h->added_nodes && ((h->added_mask + 1) & h->added_mask ||
			       h->sec[S_AEDGES].len != (h->added_mask + 1) * 16))
		return 0;
	if (h->whole_piece && ((h->pieces_mask + 1) & h->pieces_mask ||
			       h->sec[S_PIECES].len != (h->pieces_mask + 1) * sizeof(strmap_slot)))
		return 0;
	if ((h->pretok == PRETOK_REGEX) != (h->sec[S_PATTERN].len > 0) || h->pretok < 0 ||
	    h->pretok > PRETOK_REGEX)
		return 0;
	return h->word_len <= 4 && h->split_behavior >= 0 && h->split_behavior <= SPLIT_CONTIGUOUS;
}

/* The normalizer's replacements from S_REPL: 1, 0 when they do not fit
 * it, -1 when out of memory. */
static int read_repl(tokenizer *t, const ctok_header *h, const char *base)
{
	const char *q = base + h->sec[S_REPL].off, *end = q + h->sec[S_REPL].len;
	size_t n = h->n_repl;
	if (n > h->sec[S_REPL].len / 16)
		return 0;
	t->repl_from = calloc(n ? n : 1, sizeof *t->repl_from);
	t->repl_to = calloc(n ? n : 1, sizeof *t->repl_to);
	t->repl_from_len = calloc(n ? n : 1, sizeof(size_t));
	t->repl_to_len = calloc(n ? n : 1, sizeof(size_t));
	if (!t->repl_from || !t->repl_to || !t->repl_from_len || !t->repl_to_len)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint64_t fl, tl;
		if (end - q < 16)
			return 0;
		memcpy(&fl, q, 8);
		memcpy(&tl, q + 8, 8);
		q += 16;
		if (fl > (uint64_t)(end - q) || tl > (uint64_t)(end - q) - fl)
			return 0;
		/* n_repl counts the pairs that tokenizer_free frees */
		t->repl_from[i] = tok_copy_str(q, fl);
		t->repl_to[i] = tok_copy_str(q + fl, tl);
		t->n_repl = i + 1;
		if (!t->repl_from[i] || !t->repl_to[i])
			return -1;
		t->repl_from_len[i] = fl;
		t->repl_to_len[i] = tl;
		q += fl + tl;
	}
	return q == end;
}

/* The tables that encoding reads at random (merge pairs, whole pieces),
 * copied out of the mapping into memory that can have huge pages: a file's
 * pages are 4 KB, and their TLB misses cost more than the copy. NULL when
 * out of memory. */
static void *hot_copy(const void *p, size_t n)
{
	void *q = tok_alloc_big(n ? n : 1);
	if (q)
		memcpy(q, p, n);
	return q;
}

/* The parts of t that are allocated rather than in the mapping of the
 * file (base; h its header): 1, 0 when the file does not hold what they
 * need, -1 when out of memory. */
static int own_parts(tokenizer *t, const ctok_header *h, const char *base)
{
#define SEC(i) ((void *)(base + h->sec[i].off))
	if (h->whole_piece && !(t->piece_ids.slots = hot_copy(SEC(S_PIECES), h->sec[S_PIECES].len)))
		return -1;
	bpe_table *m = &t->merges;
	if (m->wide && !(m->map.slots = hot_copy(SEC(S_MSLOTS), h->sec[S_MSLOTS].len)))
		return -1;
	if (!m->wide && !(m->slots = hot_copy(SEC(S_MSLOTS), h->sec[S_MSLOTS].len)))
		return -1;
	if (h->split_len && !(t->split = tok_copy_str(SEC(S_SPLIT), h->split_len)))
		return -1;
	if (h->pretok == PRETOK_REGEX) {
		char rerr[512];
		t->regex = pretok_regex_new(SEC(S_PATTERN), h->sec[S_PATTERN].len, rerr, sizeof rerr);
		/* a pattern that compiled when the file was made and does not
		 * now: the file is not sound */
		if (!t->regex)
			return err_out_of_memory(rerr) ? -1 : 0;
	}
#undef SEC
	return read_repl(t, h, base);
}

int tok_compiled_open(const char *path, uint64_t key, tokenizer **tp, int *damaged, char *err,
		      size_t errlen)
{
	*tp = NULL;
	*damaged = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	struct stat st;
	ctok_header h;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof h) {
		close(fd);
		*damaged = 1;
		return 0;
	}
	size_t len = (size_t)st.st_size;
	/* populated at once: the checksum reads every page anyway */
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return 0;
	const char *base = map;
	memcpy(&h, base, sizeof h);
	uint64_t sum = h.checksum;
	h.checksum = 0;
	xxh64_state s;
	xxh64_init(&s, 0);
	xxh64_update(&s, &h, sizeof h);
	xxh64_update(&s, base + sizeof h, len - sizeof h);
	if (memcmp(h.magic, MAGIC, 8) != 0 || h.version != TOK_COMPILED_VERSION ||
	    h.endian != ENDIAN_MARK || h.size != len || xxh64_digest(&s) != sum ||
	    !extents_ok(&h, base)) {
		munmap(map, len);
		*damaged = 1;
		return 0;
	}
	if (h.key != key) { /* a whole file of another source: a collision of names only */
		munmap(map, len);
		return 0;
	}
	tokenizer *t = calloc(1, sizeof *t);
	if (!t) {
		munmap(map, len);
		return errf(err, errlen, "%s: out of memory for its tokenizer", path);
	}
	t->map = map;
	t->map_len = len;
#define SEC(i) ((void *)(base + h.sec[i].off))
	t->kind = h.kind, t->pretok = (pretok_kind)h.pretok, t->sym_mode = h.sym_mode;
	t->vocab_size = h.vocab_size, t->bos = h.bos, t->eos = h.eos, t->fingerprint = h.fingerprint;
	t->off = SEC(S_OFF), t->bytes = SEC(S_BYTES), t->flags = SEC(S_FLAGS);
	t->whole_piece = h.whole_piece;
	if (h.whole_piece) {
		t->piece_ids.mask = h.pieces_mask;
		t->piece_ids.count = h.pieces_count;
		t->piece_ids.base = t->bytes;
	}
	memcpy(t->byte_id, h.byte_id, sizeof t->byte_id);
	memcpy(t->fallback_id, h.fallback_id, sizeof t->fallback_id);
	t->cp_id = h.sym_mode == SYM_CHARS ? SEC(S_CPID) : NULL;
	t->unk_id = h.unk_id, t->fuse_unk = h.fuse_unk;
	bpe_table *m = &t->merges;
	m->wide = h.merges_wide, m->ib = h.merges_ib, m->rb = h.merges_rb;
	m->n_ranks = h.merges_n_ranks;
	m->merged = SEC(S_MERGED);
	if (m->wide) {
		m->map.mask = h.merges_mask;
		m->map.count = h.merges_count;
	} else {
		m->mask = h.merges_mask;
		m->count = h.merges_count;
	}
	t->split_len = h.split_len;
	t->split_behavior = h.split_behavior;
	t->regex_gaps = (int)h.regex_gaps;
	if (h.added_nodes) {
		t->added.edges.slots = SEC(S_AEDGES);
		t->added.edges.mask = h.added_mask;
		t->added.edges.count = h.added_count;
		t->added.term = SEC(S_ATERM);
		t->added.nodes = t->added.cap = h.added_nodes;
	}
	memcpy(t->added.first, h.added_first, sizeof t->added.first);
	t->word_cp = h.word_cp;
	memcpy(t->word_utf8, h.word_utf8, 4);
	t->word_len = h.word_len;
	t->glue = SEC(S_GLUE);
	t->n_glue = h.n_glue;
#undef SEC
	int rc = own_parts(t, &h, base);
	if (rc <= 0) {
		tokenizer_free(t);
		*damaged = rc == 0;
		return rc < 0 ? errf(err, errlen, "%s: out of memory for its tokenizer", path) : 0;
	}
	*tp = t;
	return 0;
}
