/* decontam.c - see decontam.h. */
#include "decontam.h"

#include "cli.h"
#include "evaldir.h"
#include "hash.h"
#include "json.h"
#include "utf8.h"
#include "xio.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#define DC_LIST 0x80000000u
#define POLY_B 0x9E3779B97F4A7C15ull /* odd: a unit mod 2^64 */

/* ---- words ---- */

/* p with room for need elements of size bytes (*cap: its room now). */
static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	size_t c = *cap ? *cap : 256;
	while (c < need)
		c *= 2;
	*cap = c;
	return xreallocarray(p, c, size);
}

static void words_reserve(dc_scratch *w, size_t need)
{
	if (need <= w->cap)
		return;
	size_t c = w->cap ? 2 * w->cap : 256;
	while (c < need)
		c *= 2;
	w->hash = xreallocarray(w->hash, c, sizeof *w->hash);
	w->key = xreallocarray(w->key, c, sizeof *w->key);
	w->start = xreallocarray(w->start, c, sizeof *w->start);
	w->end = xreallocarray(w->end, c, sizeof *w->end);
	w->cap = c;
}

static void end_word(dc_scratch *w, size_t start, size_t end)
{
	words_reserve(w, w->words + 1);
	w->hash[w->words] = xxh64(w->word.data, w->word.len, 0);
	w->start[w->words] = start;
	w->end[w->words] = end;
	w->words++;
	w->word.len = 0;
}

static int word_cp(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_NO; /* L*, M*, N* */
}

static void put_utf8(buf_t *b, int32_t c)
{
	utf8proc_uint8_t u[4];
	utf8proc_ssize_t k = utf8proc_encode_char(c, u);
	buf_append(b, u, (size_t)k);
}

/* Splits t[0..len) into words (appended to w's arrays). */
static void split_words(dc_scratch *w, const char *t, size_t len)
{
	size_t i = 0, start = 0, end = 0;
	int in = 0;
	w->word.len = 0;
	while (i < len) {
		unsigned char c = (unsigned char)t[i];
		if (c < 0x80) {
			int lo = c >= 'a' && c <= 'z', up = c >= 'A' && c <= 'Z', dig = c >= '0' && c <= '9';
			if (lo || up || dig) {
				if (!in) {
					in = 1;
					start = i;
				}
				if (w->word.len + 1 >= w->word.cap)
					buf_reserve(&w->word, 64);
				w->word.data[w->word.len++] = (char)(up ? c + 32 : c);
				end = i + 1;
			} else if (in) {
				end_word(w, start, end);
				in = 0;
			}
			i++;
			continue;
		}
		int32_t cp, d[32];
		size_t k = utf8_decode(t + i, len - i, &cp);
		utf8proc_ssize_t m = 0;
		if (cp >= 0) {
			int bound = 0;
			m = utf8proc_decompose_char(cp, d, 32, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
				UTF8PROC_CASEFOLD, &bound);
			if (m > 32)
				m = 0; /* no character decomposes this far */
		}
		if (m <= 0 && in) {
			end_word(w, start, end);
			in = 0;
		}
		for (utf8proc_ssize_t j = 0; j < m; j++) {
			if (word_cp(d[j])) {
				if (!in) {
					in = 1;
					start = i;
				}
				put_utf8(&w->word, d[j]);
				end = i + k;
			} else if (in) {
				end_word(w, start, end);
				in = 0;
			}
		}
		i += k;
	}
	if (in)
		end_word(w, start, end);
}

