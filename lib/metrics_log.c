/* metrics_log.c - bonsai-train's metrics.jsonl, a record a line. */
#include "metrics_log.h"

#include "cli.h"
#include "json.h"
#include "xio.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int metrics_log_open(metrics_log *m, const char *path, char *err, size_t errlen)
{
	/* a caller may look at m (torn) after a failed open */
	*m = (metrics_log){ .path = path };
	size_t n;
	char *text = read_file_err(path, &n, err, errlen);
	if (!text)
		return -1;
	metrics_log_init(m, path, text, n);
	m->owned = 1;
	return 0;
}

void metrics_log_init(metrics_log *m, const char *path, const char *text, size_t n)
{
	*m = (metrics_log){ .path = path, .text = (char *)text, .n = n };
}

void metrics_log_close(metrics_log *m)
{
	if (m->owned)
		free(m->text);
	m->text = NULL;
	m->owned = 0;
}

/* The numbers a line may have: each, when there, a finite number. */
static int read_numbers(const metrics_log *m, const json_value *o, metrics_record *r, char *err,
			size_t errlen)
{
	static const char *const keys[] = { "tokens", "loss", "lr", "tokens_per_s", "ms", "val_loss" };
	double *vals[] = { &r->tokens, &r->loss, &r->lr, &r->tokens_per_s, &r->ms, &r->val_loss };
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
		*vals[k] = NAN;
		if (json_get_finite(o, keys[k], vals[k]) < 0)
			return errf(err, errlen, "%s:%ld: \"%s\" is not a finite number", m->path, m->line,
				    keys[k]);
	}
	const json_value *k = json_get(o, "ranks");
	int64_t ranks = 0;
	if (k && json_int(k, 1, 1 << 20, &ranks))
		return errf(err, errlen, "%s:%ld: \"ranks\": %.*s is not a number of processes", m->path,
			    m->line, (int)k->raw_len, k->raw);
	r->ranks = (int)ranks;
	return 0;
}

/* What kind of line o is, from the members that make it one. */
static int classify(const metrics_log *m, const json_value *o, metrics_record *r, char *err,
		    size_t errlen)
{
	if (!isnan(r->val_loss)) {
		r->kind = METRICS_VAL;
		return 0;
	}
	if (isnan(r->tokens))
		return errf(err, errlen, "%s:%ld: a step with no \"tokens\"", m->path, m->line);
	const json_value *s = json_get(o, "skipped");
	if (s && s->type == JSON_TRUE) {
		r->kind = METRICS_SKIPPED;
		return 0;
	}
	if (isnan(r->loss))
		return errf(err, errlen, "%s:%ld: a step with no \"loss\" (and not \"skipped\")", m->path,
			    m->line);
	r->kind = METRICS_STEP;
	return 0;
}

static int parse_record(const metrics_log *m, const json_value *o, metrics_record *r, char *err,
			size_t errlen)
{
	int64_t step;
	if (o->type != JSON_OBJECT)
		return errf(err, errlen, "%s:%ld: not a line of bonsai-train's metrics (not a JSON object)",
			    m->path, m->line);
	if (json_int(json_get(o, "step"), 0, (int64_t)1 << 53, &step))
		return errf(err, errlen,
			    "%s:%ld: not a line of bonsai-train's metrics (no \"step\" that is a step number)",
			    m->path, m->line);
	r->step = (long)step;
	if (read_numbers(m, o, r, err, errlen) < 0)
		return -1;
	return classify(m, o, r, err, errlen);
}

/* The order bonsai-train writes: a validation right after its step's
 * line (one elsewhere would be placed at another step's tokens). "tokens"
 * counts every token seen so far: a step after the one before with fewer
 * is a file edited or spliced, whose rates would come out negative. A step
 * at or before the one before is a resume (the counts start again from its
 * checkpoint's). */
