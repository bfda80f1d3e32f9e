/* tokenizer_prefix.c - the compressed prefix tree of tokenizer_internal.h.
 * A node stands for the path from the root to it; the bytes of the edge
 * into a node are read from a string that begins with the node's path
 * (ref), so the tree holds no bytes of its own and has at most two nodes a
 * string: building it and walking a string through it both cost what the
 * string's length does. */
#include "tokenizer_internal.h"

#include <stdlib.h>
#include <string.h>

/* Room for k more nodes: 0, or -1 when out of memory (cap stays what all
 * three arrays have). */
static int room(prefix_tree *p, size_t k)
{
	if (p->nodes + k <= p->cap)
		return 0;
	size_t cap = p->cap ? 2 * p->cap : 64;
	void *a[] = { p->ref, p->depth, p->term };
	static const size_t size[] = { sizeof *p->ref, sizeof *p->depth, sizeof *p->term };
	int rc = grow_arrays(a, size, 3, cap);
	p->ref = a[0], p->depth = a[1], p->term = a[2];
	if (rc < 0)
		return -1;
	p->cap = cap;
	return 0;
}

/* A new node (room() made sure of its place). */
static size_t new_node(prefix_tree *p, const char *ref, uint64_t depth, int32_t term)
{
	p->ref[p->nodes] = ref;
	p->depth[p->nodes] = depth;
	p->term[p->nodes] = term;
	return p->nodes++;
}

int prefix_tree_init(prefix_tree *p)
{
	memset(p, 0, sizeof *p);
	if (u64map_init(&p->edges, 64) < 0)
		return -1;
	if (room(p, 1) < 0) {
		prefix_tree_free(p);
		return -1;
	}
	new_node(p, "", 0, -1);
	return 0;
}

/* Each step that changes the tree first makes room for the nodes and
 * edges it adds, so that running out of memory leaves the tree whole. */
int prefix_tree_add(prefix_tree *p, const char *s, size_t n, int32_t id)
{
	uint64_t node = 0, child;
	for (;;) {
		uint64_t d = p->depth[node];
		if (d == n) {
			if (p->term[node] < 0)
				p->term[node] = id;
			return 0;
		}
		uint64_t key = node << 8 | (unsigned char)s[d];
		if (!u64map_get(&p->edges, key, &child)) {
			if (room(p, 1) < 0 || u64map_put(&p->edges, key, p->nodes) < 0)
				return -1;
			new_node(p, s, n, id);
			return 0;
		}
		/* how far s follows the edge into child */
		const char *r = p->ref[child];
		uint64_t cd = p->depth[child], m = d + 1;
		while (m < cd && m < n && s[m] == r[m])
			m++;
		if (m == cd) {
			node = child;
			continue;
		}
		/* s leaves the edge at m: a node there, between node and child;
		 * the map gets its room for the three edges first */
		if (room(p, 2) < 0 || u64map_reserve(&p->edges, 2) < 0)
			return -1;
		size_t mid = new_node(p, r, m, -1);
		u64map_put(&p->edges, key, mid);
		u64map_put(&p->edges, (uint64_t)mid << 8 | (unsigned char)r[m], child);
		if (m == n)
			p->term[mid] = id;
		else
			u64map_put(&p->edges, (uint64_t)mid << 8 | (unsigned char)s[m],
				   new_node(p, s, n, id));
		return 0;
	}
}

void prefix_tree_prefixes(const prefix_tree *p, const char *s, size_t n, int32_t *ids)
{
	for (size_t k = 0; k <= n; k++)
		ids[k] = -1;
	uint64_t node = 0, child;
	for (;;) {
		uint64_t d = p->depth[node];
		ids[d] = p->term[node];
		if (d == n || !u64map_get(&p->edges, node << 8 | (unsigned char)s[d], &child))
			return;
		uint64_t cd = p->depth[child];
		if (cd > n || memcmp(s + d + 1, p->ref[child] + d + 1, cd - d - 1) != 0)
			return;
		node = child;
	}
}

void prefix_tree_free(prefix_tree *p)
{
	u64map_free(&p->edges);
	free(p->ref);
	free(p->depth);
	free(p->term);
	memset(p, 0, sizeof *p);
}
