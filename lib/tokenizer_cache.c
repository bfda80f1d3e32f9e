/* tokenizer_cache.c - a per-thread cache of what a piece encodes to.
 * Words repeat (Zipf), so most pieces are found here instead of merged
 * again. Each thread has its own table (no locks); it belongs to the
 * tokenizer with the given serial and is emptied when the thread encodes
 * with another tokenizer.
 *
 * Most lookups miss the CPU caches, so an entry is laid out to cost few
 * cache lines: the table holds 8-byte slots (a 32-bit tag of the hash and
 * where the entry is), and an entry is one run of 32-bit words in an
 * arena: a header (length, id count, hits), the piece's bytes, its ids.
 * Entries are appended in the order pieces are first seen, so the frequent
 * words, seen early, lie together. When the cache is full, the entries hit
 * least are dropped and the others kept (a word seen once is the commonest
 * kind of piece, and emptying the whole cache would throw away the hot
 * words with them). In front of the table, a small direct-mapped cache
 * of short pieces holds their bytes and ids in one 32-byte slot (512 KB,
 * which stays in the CPU's own cache): the commonest words are found there
 * without a miss. The thread's memo of merge-table lookups (bpe.h) lives
 * here too, since it has the same owner and lifetime. In all about 13 MB a
 * thread, in huge pages where the system gives them. */
#include "tokenizer_internal.h"

#include <stdlib.h>
#include <string.h>

/* 256 Ki pieces: FineWeb text has more distinct words than that in a few
 * thousand documents (313,000 in 2,800), and a smaller table thrashes
 * (1 << 16 slots: 4.6 s for 29 MB of FineWeb, 1 << 19: 3.0 s). */
#define SLOTS (1u << 19)
#define MAX_ENTRIES (SLOTS / 2)
/* 32 bytes an entry on average; a word of FineWeb takes about 20 (when
 * the arena fills first, the cache is shrunk as when the table does) */
#define ARENA_WORDS (MAX_ENTRIES * 8u)

typedef struct {
	uint32_t tag; /* the hash's high half */
	uint32_t off; /* the entry's first arena word; 0: empty */
} cache_slot;

/* header word: length (8 bits) | id count << 8 | hits << 16 */
#define E_LEN(h) ((h) & 0xff)
#define E_NIDS(h) ((h) >> 8 & 0xff)
#define E_HITS(h) ((h) >> 16)
#define E_SIZE(h) (1 + (E_LEN(h) + 3) / 4 + E_NIDS(h)) /* in words */

#define FRONT_BITS 14
#define FRONT_SLOTS (1u << FRONT_BITS)
#define FRONT_BYTES 16
#define FRONT_IDS 3

typedef struct {
	unsigned char bytes[FRONT_BYTES];
	uint32_t ids[FRONT_IDS];
	uint8_t len, n_ids; /* len 0: empty */
	uint16_t pad;
} front_slot;

typedef struct {
	uint64_t serial;
	front_slot front[FRONT_SLOTS];
	uint64_t pair_memo[BPE_MEMO_SLOTS];
	cache_slot slots[SLOTS];
	size_t count;
	uint32_t *arena; /* word 0 unused, so that off 0 means empty */
	size_t used;     /* words */
} piece_cache;

static _Thread_local piece_cache *tl_cache;

static void cache_free(void)
{
	/* only the main thread's cache is freed at exit; worker threads of a
	 * pool live until the process ends */
	if (tl_cache) {
		free(tl_cache->arena);
		free(tl_cache);
		tl_cache = NULL;
	}
}

static void cache_clear(piece_cache *c)
{
	memset(c->front, 0, sizeof c->front);
	bpe_memo_clear(c->pair_memo);
	memset(c->slots, 0, sizeof c->slots);
	c->count = 0;
	c->used = 1;
}

/* The thread's cache, made empty for t; NULL when out of memory. */
static __attribute__((noinline)) piece_cache *cache_make(const tokenizer *t)
{
	piece_cache *c = tl_cache;
	if (!c) {
		static int registered;
		c = tok_alloc_big(sizeof *c);
		uint32_t *arena = c ? tok_alloc_big(ARENA_WORDS * sizeof *arena) : NULL;
		if (!arena) {
			free(c);
			return NULL;
		}
		/* without atexit the main thread's cache is left to the end of the
		 * process, as a worker thread's is: no harm */
		if (!__atomic_exchange_n(&registered, 1, __ATOMIC_ACQ_REL) && atexit(cache_free) != 0)
			__atomic_store_n(&registered, 0, __ATOMIC_RELEASE);
		c->serial = 0;
		c->arena = arena;
		tl_cache = c;
	}
	if (c->serial != t->serial) {
		cache_clear(c);
		c->serial = t->serial;
	}
	return c;
}

int piece_cache_ready(const tokenizer *t)
{
	return cache_make(t) ? 0 : -1;
}

/* The thread's cache for t: called for every piece, so the common case is
 * inlined and the rest (emptying the cache for another tokenizer) is not;
 * piece_cache_ready made it. */
static inline piece_cache *cache_for(const tokenizer *t)
{
	piece_cache *c = tl_cache;
	if (__builtin_expect(c != NULL && c->serial == t->serial, 1))
		return c;
	return cache_make(t);
}

