/* stats.h - what bonsai-filter counts: documents kept, dropped by reason,
 * and what the text hygiene changed. */
#ifndef BONSAI_FILTER_STATS_H
#define BONSAI_FILTER_STATS_H

#include <stdint.h>
#include <stdio.h>

struct outfile;

/* Reasons to drop a document, in the order the rules are applied. */
typedef enum {
	DROP_MISSING_FIELD, DROP_INT_SCORE, DROP_SCORE, DROP_LANGUAGE_SCORE, DROP_LANG,
	DROP_INVALID_UTF8, DROP_TOO_SHORT, DROP_TOO_LONG, DROP_CONTAMINATED, DROP_DUPLICATE,
	DROP_NEAR_DUPLICATE, N_DROP
} drop_reason;

extern const char *const drop_reason_name[N_DROP];

struct decontam;

typedef struct {
	uint64_t docs_in, docs_out, dropped[N_DROP];
	uint64_t bad_lines, blank_lines;
	uint64_t bytes_in, bytes_out;
	uint64_t utf8_repaired, controls_removed, nfc_changed; /* documents */
	uint64_t dedup_bytes;  /* memory of the --dedup / --near-dedup tables */
	uint64_t decontam_cut; /* documents kept with words cut out */
	const struct decontam *dc; /* --decontaminate, or NULL */
	int decontam_cut_on;
	double seconds;
} filter_stats;

uint64_t stats_dropped(const filter_stats *st);
/* The summary for stderr: one line of totals, one of reasons. */
void stats_print(const filter_stats *st, FILE *fp);
/* The --stats JSON object, written to o (opened before the work, so that
 * a path that cannot be written fails at once), which is then committed. */
void stats_write_json(const filter_stats *st, struct outfile *o);

#endif
