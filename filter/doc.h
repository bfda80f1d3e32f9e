/* doc.h - what bonsai-filter decides about one document on its own: the
 * field rules, the hygiene, the length rules, and the hashes that the
 * duplicate checks (which need all earlier documents) will look up. This
 * part runs on many threads; the duplicate checks and the writing run in
 * input order on one. */
#ifndef BONSAI_FILTER_DOC_H
#define BONSAI_FILTER_DOC_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "decontam.h"
#include "minhash.h"
#include "stats.h"

typedef struct {
	int use_int_score, use_score, use_language_score;
	double min_int_score, min_score, min_language_score;
	char **langs;
	size_t nlangs;
	long long min_chars, max_chars; /* -1: no rule */
	int keep_missing, drop_invalid, nfc, dedup, near_dedup, skip_bad, quiet;
	int jobs;
	const char *output, *stats_path;
	const char *decontaminate; /* --decontaminate SETS */
	int ngram, ngram_max_items, decontam_cut;
	const decontam *dc;         /* built from SETS, or NULL */
} options;

enum { DOC_BLANK, DOC_BAD, DOC_DROP, DOC_KEEP };

typedef struct {
	int status;             /* DOC_* */
	drop_reason why;        /* DOC_DROP */
	char err[160];          /* DOC_BAD: what is wrong */
	int repaired, controls, nfc_changed;
	int rewritten;          /* out holds the line with a new text */
	buf_t out;              /* the output line with its '\n', if rewritten */
	uint64_t hash;          /* --dedup */
	int has_bands;          /* --near-dedup, when the text has words */
	uint64_t band[MH_BANDS];
	int cut;                /* --decontaminate-cut took words out */
	uint32_t *items;        /* --decontaminate: the items found, ascending */
	size_t n_items, items_cap;
} doc_result;

/* Scratch buffers of one thread. */
typedef struct {
	buf_t clean, nfc, cut;
	mh_scratch mh;
	dc_scratch dc;
} doc_scratch;

/* Examines line[0..len) (the line without its '\n'); mh holds the hash
 * functions for --near-dedup (read only here). */
void doc_examine(const options *o, const minhash *mh, doc_scratch *w,
	const char *line, size_t len, doc_result *r);
void doc_scratch_free(doc_scratch *w);
void doc_result_free(doc_result *r);

#endif