static int check_order(metrics_log *m, const metrics_record *r, char *err, size_t errlen)
{
	if (r->kind == METRICS_VAL) {
		if (!m->have_step)
			return errf(err, errlen, "%s:%ld: a validation at step %ld before any step's line",
				    m->path, m->line, r->step);
		if (r->step != m->last_step)
			return errf(err, errlen, "%s:%ld: a validation at step %ld after step %ld's line "
				    "(bonsai-train writes it right after its step's)", m->path, m->line,
				    r->step, m->last_step);
		return 1;
	}
	if (m->have_step && r->step > m->last_step && r->tokens < m->last_tokens)
		return errf(err, errlen, "%s:%ld: \"tokens\": %.17g at step %ld, fewer than the %.17g of "
			    "step %ld before it (the count only grows)", m->path, m->line, r->tokens,
			    r->step, m->last_tokens, m->last_step);
	m->have_step = 1, m->last_step = r->step, m->last_tokens = r->tokens;
	return 1;
}

int metrics_log_next(metrics_log *m, metrics_record *r, char *err, size_t errlen)
{
	if (m->at >= m->n)
		return 0;
	const char *at = m->text + m->at, *nl = memchr(at, '\n', m->n - m->at);
	size_t len = nl ? (size_t)(nl - at) : m->n - m->at;
	m->line++;
	m->at += len + (nl != NULL);
	char jerr[160];
	json_doc *d = json_parse(at, len, jerr, sizeof jerr);
	if (!d && !nl) {
		m->torn = 1;
		return errf(err, errlen, "%s:%ld: the last line is cut off (%s)",
			    m->path, m->line, jerr);
	}
	if (!d)
		return errf(err, errlen, "%s:%ld: %s", m->path, m->line, jerr);
	int rc = parse_record(m, json_root(d), r, err, errlen);
	json_free(d);
	if (rc < 0)
		return -1;
	return check_order(m, r, err, errlen);
}

/* v[0..n) less the records from step on: their new count. */
static size_t drop_from(metrics_record *v, size_t n, long step)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].step < step)
			v[k++] = v[i];
	return k;
}

size_t metrics_keep_newest(metrics_record *v, size_t n)
{
	size_t kept = 0;
	long last_step = -1;
	for (size_t i = 0; i < n; i++) {
		metrics_record r = v[i];
		/* a validation follows its step: only a step starts a resume */
		if (r.kind != METRICS_VAL) {
			if (r.step <= last_step)
				kept = drop_from(v, kept, r.step);
			last_step = r.step;
		}
		v[kept++] = r;
	}
	return kept;
}

int metrics_log_read_all(metrics_log *m, metrics_record **v, size_t *n, char *err, size_t errlen)
{
	size_t cap = 0;
	int rc;
	*v = NULL;
	*n = 0;
	for (;;) {
		if (*n == cap) {
			metrics_record *grown = reallocarray(*v, cap = cap ? 2 * cap : 256, sizeof **v);
			if (!grown)
				return errf(err, errlen, "%s: out of memory", m->path);
			*v = grown;
		}
		if ((rc = metrics_log_next(m, &(*v)[*n], err, errlen)) <= 0)
			break;
		++*n;
	}
	*n = metrics_keep_newest(*v, *n);
	return rc < 0 ? -1 : 0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of v[0..n), reordering v; NAN when n is 0. */
static double median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof *v, by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double metrics_new_tokens(const metrics_record *r, double prev)
{
	return r->tokens > prev ? r->tokens - prev : 0;
}

int metrics_steady_rates(const metrics_record *v, size_t n, double *tokens_per_s, double *per_rank)
{
	double *rate = calloc(2 * (n ? n : 1), sizeof *rate), *rank_rate = rate + (n ? n : 1);
	if (!rate)
		return -1;
	double prev_tokens = 0;
	size_t k = 0;
	int first = 1;
	for (size_t i = 0; i < n; i++) {
		const metrics_record *l = &v[i];
		if (l->kind == METRICS_VAL)
			continue; /* no tokens of its own */
		double add = metrics_new_tokens(l, prev_tokens);
		if (isfinite(l->ms) && l->ms > 0 && add > 0 && !first) {
			rate[k] = add / (l->ms / 1e3);
			rank_rate[k] = rate[k] / (l->ranks ? l->ranks : 1);
			k++;
		}
		first &= !isfinite(l->ms);
		prev_tokens = l->tokens;
	}
	*tokens_per_s = median(rate, k);
	*per_rank = median(rank_rate, k);
	free(rate);
	return 0;
}