/* The key of the m words whose polynomial hash is h: mixed, never 0. */
static inline uint64_t gram_key(uint64_t h, int m)
{
	uint64_t z = h ^ ((uint64_t)m << 56);
	z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDull;
	z = (z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53ull;
	z ^= z >> 33;
	return z ? z : 1;
}

static uint64_t pow_b(int m)
{
	uint64_t p = 1;
	for (int i = 0; i < m; i++)
		p *= POLY_B;
	return p;
}

/* w->key[i] = the key of words i..i+m-1 of w->hash[0..nw), for every i;
 * returns how many there are. w->pre holds the prefix hashes
 * P[i] = sum of hash[j] * B^(i-1-j), j < i: any m-gram's hash is then
 * P[i+m] - P[i] * B^m. */
static size_t gram_keys(dc_scratch *w, size_t nw, int m)
{
	if (nw < (size_t)m)
		return 0;
	w->pre = grow(w->pre, &w->pre_cap, nw + 1, sizeof *w->pre);
	const uint64_t *hash = w->hash;
	uint64_t *pre = w->pre;
	uint64_t bm = pow_b(m);
	pre[0] = 0;
	for (size_t i = 0; i < nw; i++)
		pre[i + 1] = pre[i] * POLY_B + hash[i];
	size_t k = nw - (size_t)m + 1;
	for (size_t i = 0; i < k; i++)
		w->key[i] = gram_key(pre[i + (size_t)m] - pre[i] * bm, m);
	return k;
}

/* ---- tables ---- */

static void table_init(gram_table *t, size_t count)
{
	size_t cap = 16;
	while (cap < 2 * count)
		cap *= 2;
	t->keys = xcalloc(cap, sizeof *t->keys);
	t->vals = xcalloc(cap, sizeof *t->vals);
	t->cap = cap;
	t->count = 0;
	int lg = 0;
	while ((size_t)1 << lg < cap)
		lg++;
	t->bits = xcalloc(cap * 4 / 64, sizeof *t->bits); /* cap >= 16 */
	t->bits_shift = 64 - (lg + 2);
}

static void table_put(gram_table *t, uint64_t key, uint32_t val)
{
	size_t mask = t->cap - 1, i = (size_t)key & mask;
	while (t->keys[i])
		i = (i + 1) & mask;
	t->keys[i] = key;
	t->vals[i] = val;
	uint64_t b = key >> t->bits_shift;
	t->bits[b >> 6] |= 1ull << (b & 63);
	t->count++;
}

static inline const uint32_t *table_get(const gram_table *t, uint64_t key)
{
	uint64_t b = key >> t->bits_shift;
	if (!(t->bits[b >> 6] >> (b & 63) & 1))
		return NULL;
	size_t mask = t->cap - 1, i = (size_t)key & mask;
	for (uint64_t k; (k = t->keys[i]); i = (i + 1) & mask)
		if (k == key)
			return &t->vals[i];
	return NULL;
}

static size_t table_bytes(const gram_table *t)
{
	return t->cap * (sizeof *t->keys + sizeof *t->vals) + t->cap * 4 / 8;
}

/* ---- building ---- */

typedef struct {
	uint64_t key;
	uint32_t item;
} gram_item;

typedef struct {
	gram_item *p;
	size_t n, cap;
} pair_list;

static void pair_add(pair_list *l, uint64_t key, uint32_t item)
{
	l->p = grow(l->p, &l->cap, l->n + 1, sizeof *l->p);
	l->p[l->n].key = key;
	l->p[l->n].item = item;
	l->n++;
}

/* Sorts by key, keeping the order of equal keys (LSD radix sort, a byte a
 * pass): pairs are added in item order, so they end up by (key, item). */
static void pair_sort(pair_list *l)
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

/* Sorts the pairs and puts each key with its distinct items into t; keys
 * of more than max_items items are left out (counted in *ignored). */
static void table_fill(decontam *dc, gram_table *t, pair_list *l, uint64_t *ignored)
{
	pair_sort(l);
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
		if (c > (size_t)dc->max_items) {
			(*ignored)++;
		} else if (c == 1) {
			table_put(t, l->p[i].key, l->p[i].item);
		} else {
			if (dc->nlists + c + 1 >= DC_LIST)
				die("--decontaminate: too many n-grams shared by several items");
			size_t cap = dc->nlists;
			dc->lists = xreallocarray(dc->lists, cap + c + 1, sizeof *dc->lists);
			table_put(t, l->p[i].key, DC_LIST | (uint32_t)dc->nlists);
			dc->lists[dc->nlists++] = (uint32_t)c;
			for (size_t k = i; k < j; k++)
				dc->lists[dc->nlists++] = l->p[k].item;
		}
	}
}

