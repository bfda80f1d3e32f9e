/* dedup.c - see dedup.h. The hashes are already uniformly spread (XXH64),
 * so their low bits index the table directly. */
#include "dedup.h"
#include "cli.h"
#include "hash.h"

#include <stdlib.h>

#define DEDUP_SEED 0x626f6e736169ULL /* "bonsai" */

void hashset_init(hashset *s, size_t cap_hint)
{
	size_t cap = 1024;
	while (cap < cap_hint)
		cap *= 2;
	s->slots = xcalloc(cap, sizeof *s->slots);
	s->cap = cap;
	s->count = 0;
}

static void put(uint64_t *slots, size_t mask, uint64_t h)
{
	size_t i = (size_t)h & mask;
	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = h;
}

static void grow(hashset *s)
{
	size_t cap = s->cap * 2;
	uint64_t *slots = xcalloc(cap, sizeof *slots);
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i])
			put(slots, cap - 1, s->slots[i]);
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
}

int hashset_add(hashset *s, uint64_t h)
{
	if (!h)
		h = 1;
	size_t mask = s->cap - 1, i = (size_t)h & mask;
	while (s->slots[i]) {
		if (s->slots[i] == h)
			return 0;
		i = (i + 1) & mask;
	}
	s->slots[i] = h;
	s->count++;
	if (s->count > s->cap / 4 * 3)
		grow(s);
	return 1;
}

int hashset_has(const hashset *s, uint64_t h)
{
	if (!h)
		h = 1;
	size_t mask = s->cap - 1, i = (size_t)h & mask;
	while (s->slots[i]) {
		if (s->slots[i] == h)
			return 1;
		i = (i + 1) & mask;
	}
	return 0;
}

size_t hashset_bytes(const hashset *s) { return s->cap * sizeof *s->slots; }

void hashset_free(hashset *s)
{
	free(s->slots);
	s->slots = NULL;
	s->cap = s->count = 0;
}

uint64_t text_hash(const char *s, size_t n) { return xxh64(s, n, DEDUP_SEED); }
