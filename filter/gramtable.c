/* gramtable.c - see gramtable.h. */
#include "gramtable.h"

#include "cli.h"

#include <stdlib.h>
#include <string.h>

void gram_pairs_add(gram_pairs *l, uint64_t key, uint32_t item)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		l->p = xreallocarray(l->p, l->cap, sizeof *l->p);
	}
	l->p[l->n].key = key;
	l->p[l->n].item = item;
	l->n++;
}

/* Sorts by key, keeping the order of equal keys (LSD radix sort, a byte a
 * pass): pairs added in item order end up by (key, item). */
static void pairs_sort(gram_pairs *l)
{
	gram_item *tmp = xmalloc((l->n ? l->n : 1) * sizeof *tmp), *src = l->p, *dst = tmp;
	for (int shift = 0; shift < 64; shift += 8) {
		size_t count[257] = {0};
		for (size_t i = 0; i < l->n; i++)
			count[(src[i].key >> shift & 0xff) + 1]++;
		for (int k = 0; k < 256; k++)
			count[k + 1] += count[k];
		for (size_t i = 0; i < l->n; i++)
			dst[count[src[i].key >> shift & 0xff]++] = src[i];
		gram_item *s = src;
		src = dst;
		dst = s;
	}
	free(tmp); /* after 8 passes the sorted pairs are back in l->p */
}

static void table_init(gram_table *t, size_t count)
{
	memset(t, 0, sizeof *t);
	size_t cap = 16;
	int lg = 4;
	while (cap < 2 * count) {
		cap *= 2;
		lg++;
	}
	t->keys = xcalloc(cap, sizeof *t->keys);
	t->vals = xcalloc(cap, sizeof *t->vals);
	t->bits = xcalloc(cap * 4 / 64, sizeof *t->bits);
	t->bits_shift = 64 - (lg + 2);
	t->cap = cap;
}

static void table_put(gram_table *t, uint64_t key, uint32_t val)
{
	size_t mask = t->cap - 1, i = (size_t)key & mask;
	while (t->keys[i])
		i = (i + 1) & mask;
	t->keys[i] = key;
	t->vals[i] = val;
	t->count++;
	uint64_t b = key >> t->bits_shift;
	t->bits[b >> 6] |= 1ull << (b & 63);
}

void gram_table_build(gram_table *t, gram_pairs *l, int max_items, uint64_t *ignored)
{
	pairs_sort(l);
	size_t keys = 0, out = 0;
	for (size_t i = 0; i < l->n; i++) { /* drop repeated pairs, count keys */
		if (out && l->p[out - 1].key == l->p[i].key && l->p[out - 1].item == l->p[i].item)
			continue;
		keys += !out || l->p[out - 1].key != l->p[i].key;
		l->p[out++] = l->p[i];
	}
	l->n = out;
	table_init(t, keys);
	for (size_t i = 0, j; i < l->n; i = j) {
		for (j = i + 1; j < l->n && l->p[j].key == l->p[i].key; j++)
			;
		size_t c = j - i;
		if (c > (size_t)max_items) {
			(*ignored)++;
		} else if (c == 1) {
			table_put(t, l->p[i].key, l->p[i].item);
		} else {
			if (t->nlists + c + 1 >= GRAM_LIST)
				die("--decontaminate: too many n-grams shared by several items");
			t->lists = xreallocarray(t->lists, t->nlists + c + 1, sizeof *t->lists);
			table_put(t, l->p[i].key, GRAM_LIST | (uint32_t)t->nlists);
			t->lists[t->nlists++] = (uint32_t)c;
			for (size_t k = i; k < j; k++)
				t->lists[t->nlists++] = l->p[k].item;
		}
	}
	free(l->p);
	memset(l, 0, sizeof *l);
}

size_t gram_table_bytes(const gram_table *t)
{
	return t->cap * (sizeof *t->keys + sizeof *t->vals) + t->cap * 4 / 8 +
		t->nlists * sizeof *t->lists;
}

void gram_table_free(gram_table *t)
{
	free(t->bits);
	free(t->keys);
	free(t->vals);
	free(t->lists);
	memset(t, 0, sizeof *t);
}