void decontam_build(decontam *dc, eval_task *const *tasks, size_t n_tasks, int n, int max_items)
{
	memset(dc, 0, sizeof *dc);
	dc->n = n;
	dc->max_items = max_items;
	dc->tasks = xcalloc(n_tasks, sizeof *dc->tasks);
	dc->n_tasks = n_tasks;
	size_t total = 0;
	for (size_t i = 0; i < n_tasks; i++)
		total += tasks[i]->n;
	if (total >= DC_LIST)
		die("--decontaminate: more than %u items", DC_LIST - 1);
	dc->n_items = total;
	dc->task_of = xcalloc(total ? total : 1, sizeof *dc->task_of);
	dc->matched = xcalloc(total ? total : 1, 1);
	int short_min = n < DC_SHORT_MIN ? n : DC_SHORT_MIN;
	pair_list grams = {0}, whole = {0};
	dc_scratch w = {0};
	uint32_t item = 0;
	for (size_t ti = 0; ti < n_tasks; ti++) {
		const eval_task *t = tasks[ti];
		dc_task *dt = &dc->tasks[ti];
		dt->name = xstrdup(t->name);
		dt->source = xstrdup(t->source);
		dt->items = t->n;
		for (size_t k = 0; k < t->n; k++, item++) {
			const eval_item *it = &t->items[k];
			dc->task_of[item] = (uint32_t)ti;
			w.words = 0;
			split_words(&w, it->stem ? it->stem : "", it->stem ? strlen(it->stem) : 0);
			size_t ls = w.words;
			int any_gram = 0, any_whole = 0;
			for (int c = 0; c < it->n_choices; c++) {
				w.words = ls;
				split_words(&w, it->choices[c], strlen(it->choices[c]));
				size_t nw = w.words;
				if (nw >= (size_t)n) {
					size_t kk = gram_keys(&w, nw, n);
					/* the stem's own n-grams once, from the first choice */
					size_t from = c == 0 || ls < (size_t)n ? 0 : ls - (size_t)n + 1;
					for (size_t i = from; i < kk; i++)
						pair_add(&grams, w.key[i], item);
					any_gram = 1;
				} else if (nw >= (size_t)short_min) {
					gram_keys(&w, nw, (int)nw);
					pair_add(&whole, w.key[0], item);
					dc->whole_lengths |= 1ull << nw;
					any_whole = 1;
				}
			}
			if (!any_gram && any_whole)
				dt->items_whole++;
			else if (!any_gram)
				dt->items_unchecked++;
		}
	}
	table_fill(dc, &dc->grams, &grams, &dc->ngrams_ignored);
	table_fill(dc, &dc->whole, &whole, &dc->ngrams_ignored);
	free(grams.p);
	free(whole.p);
	dc_scratch_free(&w);
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The task name when path is a folder named after a known task that holds
 * no known task folders itself (malloc()ed), else NULL. */
static char *known_task_dir(const char *path)
{
	if (!is_dir(path))
		return NULL;
	for (const char *const *name = eval_known_tasks; *name; name++) {
		char *sub = path_join(path, *name);
		int inside = is_dir(sub);
		free(sub);
		if (inside)
			return NULL;
	}
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t b = n;
	while (b > 0 && path[b - 1] != '/')
		b--;
	for (const char *const *name = eval_known_tasks; *name; name++)
		if (strlen(*name) == n - b && memcmp(*name, path + b, n - b) == 0)
			return xstrdup(*name);
	return NULL;
}

void decontam_load(decontam *dc, const char *sets, int n, int max_items, int quiet)
{
	size_t nt = 0;
	eval_task **tasks;
	char *base = known_task_dir(sets);
	if (base) { /* eval-dir/piqa itself */
		char *spec = xmalloc(strlen(base) + strlen(sets) + 2);
		sprintf(spec, "%s=%s", base, sets);
		tasks = tasks_load(spec, ".", &nt);
		free(spec);
		free(base);
	} else if (is_dir(sets)) {
		tasks = tasks_load_present(sets, &nt);
		for (const char *const *name = eval_known_tasks; *name && !quiet; name++) {
			size_t i = 0;
			while (i < nt && strcmp(tasks[i]->name, *name) != 0)
				i++;
			if (i == nt)
				warnx_("--decontaminate: %s has no %s: its items are not looked for",
					sets, *name);
		}
	} else {
		char *dir = eval_sets_dir();
		tasks = tasks_load(sets, dir, &nt);
		free(dir);
	}
	decontam_build(dc, tasks, nt, n, max_items);
	for (size_t i = 0; i < nt; i++)
		eval_task_free(tasks[i]);
	free(tasks);
}

void decontam_free(decontam *dc)
{
	free(dc->grams.keys);
	free(dc->grams.bits);
	free(dc->whole.bits);
	free(dc->grams.vals);
	free(dc->whole.keys);
	free(dc->whole.vals);
	free(dc->lists);
	free(dc->task_of);
	free(dc->matched);
	for (size_t i = 0; i < dc->n_tasks; i++) {
		free(dc->tasks[i].name);
		free(dc->tasks[i].source);
	}
	free(dc->tasks);
	memset(dc, 0, sizeof *dc);
}

size_t decontam_bytes(const decontam *dc)
{
	return table_bytes(&dc->grams) + table_bytes(&dc->whole) + dc->nlists * sizeof *dc->lists;
}

/* ---- looking ---- */

static void add_items(const decontam *dc, dc_scratch *w, uint32_t v)
{
	const uint32_t *p = &v;
	uint32_t c = 1;
	if (v & DC_LIST) {
		c = dc->lists[v & ~DC_LIST];
		p = &dc->lists[(v & ~DC_LIST) + 1];
	}
	w->items = grow(w->items, &w->items_cap, w->n_items + c, sizeof *w->items);
	memcpy(w->items + w->n_items, p, c * sizeof *p);
	w->n_items += c;
}

static void add_span(dc_scratch *w, size_t start, size_t end)
{
	w->spans = grow(w->spans, &w->spans_cap, 2 * w->n_spans + 2, sizeof *w->spans);
	w->spans[2 * w->n_spans] = start;
	w->spans[2 * w->n_spans + 1] = end;
	w->n_spans++;
}

/* Looks up the m-grams of the text's words in t. */
static void look_up(const decontam *dc, const gram_table *t, dc_scratch *w, int m, int spans)
{
	size_t k = gram_keys(w, w->words, m);
	for (size_t i = 0; i < k; i++) {
		if (i + 16 < k) /* the bitmap may be larger than the cache */
			__builtin_prefetch(&t->bits[w->key[i + 16] >> t->bits_shift >> 6]);
		const uint32_t *v = table_get(t, w->key[i]);
		if (!v)
			continue;
		add_items(dc, w, *v);
		if (spans)
			add_span(w, w->start[i], w->end[i + (size_t)m - 1]);
	}
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int span_cmp(const void *a, const void *b)
{
	const size_t *x = a, *y = b;
	return (x[0] > y[0]) - (x[0] < y[0]);
}

size_t decontam_scan(const decontam *dc, dc_scratch *w, const char *t, size_t len, int spans)
{
	w->words = 0;
	w->n_items = 0;
	w->n_spans = 0;
	split_words(w, t, len);
	if (!w->words)
		return 0;
	look_up(dc, &dc->grams, w, dc->n, spans);
	for (int m = 1; m < dc->n && m < 64; m++)
		if (dc->whole_lengths >> m & 1)
			look_up(dc, &dc->whole, w, m, spans);
	if (w->n_items > 1) {
		qsort(w->items, w->n_items, sizeof *w->items, u32_cmp);
		size_t out = 1;
		for (size_t i = 1; i < w->n_items; i++)
			if (w->items[i] != w->items[out - 1])
				w->items[out++] = w->items[i];
		w->n_items = out;
	}
	if (w->n_spans > 1) {
		qsort(w->spans, w->n_spans, 2 * sizeof *w->spans, span_cmp);
		size_t out = 0;
		for (size_t i = 0; i < w->n_spans; i++) {
			size_t s = w->spans[2 * i], e = w->spans[2 * i + 1];
			if (out && s <= w->spans[2 * out - 1]) {
				if (e > w->spans[2 * out - 1])
					w->spans[2 * out - 1] = e;
			} else {
				w->spans[2 * out] = s;
				w->spans[2 * out + 1] = e;
				out++;
			}
		}
		w->n_spans = out;
	}
	return w->n_items;
}

size_t decontam_cut(const dc_scratch *w, const char *t, size_t len, buf_t *out)
{
	out->len = 0;
	size_t pos = 0, left = 0, wi = 0;
	for (size_t s = 0; s < w->n_spans; s++) {
		size_t a = w->spans[2 * s], b = w->spans[2 * s + 1];
		buf_append(out, t + pos, a - pos);
		pos = b;
	}
	buf_append(out, t + pos, len - pos);
	buf_cstr(out);
	/* words wholly outside every span */
	for (size_t s = 0; s <= w->n_spans; s++) {
		size_t a = s < w->n_spans ? w->spans[2 * s] : (size_t)-1;
		for (; wi < w->words && w->start[wi] < a; wi++)
			left++;
		if (s < w->n_spans)
			while (wi < w->words && w->start[wi] < w->spans[2 * s + 1])
				wi++;
	}
	return left;
}

void dc_scratch_free(dc_scratch *w)
{
	free(w->hash);
	free(w->key);
	free(w->start);
	free(w->end);
	buf_free(&w->word);
	free(w->items);
	free(w->spans);
	free(w->pre);
	memset(w, 0, sizeof *w);
}

/* ---- counts ---- */

void decontam_mark(decontam *dc, const uint32_t *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (dc->matched[items[i]])
			continue;
		dc->matched[items[i]] = 1;
		dc->tasks[dc->task_of[items[i]]].items_matched++;
	}
}

void decontam_json(const decontam *dc, uint64_t docs_cut, int cut, buf_t *b)
{
	buf_printf(b, "{\n    \"ngram\": %d,\n    \"max_items\": %d,\n    \"action\": \"%s\""
		",\n    \"ngrams\": %zu,\n    \"ngrams_ignored\": %" PRIu64
		",\n    \"whole_sequences\": %zu,\n    \"table_bytes\": %zu"
		",\n    \"documents_cut\": %" PRIu64 ",\n    \"tasks\": {",
		dc->n, dc->max_items, cut ? "cut" : "drop", dc->grams.count, dc->ngrams_ignored,
		dc->whole.count, decontam_bytes(dc), docs_cut);
	for (size_t i = 0; i < dc->n_tasks; i++) {
		const dc_task *t = &dc->tasks[i];
		buf_printf(b, "%s\n      ", i ? "," : "");
		json_write_string(b, t->name, strlen(t->name));
		buf_puts(b, ": {\"source\": ");
		json_write_string(b, t->source, strlen(t->source));
		buf_printf(b, ", \"items\": %zu, \"items_whole\": %zu, \"items_unchecked\": %zu"
			", \"items_matched\": %zu}", t->items, t->items_whole, t->items_unchecked,
			t->items_matched);
	}
	buf_puts(b, "\n    }\n  }");
}

void decontam_print(const decontam *dc, FILE *fp)
{
	fprintf(fp, "%s: items found in the documents:", cli_progname());
	for (size_t i = 0; i < dc->n_tasks; i++)
		fprintf(fp, "%s %s %zu/%zu", i ? "," : "", dc->tasks[i].name,
			dc->tasks[i].items_matched, dc->tasks[i].items);
	fputc('\n', fp);
}
