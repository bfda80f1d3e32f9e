/* dedup.h - a set of 64-bit hashes for exact duplicate removal: open
 * addressing with linear probing, 8 bytes a slot, doubled when 3/4 full.
 * For 100 M distinct texts it holds 2^27 slots = 1 GiB (1.5 GiB for a
 * moment while it doubles from 2^26). */
#ifndef BONSAI_FILTER_DEDUP_H
#define BONSAI_FILTER_DEDUP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t *slots; /* 0 = empty; a hash of 0 is stored as 1 */
	size_t cap;      /* a power of two */
	size_t count;
} hashset;

void hashset_init(hashset *s, size_t cap_hint);
/* Adds h; returns 1 if it was new, 0 if it was already there. */
int hashset_add(hashset *s, uint64_t h);
/* 1 if h is there. */
int hashset_has(const hashset *s, uint64_t h);
size_t hashset_bytes(const hashset *s);
void hashset_free(hashset *s);

/* The hash of a document text for --dedup. */
uint64_t text_hash(const char *s, size_t n);

#endif
