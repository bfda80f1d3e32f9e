/* decontam.h - --decontaminate: the word n-grams of the benchmark items
 * (PIQA, HellaSwag, ARC, ready-made items, read as bonsai-eval reads them)
 * and the search for them in a document.
 *
 * The words of an item (ngram.h) are its stem followed by one of its
 * choices, for each choice. Each n-gram of these goes into a table with
 * the items it came from; an n-gram of more than max_items items is left
 * out (template phrases are not evidence that a document copies an item).
 * A sequence shorter than n words but of DC_SHORT_MIN words or more is
 * looked for whole, in a second table; a shorter one is not looked for. */
#ifndef BONSAI_FILTER_DECONTAM_H
#define BONSAI_FILTER_DECONTAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "evaltasks.h"
#include "gramtable.h"
#include "ngram.h"

#define DC_MAX_N 64        /* --ngram at most */
#define DC_SHORT_MIN 8     /* words: a shorter item sequence is not looked for */
#define DC_MAX_ITEMS 10    /* default: an n-gram in more items is left out */

typedef struct {
	char *name, *source;
	size_t items;            /* read */
	size_t items_whole;      /* shorter than n words: looked for whole */
	size_t items_unchecked;  /* shorter than DC_SHORT_MIN words: not looked for */
	size_t items_matched;    /* found in at least one document */
	size_t first;            /* its first item in decontam's numbering */
} dc_task;

typedef struct decontam {
	int n, max_items;
	gram_table grams;        /* n-grams */
	gram_table whole;        /* whole sequences of DC_SHORT_MIN..n-1 words */
	uint64_t whole_lengths;  /* bit m: some whole sequence has m words */
	size_t n_items;
	uint32_t *task_of;       /* item -> index in tasks */
	unsigned char *matched;  /* item -> found in a document */
	dc_task *tasks;
	size_t n_tasks;
	uint64_t ngrams_ignored; /* n-grams of more than max_items items */
} decontam;

/* One thread's scratch space for decontam_scan(). */
typedef struct {
	ngram_words words;
	uint32_t *items;         /* the items found, ascending, no repeats */
	size_t n_items, items_cap;
	size_t *spans;           /* start, end pairs, merged, ascending */
	size_t n_spans, spans_cap;
} dc_scratch;

/* Builds the tables from tasks (which may be freed afterwards). n: words
 * in an n-gram (3..DC_MAX_N); max_items: an n-gram in more items is left
 * out. */
void decontam_build(decontam *dc, eval_task *const *tasks, size_t n_tasks, int n, int max_items);
/* Reads SETS as bonsai-filter(1) says (an eval-set folder, one task
 * folder, or bonsai-eval's task list) and builds. Dies, naming the file
 * and line, on what cannot be read; warns (unless quiet) about the known
 * tasks a folder lacks. */
void decontam_load(decontam *dc, const char *sets, int n, int max_items, int quiet);
void decontam_free(decontam *dc);
size_t decontam_bytes(const decontam *dc);

/* Looks for the items in text t[0..len): returns how many distinct items
 * it holds (their indexes in w->items); with spans, also the byte ranges
 * of the matching word sequences, merged, in w->spans. */
size_t decontam_scan(const decontam *dc, dc_scratch *w, const char *t, size_t len, int spans);
/* t without the spans of the last scan of t, into out (replaced); returns
 * the number of words left. */
size_t decontam_cut(const dc_scratch *w, const char *t, size_t len, buf_t *out);
void dc_scratch_free(dc_scratch *w);

/* Records that a document held items[0..n) (in input order, one thread). */
void decontam_mark(decontam *dc, const uint32_t *items, size_t n);

/* The "decontamination" object of the --stats JSON (without a trailing
 * newline), and the summary line for stderr. */
void decontam_json(const decontam *dc, uint64_t docs_dropped, uint64_t docs_cut, int cut, buf_t *b);
void decontam_print(const decontam *dc, uint64_t docs_cut, int cut, FILE *fp);

#endif
