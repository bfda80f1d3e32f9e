/* report.h - bonsai-report: the figures of one make-run folder, and their
 * rendering as Markdown or HTML. Every figure is read from the folder:
 *   eval/ppl.json, eval/tasks.json   (bonsai-eval ppl / tasks)
 *   train/metrics.jsonl, train/config.json, settings/train   (bonsai-train)
 *   clean/ *.stats.json              (bonsai-filter --stats, one per file)
 *   repro/times.tsv, repro/environment.txt   (mk/stage.sh, mk/environment.sh)
 *   plots/ *.svg                     (bonsai-plot) */
#ifndef BONSAI_REPORT_H
#define BONSAI_REPORT_H

#include "buf.h"

enum { REPORT_MAX = 64 };

typedef struct {
	char name[64];
	double acc, acc_norm;
	long n; /* items scored; -1: not given */
} task_result;

typedef struct {
	char name[64];
	double value;
} named_value;

/* One benchmark of the filter's --decontaminate, over the files: the items
 * matched in any file, the union of each file's "matched" indexes (exact);
 * from a filter without that list, the sum of the per-file counts capped
 * at the items (an upper bound, exact == 0). */
typedef struct {
	char name[64];
	long items, unchecked, matched;
	unsigned char *seen; /* item index -> matched in some file */
	int exact, files;
} contam_task;

typedef struct {
	const char *dir;
	double val_loss, ppl, ppl_tokens;
	task_result tasks[REPORT_MAX];
	int n_tasks;
	int tasks_skipped; /* make run's TASKS was empty: none asked for */
	/* training, from its metrics */
	long steps, planned_steps; /* the last step's, and --steps (0: not known) */
	double tokens_seen, step_seconds, tokens_per_s, train_val_loss;
	/* the medians of the steps after the first: tokens/s, and tokens/s a
	 * process (NAN: a single step) */
	double steady_tokens_per_s, steady_tokens_per_rank_s;
	char device[16];
	int ranks; /* the processes (GPUs) of the last step */
	double rank_seconds; /* the steps' time, times the processes of each */
	double params, flops_per_token, peak_flops, mfu, gpu_hours;
	long vocab; /* the model's: per-token losses compare only at the same tokenizer */
	/* wall seconds per stage, from repro/times.tsv */
	named_value stages[REPORT_MAX];
	int n_stages;
	/* the filter, summed over the files */
	double docs_in, docs_out;
	named_value drops[REPORT_MAX];
	int n_drops, n_filter_files;
	/* --decontaminate, summed over the files that used it */
	contam_task contam[REPORT_MAX];
	int n_contam, n_contam_files;
	double contam_dropped, contam_cut;
	char *environment; /* repro/environment.txt, or NULL */
	char *plots[REPORT_MAX]; /* plots/NAME.svg, relative to dir */
	int n_plots;
} report;

/* Reads every input of dir; dies naming a file that is missing or wrong.
 * peak_flops <= 0: from the GPU's name in repro/environment.txt, if known. */
void report_read(report *r, const char *dir, double peak_flops);
void report_free(report *r);
/* The steady tokens/s of a metrics file, as report_read figures it (NAN:
 * fewer than two timed steps); dies naming the file and line of a bad
 * line. */
double report_steady_rate(const char *metrics);
/* Appends the report to b: Markdown, or HTML with the plots inline. */
void report_render(const report *r, int html, buf_t *b);

#endif
