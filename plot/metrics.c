/* metrics.c - bonsai-train's step and validation lines into arrays. */
#include "metrics.h"

#include "cli.h"
#include "json.h"
#include "xio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A resumed run repeats the steps after its checkpoint: the new lines win. */
static void drop_from_step(run_metrics *r, double step)
{
	while (r->n_steps && r->steps[r->n_steps - 1].step >= step)
		r->n_steps--;
	while (r->n_vals && r->vals[r->n_vals - 1].step >= step)
		r->n_vals--;
}

static double tokens_at_step(const run_metrics *r, double step)
{
	for (size_t i = r->n_steps; i-- > 0;)
		if (r->steps[i].step == step)
			return r->steps[i].tokens;
	/* no line for that step (the file starts after it): scale the last one */
	if (r->n_steps && r->steps[r->n_steps - 1].step > 0)
		return r->steps[r->n_steps - 1].tokens / r->steps[r->n_steps - 1].step * step;
	return NAN;
}

static int parse_line(run_metrics *r, const json_value *o, long line, char *err, size_t errlen)
{
	const char *path = r->path;
	if (o->type != JSON_OBJECT)
		return errf(err, errlen, "%s:%ld: not a JSON object", path, line);
	double step, tokens = 0, loss = 0, lr = 0, tps = 0, val = 0;
	int has_step = json_get_finite(o, "step", &step);
	if (has_step < 0)
		return errf(err, errlen, "%s:%ld: \"step\" is not a number", path, line);
	if (!has_step)
		return 0; /* not a step's line: nothing to plot */
	static const char *const keys[] = {"tokens", "loss", "lr", "tokens_per_s", "val_loss"};
	double *vals[] = {&tokens, &loss, &lr, &tps, &val};
	int has[5];
	for (int k = 0; k < 5; k++) {
		has[k] = json_get_finite(o, keys[k], vals[k]);
		if (has[k] < 0)
			return errf(err, errlen, "%s:%ld: \"%s\" is not a finite number", path, line, keys[k]);
	}
	if (has[1]) {
		if (!has[0])
			return errf(err, errlen, "%s:%ld: a step with a loss but no \"tokens\"", path, line);
		if (r->n_steps && step <= r->steps[r->n_steps - 1].step)
			drop_from_step(r, step);
		if (r->n_steps == r->cap_steps) {
			r->cap_steps = r->cap_steps ? 2 * r->cap_steps : 256;
			r->steps = xreallocarray(r->steps, r->cap_steps, sizeof *r->steps);
		}
		r->steps[r->n_steps++] = (step_point){step, tokens, loss, has[2] ? lr : NAN,
						      has[3] ? tps : NAN};
	} else if (has[4]) {
		if (r->n_vals && step <= r->vals[r->n_vals - 1].step)
			drop_from_step(r, step);
		double t = tokens_at_step(r, step);
		if (isnan(t))
			return 0; /* no step line yet to place it */
		if (r->n_vals == r->cap_vals) {
			r->cap_vals = r->cap_vals ? 2 * r->cap_vals : 64;
			r->vals = xreallocarray(r->vals, r->cap_vals, sizeof *r->vals);
		}
		r->vals[r->n_vals++] = (val_point){step, t, val};
	}
	/* skipped steps and lines of other kinds carry nothing to plot */
	return 0;
}

int metrics_parse(run_metrics *r, const char *text, size_t n, char *err, size_t errlen)
{
	long line = 0;
	size_t at = 0;
	while (at < n) {
		line++;
		const char *nl = memchr(text + at, '\n', n - at);
		size_t len = nl ? (size_t)(nl - (text + at)) : n - at;
		char jerr[160];
		json_doc *d = json_parse(text + at, len, jerr, sizeof jerr);
		if (!d) {
			if (!nl) {
				r->torn_tail = 1;
				return 0;
			}
			return errf(err, errlen, "%s:%ld: %s", r->path, line, jerr);
		}
		int rc = parse_line(r, json_root(d), line, err, errlen);
		json_free(d);
		if (rc < 0)
			return rc;
		at += len + (nl != NULL);
	}
	return 0;
}

int metrics_load(run_metrics *r, const char *path, char *err, size_t errlen)
{
	size_t n;
	char *text = read_file(path, &n);
	int rc = metrics_parse(r, text, n, err, errlen);
	free(text);
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
