/* metrics.h - a training run's curves, read from bonsai-train's JSON Lines
 * (one object per step, and one per validation). */
#ifndef BONSAI_PLOT_METRICS_H
#define BONSAI_PLOT_METRICS_H

#include <stddef.h>

/* One optimizer step. */
typedef struct {
	double step, tokens, loss, lr, tokens_per_s;
} step_point;

/* One validation: tokens is that of the step line with the same step. */
typedef struct {
	double step, tokens, val_loss;
} val_point;

typedef struct {
	char *path, *name;
	step_point *steps;
	size_t n_steps, cap_steps;
	val_point *vals;
	size_t n_vals, cap_vals;
	int torn_tail; /* the last line had no newline and did not parse: ignored */
} run_metrics;

/* Parses text[0..n) of PATH into r (zeroed by the caller; r->path and
 * r->name are the caller's) with lib/metrics_log. Lines that repeat
 * earlier steps (a run resumed from a checkpoint and appended to the same
 * file) replace the points from that step on, by lib/metrics_log's rule,
 * bonsai-report's too. A last line cut off is a
 * line still being written: it is skipped (torn_tail). Any other bad line
 * is an error: returns -1 with "PATH:LINE: what" in err. */
int metrics_parse(run_metrics *r, const char *text, size_t n, char *err, size_t errlen);
/* Reads PATH and parses it: -1 with "PATH: why" when it cannot be read. */
int metrics_load(run_metrics *r, const char *path, char *err, size_t errlen);
void metrics_free(run_metrics *r);

#endif
