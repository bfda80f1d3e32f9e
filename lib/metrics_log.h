/* metrics_log.h - bonsai-train's metrics (metrics.jsonl: one JSON object a
 * line, one a step and one a validation; bonsai-formats(5)), read the same
 * way by every tool, so that a line one tool takes is not one another
 * refuses. */
#ifndef BONSAI_METRICS_LOG_H
#define BONSAI_METRICS_LOG_H

#include <stddef.h>

typedef enum { METRICS_STEP, METRICS_SKIPPED, METRICS_VAL } metrics_kind;

/* One line. A number the line does not have is NAN (ranks: 0). A step has
 * tokens and loss; a skipped step (a non-finite loss, bonsai-train
 * --skip-nonfinite) tokens only; a validation val_loss only. */
typedef struct {
	metrics_kind kind;
	long step;
	double tokens; /* seen after the step */
	double loss, lr, tokens_per_s, ms;
	int ranks;
	double val_loss;
} metrics_record;

/* A file's text, read a line at a time. */
typedef struct {
	const char *path;
	char *text;
	size_t n, at;
	long line;
	int owned;
	int torn; /* next() met a last line cut off */
	/* the last step line's step and tokens (have_step 0: none yet) */
	long last_step;
	double last_tokens;
	int have_step;
} metrics_log;

/* Reads PATH whole: 0, or -1 with "PATH: why" in err (m then an empty
 * log: torn 0, nothing to close). */
int metrics_log_open(metrics_log *m, const char *path, char *err, size_t errlen);
/* Reads text[0..n), which stays the caller's, as the file PATH. */
void metrics_log_init(metrics_log *m, const char *path, const char *text, size_t n);
/* The next line's record: 1, 0 at the end, -1 with "PATH:LINE: what" in
 * err for a line that is not one of bonsai-train's. A last line without
 * its newline that is not whole JSON is a line still being written (a run
 * in progress, or one whose disk filled; bonsai-train writes each line
 * with one write, so a kill leaves none): -1, "PATH:LINE: the last line is
 * cut off (why)", and m->torn is set, so that a reader of a live run may
 * stop there instead. */
int metrics_log_next(metrics_log *m, metrics_record *r, char *err, size_t errlen);
void metrics_log_close(metrics_log *m);

/* A training resumed into the same file (bonsai-train --resume >>
 * metrics.jsonl) writes again the steps after its checkpoint. Its first
 * line is a step (skipped or not) whose number is not after the last step
 * kept: the newer run starts there, and every line kept before it from that
 * step on (steps, skipped steps, validations) is dropped, so that a step
 * counts once, with its newest line, and a validation of a replaced model
 * is not taken as the run's. v[0..n): the records in file order; keeps in
 * place, in order, those that no later resume replaces, and returns their
 * count. bonsai-plot's curves and bonsai-report's figures both count the
 * steps so. */
size_t metrics_keep_newest(metrics_record *v, size_t n);

/* Every record left in m into *v (malloc'd; the caller frees it, an error
 * too), in file order, a resume's replaced lines dropped as
 * metrics_keep_newest does: 0, or -1 with the error in err (a bad line,
 * m->torn for a last line cut off: *v then has the records before it; or
 * out of memory). */
int metrics_log_read_all(metrics_log *m, metrics_record **v, size_t *n, char *err, size_t errlen);

/* The tokens a step's record r adds to prev, the count of the step kept
 * before it (0 before the first): 0 where the count did not grow (a
 * resumed step's below the step before it: a file spliced by hand), a step
 * that then times nothing in any rate. */
double metrics_new_tokens(const metrics_record *r, double prev);

/* The steady rates of a training's records v[0..n) (as
 * metrics_log_read_all gives them: in order, a resume's repeated steps
 * replaced; validations are passed over): the medians, over the timed
 * steps after the first, of each step's tokens/s (its tokens over its
 * "ms") and of its tokens/s a process ("ranks", 0 counting as 1). The
 * first timed step is left out because its
 * time holds the training's start-up (on a GPU the CUDA and cuBLAS set-up,
 * the first allocations and kernel loads); the median also sets aside the
 * first step after a resume, which the metrics do not mark. NAN for both
 * when fewer than two steps are timed. bonsai-report's figure and make
 * run's burst estimate (bonsai-report --steady-rate), so that they agree.
 * 0, or -1 when out of memory. */
int metrics_steady_rates(const metrics_record *v, size_t n, double *tokens_per_s, double *per_rank);

#endif
