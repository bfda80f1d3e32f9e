/* tokenizer_cache.c - a per-thread cache of what a piece encodes to.
 * Words repeat (Zipf), so most pieces are found here instead of merged
 * again. Each thread has its own table (no locks); it belongs to the
 * tokenizer with the given serial and is emptied when it fills up or the
 * thread encodes with another tokenizer. */
#include "tokenizer_internal.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* 256 Ki pieces (about 20 MB a thread): FineWeb text has more distinct
 * words than that in a few thousand documents, and a full table is
 * emptied, so a smaller one thrashes (1 << 16 slots: 4.6 s for 29 MB of
 * FineWeb, 1 << 19: 3.0 s). */
#define SLOTS (1u << 19)
#define MAX_ENTRIES (SLOTS / 2)

typedef struct {
	uint64_t hash;
	uint32_t off, len, ids_off, n_ids;
} cache_slot;

typedef struct {
	uint64_t serial;
	cache_slot slots[SLOTS]; /* len == 0: empty (empty pieces are not cached) */
	size_t count;
	char *bytes;
	size_t bytes_len, bytes_cap;
	uint32_t *ids;
	size_t ids_len, ids_cap;
} piece_cache;

static _Thread_local piece_cache *tl_cache;

static void cache_free(void)
{
	/* only the main thread's cache is freed at exit; worker threads of a
	 * pool live until the process ends */
	if (tl_cache) {
		free(tl_cache->bytes);
		free(tl_cache->ids);
		free(tl_cache);
		tl_cache = NULL;
	}
}

static piece_cache *cache_for(const tokenizer *t)
{
	piece_cache *c = tl_cache;
	if (!c) {
		c = xcalloc(1, sizeof *c);
		c->bytes_cap = MAX_ENTRIES * 16;
		c->bytes = xmalloc(c->bytes_cap);
		c->ids_cap = MAX_ENTRIES * 4;
		c->ids = xmalloc(c->ids_cap * sizeof *c->ids);
		tl_cache = c;
		static int registered;
		if (!__atomic_exchange_n(&registered, 1, __ATOMIC_ACQ_REL))
			atexit(cache_free);
	}
	if (c->serial != t->serial) {
		memset(c->slots, 0, sizeof c->slots);
		c->count = c->bytes_len = c->ids_len = 0;
		c->serial = t->serial;
	}
	return c;
}

int piece_cache_get(const tokenizer *t, const unsigned char *s, size_t n,
		    const uint32_t **ids, size_t *n_ids)
{
	if (n == 0 || n > PIECE_CACHE_MAX_BYTES)
		return 0;
	piece_cache *c = cache_for(t);
	uint64_t h = strmap_hash(s, n);
	for (size_t i = h & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
		const cache_slot *e = &c->slots[i];
		if (!e->len)
			return 0;
		if (e->hash == h && e->len == n && memcmp(c->bytes + e->off, s, n) == 0) {
			*ids = c->ids + e->ids_off;
			*n_ids = e->n_ids;
			return 1;
		}
	}
}

void piece_cache_put(const tokenizer *t, const unsigned char *s, size_t n,
		     const uint32_t *ids, size_t n_ids)
{
	if (n == 0 || n > PIECE_CACHE_MAX_BYTES)
		return;
	piece_cache *c = cache_for(t);
	if (c->count >= MAX_ENTRIES || c->bytes_len + n > c->bytes_cap ||
	    c->ids_len + n_ids > c->ids_cap) {
		memset(c->slots, 0, sizeof c->slots);
		c->count = c->bytes_len = c->ids_len = 0;
	}
	uint64_t h = strmap_hash(s, n);
	size_t i = h & (SLOTS - 1);
	while (c->slots[i].len)
		i = (i + 1) & (SLOTS - 1);
	cache_slot *e = &c->slots[i];
	e->hash = h;
	e->off = (uint32_t)c->bytes_len;
	e->len = (uint32_t)n;
	e->ids_off = (uint32_t)c->ids_len;
	e->n_ids = (uint32_t)n_ids;
	memcpy(c->bytes + c->bytes_len, s, n);
	c->bytes_len += n;
	memcpy(c->ids + c->ids_len, ids, n_ids * sizeof *ids);
	c->ids_len += n_ids;
	c->count++;
}
