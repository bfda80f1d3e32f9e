/* decontam.c - see decontam.h. */
#include "decontam.h"

#include "cli.h"
#include "evaldir.h"
#include "json.h"
#include "xio.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- building ---- */

void decontam_build(decontam *dc, eval_task *const *tasks, size_t n_tasks, int n, int max_items)
{
	memset(dc, 0, sizeof *dc);
	dc->n = n;
	dc->max_items = max_items;
	dc->tasks = xcalloc(n_tasks ? n_tasks : 1, sizeof *dc->tasks);
	dc->n_tasks = n_tasks;
	size_t total = 0;
	for (size_t i = 0; i < n_tasks; i++)
		total += tasks[i]->n;
	if (total >= GRAM_LIST)
		die("--decontaminate: more than %u items", GRAM_LIST - 1);
	dc->n_items = total;
	dc->task_of = xcalloc(total ? total : 1, sizeof *dc->task_of);
	dc->matched = xcalloc(total ? total : 1, 1);
	int short_min = n < DC_SHORT_MIN ? n : DC_SHORT_MIN;
	gram_pairs grams = {0}, whole = {0};
	ngram_words w = {0};
	uint32_t item = 0;
	for (size_t ti = 0; ti < n_tasks; ti++) {
		const eval_task *t = tasks[ti];
		dc_task *dt = &dc->tasks[ti];
		dt->name = xstrdup(t->name);
		dt->source = xstrdup(t->source);
		dt->items = t->n;
		dt->first = item;
		for (size_t k = 0; k < t->n; k++, item++) {
			const eval_item *it = &t->items[k];
			dc->task_of[item] = (uint32_t)ti;
			w.n = 0;
			if (it->stem)
				ngram_split(&w, it->stem, strlen(it->stem));
			size_t ls = w.n;
			int any_gram = 0, any_whole = 0;
			for (int c = 0; c < it->n_choices; c++) {
				w.n = ls;
				ngram_split(&w, it->choices[c], strlen(it->choices[c]));
				size_t nw = w.n;
				if (nw >= (size_t)n) {
					size_t kk = ngram_keys(&w, nw, n);
					/* the stem's own n-grams once, from the first choice */
					size_t from = c == 0 || ls < (size_t)n ? 0 : ls - (size_t)n + 1;
					for (size_t i = from; i < kk; i++)
						gram_pairs_add(&grams, w.key[i], item);
					any_gram = 1;
				} else if (nw >= (size_t)short_min) {
					ngram_keys(&w, nw, (int)nw);
					gram_pairs_add(&whole, w.key[0], item);
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
	gram_table_build(&dc->grams, &grams, max_items, &dc->ngrams_ignored);
	gram_table_build(&dc->whole, &whole, max_items, &dc->ngrams_ignored);
	ngram_words_free(&w);
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
		char *sub = xpath_join(path, *name);
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

/* tasks_load(), its errors ending bonsai-filter as they would bonsai-eval */
static eval_task **load_tasks(const char *list, const char *dir, size_t *nt)
{
	eval_task **tasks;
	char err[1024];
	int rc = tasks_load(list, dir, &tasks, nt, err, sizeof err);
	if (rc == -2)
		die_usage("%s", err);
	if (rc < 0)
		die("%s", err);
	return tasks;
}

void decontam_load(decontam *dc, const char *sets, int n, int max_items, int quiet)
{
	size_t nt = 0;
	eval_task **tasks;
	char *base = known_task_dir(sets);
	if (base) { /* eval-dir/piqa itself */
		char *spec = xmalloc(strlen(base) + strlen(sets) + 2);
		sprintf(spec, "%s=%s", base, sets);
		tasks = load_tasks(spec, ".", &nt);
		free(spec);
		free(base);
	} else if (is_dir(sets)) {
		char err[1024];
		tasks = tasks_load_present(sets, &nt, err, sizeof err);
		if (!tasks)
			die("%s", err);
		for (const char *const *name = eval_known_tasks; *name && !quiet; name++) {
			size_t i = 0;
			while (i < nt && strcmp(tasks[i]->name, *name) != 0)
				i++;
			if (i == nt)
				warnx_("--decontaminate: %s has no %s: its items are not looked for",
					sets, *name);
		}
	} else {
		char err[600];
		char *dir = eval_sets_dir(err, sizeof err);
		if (!dir)
			die("%s", err);
		tasks = load_tasks(sets, dir, &nt);
		free(dir);
	}
	decontam_build(dc, tasks, nt, n, max_items);
	for (size_t i = 0; i < nt; i++)
		eval_task_free(tasks[i]);
	free(tasks);
}

void decontam_free(decontam *dc)
{
	gram_table_free(&dc->grams);
	gram_table_free(&dc->whole);
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
	return gram_table_bytes(&dc->grams) + gram_table_bytes(&dc->whole);
}

/* ---- looking ---- */

static void add_items(dc_scratch *w, const uint32_t *items, uint32_t n)
{
	if (w->n_items + n > w->items_cap) {
		w->items_cap = 2 * (w->n_items + n);
		w->items = xreallocarray(w->items, w->items_cap, sizeof *w->items);
	}
	memcpy(w->items + w->n_items, items, n * sizeof *items);
	w->n_items += n;
}

static void add_span(dc_scratch *w, size_t start, size_t end)
{
	if (2 * w->n_spans + 2 > w->spans_cap) {
		w->spans_cap = 4 * w->n_spans + 64;
		w->spans = xreallocarray(w->spans, w->spans_cap, sizeof *w->spans);
	}
	w->spans[2 * w->n_spans] = start;
	w->spans[2 * w->n_spans + 1] = end;
	w->n_spans++;
}

/* Looks up the m-word runs of the text's words in t. */
static void look_up(const gram_table *t, dc_scratch *w, int m, int spans)
{
	ngram_words *ws = &w->words;
	size_t k = ngram_keys(ws, ws->n, m);
	for (size_t i = 0; i < k; i++) {
		if (i + 16 < k) /* the bitmap may be larger than the cache */
			gram_table_prefetch(t, ws->key[i + 16]);
		uint32_t n;
		const uint32_t *items = gram_table_get(t, ws->key[i], &n);
		if (!items)
			continue;
		add_items(w, items, n);
		if (spans)
			add_span(w, ws->start[i], ws->end[i + (size_t)m - 1]);
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
	w->words.n = 0;
	w->n_items = 0;
	w->n_spans = 0;
	ngram_split(&w->words, t, len);
	if (!w->words.n)
		return 0;
	look_up(&dc->grams, w, dc->n, spans);
	for (int m = 1; m < dc->n && m < 64; m++)
		if (dc->whole_lengths >> m & 1)
			look_up(&dc->whole, w, m, spans);
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
		for (; wi < w->words.n && w->words.start[wi] < a; wi++)
			left++;
		if (s < w->n_spans)
			while (wi < w->words.n && w->words.start[wi] < w->spans[2 * s + 1])
				wi++;
	}
	return left;
}

void dc_scratch_free(dc_scratch *w)
{
	ngram_words_free(&w->words);
	free(w->items);
	free(w->spans);
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

void decontam_json(const decontam *dc, uint64_t docs_dropped, uint64_t docs_cut, int cut, buf_t *b)
{
	buf_printf(b, "{\n    \"ngram\": %d,\n    \"max_items\": %d,\n    \"action\": \"%s\""
		",\n    \"ngrams\": %zu,\n    \"ngrams_ignored\": %" PRIu64
		",\n    \"whole_sequences\": %zu,\n    \"table_bytes\": %zu"
		",\n    \"documents_dropped\": %" PRIu64 ",\n    \"documents_cut\": %" PRIu64
		",\n    \"tasks\": {",
		dc->n, dc->max_items, cut ? "cut" : "drop", dc->grams.count, dc->ngrams_ignored,
		dc->whole.count, decontam_bytes(dc), docs_dropped, docs_cut);
	for (size_t i = 0; i < dc->n_tasks; i++) {
		const dc_task *t = &dc->tasks[i];
		buf_printf(b, "%s\n      ", i ? "," : "");
		json_write_string(b, t->name, strlen(t->name));
		buf_puts(b, ": {\"source\": ");
		json_write_string(b, t->source, strlen(t->source));
		buf_printf(b, ", \"items\": %zu, \"items_whole\": %zu, \"items_unchecked\": %zu"
			", \"items_matched\": %zu, \"matched\": [", t->items, t->items_whole,
			t->items_unchecked, t->items_matched);
		/* the indexes themselves, so that the counts of several files
		 * (make run filters each parquet file alone) add up exactly */
		for (size_t k = 0, m = 0; k < t->items; k++)
			if (dc->matched[t->first + k])
				buf_printf(b, "%s%zu", m++ ? ", " : "", k);
		buf_puts(b, "]}");
	}
	buf_puts(b, "\n    }\n  }");
}

void decontam_print(const decontam *dc, uint64_t docs_cut, int cut, FILE *fp)
{
	if (cut)
		fprintf(fp, "%s: documents kept with words cut out: %" PRIu64 "\n", cli_progname(),
			docs_cut);
	fprintf(fp, "%s: items found in the documents:", cli_progname());
	for (size_t i = 0; i < dc->n_tasks; i++)
		fprintf(fp, "%s %s %zu/%zu", i ? "," : "", dc->tasks[i].name,
			dc->tasks[i].items_matched, dc->tasks[i].items);
	fputc('\n', fp);
}