/* a[0..n) == b[0..n) for the short strings of the cache, without a call */
static inline int same_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
	uint64_t x, y;
	if (n >= 8) {
		for (size_t i = 0; i + 8 <= n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return 0;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		uint32_t p, q, r, s;
		memcpy(&p, a, 4);
		memcpy(&q, b, 4);
		memcpy(&r, a + n - 4, 4);
		memcpy(&s, b + n - 4, 4);
		return p == q && r == s;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static void slot_insert(piece_cache *c, uint64_t h, uint32_t off)
{
	size_t i = h & (SLOTS - 1);
	while (c->slots[i].off)
		i = (i + 1) & (SLOTS - 1);
	c->slots[i].tag = (uint32_t)(h >> 32);
	c->slots[i].off = off;
}

/* Keeps the most-hit entries, at most half of what the cache holds, in
 * their order; their hit counts are halved so that words that stop coming
 * give way later. */
static void cache_shrink(piece_cache *c)
{
	size_t hist[256] = { 0 }, words[256] = { 0 };
	for (size_t w = 1; w < c->used; w += E_SIZE(c->arena[w])) {
		uint32_t hits = E_HITS(c->arena[w]);
		hist[hits > 255 ? 255 : hits]++;
		words[hits > 255 ? 255 : hits] += E_SIZE(c->arena[w]);
	}
	/* the lowest threshold >= 1 that keeps at most half */
	size_t th = 255, kept = hist[255], kept_words = words[255];
	while (th > 1 && kept + hist[th - 1] <= MAX_ENTRIES / 2 &&
	       kept_words + words[th - 1] <= ARENA_WORDS / 2) {
		th--;
		kept += hist[th];
		kept_words += words[th];
	}
	memset(c->slots, 0, sizeof c->slots);
	size_t dst = 1, count = 0;
	for (size_t w = 1; w < c->used;) {
		uint32_t h = c->arena[w];
		size_t size = E_SIZE(h);
		uint32_t hits = E_HITS(h);
		if ((hits > 255 ? 255 : hits) >= th) {
			memmove(c->arena + dst, c->arena + w, size * sizeof *c->arena);
			c->arena[dst] = (h & 0xffff) | (hits / 2) << 16;
			slot_insert(c, strmap_hash(c->arena + dst + 1, E_LEN(h)), (uint32_t)dst);
			dst += size;
			count++;
		}
		w += size;
	}
	c->used = dst;
	c->count = count;
}

uint64_t *piece_cache_pair_memo(const tokenizer *t)
{
	return cache_for(t)->pair_memo;
}

/* the front slot of a hash: its top bits (the table uses the low ones) */
static inline front_slot *front_of(piece_cache *c, uint64_t h)
{
	return &c->front[h >> (64 - FRONT_BITS)];
}

static void front_put(piece_cache *c, uint64_t h, const unsigned char *s, size_t n,
		      const uint32_t *ids, size_t n_ids)
{
	if (n > FRONT_BYTES || n_ids > FRONT_IDS)
		return;
	front_slot *f = front_of(c, h);
	memset(f->bytes, 0, sizeof f->bytes);
	memcpy(f->bytes, s, n);
	memcpy(f->ids, ids, n_ids * sizeof *ids);
	f->len = (uint8_t)n;
	f->n_ids = (uint8_t)n_ids;
}

void piece_cache_prefetch(const tokenizer *t, size_t n, uint64_t h)
{
	if (n == 0 || n > PIECE_CACHE_MAX_BYTES)
		return;
	piece_cache *c = cache_for(t);
	__builtin_prefetch(front_of(c, h));
	__builtin_prefetch(&c->slots[h & (SLOTS - 1)]);
}

int piece_cache_get(const tokenizer *t, const unsigned char *s, size_t n, uint64_t h,
		    const uint32_t **ids, size_t *n_ids)
{
	if (n == 0 || n > PIECE_CACHE_MAX_BYTES)
		return 0;
	piece_cache *c = cache_for(t);
	const front_slot *f = front_of(c, h);
	if (f->len == n && same_bytes(f->bytes, s, n)) {
		*ids = f->ids;
		*n_ids = f->n_ids;
		return 1;
	}
	uint32_t tag = (uint32_t)(h >> 32);
	for (size_t i = h & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
		cache_slot e = c->slots[i];
		if (!e.off)
			return 0;
		uint32_t *p = c->arena + e.off;
		if (e.tag == tag && E_LEN(*p) == n && same_bytes((const unsigned char *)(p + 1), s, n)) {
			if (E_HITS(*p) < 0xffff)
				*p += 1u << 16;
			*ids = p + 1 + (n + 3) / 4;
			*n_ids = E_NIDS(*p);
			front_put(c, h, s, n, *ids, *n_ids);
			return 1;
		}
	}
}

void piece_cache_put(const tokenizer *t, const unsigned char *s, size_t n, uint64_t h,
		     const uint32_t *ids, size_t n_ids)
{
	if (n == 0 || n > PIECE_CACHE_MAX_BYTES || n_ids > 255)
		return;
	piece_cache *c = cache_for(t);
	size_t size = 1 + (n + 3) / 4 + n_ids;
	if (c->count >= MAX_ENTRIES || c->used + size > ARENA_WORDS)
		cache_shrink(c);
	if (c->used + size > ARENA_WORDS) /* more than half hit 255 times or more */
		cache_clear(c);
	uint32_t *p = c->arena + c->used;
	p[0] = (uint32_t)n | (uint32_t)n_ids << 8;
	p[(n + 3) / 4] = 0; /* the padding of the last word of bytes */
	memcpy(p + 1, s, n);
	memcpy(p + 1 + (n + 3) / 4, ids, n_ids * sizeof *ids);
	slot_insert(c, h, (uint32_t)c->used);
	front_put(c, h, s, n, ids, n_ids);
	c->used += size;
	c->count++;
}
