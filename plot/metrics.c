/* metrics.c - bonsai-train's step and validation lines into arrays. */
#include "metrics.h"

#include "cli.h"
#include "metrics_log.h"
#include "xio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tokens of the step a validation follows (lib/metrics_log refuses one
 * that follows another step's line); NAN after a skipped step, which has
 * no point of its own. */
static double tokens_at_step(const run_metrics *r, double step)
{
	if (r->n_steps && r->steps[r->n_steps - 1].step == step)
		return r->steps[r->n_steps - 1].tokens;
	return NAN;
}

/* Adds one record, in file order: a step with its loss, or a validation
 * placed at its step's tokens; skipped steps carry nothing to plot. */
static void add_record(run_metrics *r, const metrics_record *m)
{
	double step = (double)m->step;
	if (m->kind == METRICS_STEP) {
		if (r->n_steps == r->cap_steps) {
			r->cap_steps = r->cap_steps ? 2 * r->cap_steps : 256;
			r->steps = xreallocarray(r->steps, r->cap_steps, sizeof *r->steps);
		}
		r->steps[r->n_steps++] = (step_point){ step, m->tokens, m->loss, m->lr, m->tokens_per_s };
	} else if (m->kind == METRICS_VAL) {
		double t = tokens_at_step(r, step);
		if (isnan(t))
			return;
		if (r->n_vals == r->cap_vals) {
			r->cap_vals = r->cap_vals ? 2 * r->cap_vals : 64;
			r->vals = xreallocarray(r->vals, r->cap_vals, sizeof *r->vals);
		}
		r->vals[r->n_vals++] = (val_point){ step, t, m->val_loss };
	}
}

/* A live run's last line may be half written: the figure stops before it.
 * A resume's repeated steps are lib/metrics_log's to replace. */
static int read_log(run_metrics *r, metrics_log *log, char *err, size_t errlen)
{
	metrics_record *v;
	size_t n;
	int rc = metrics_log_read_all(log, &v, &n, err, errlen);
	if (rc < 0 && log->torn) {
		r->torn_tail = 1;
		rc = 0;
	}
	for (size_t i = 0; !rc && i < n; i++)
		add_record(r, &v[i]);
	free(v);
	return rc;
}

int metrics_parse(run_metrics *r, const char *text, size_t n, char *err, size_t errlen)
{
	metrics_log log;
	metrics_log_init(&log, r->path, text, n);
	return read_log(r, &log, err, errlen);
}

int metrics_load(run_metrics *r, const char *path, char *err, size_t errlen)
{
	metrics_log log;
	if (metrics_log_open(&log, path, err, errlen) < 0)
		return -1;
	int rc = read_log(r, &log, err, errlen);
	metrics_log_close(&log);
	return rc;
}

void metrics_free(run_metrics *r)
{
	free(r->steps);
	free(r->vals);
	r->steps = NULL;
	r->vals = NULL;
	r->n_steps = r->n_vals = r->cap_steps = r->cap_vals = 0;
}
