/* render.c - the report as Markdown or HTML (well-formed XML too, so xmllint
 * checks it with its inline SVG): the same sections and tables,
 * the seed's published figures beside this run's. */
#include "report.h"

#include "cli.h"
#include "xio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The seed experiment's published figures (issue 13). */
static const struct { const char *task, *label; double value; } seed_tasks[] = {
	{ "piqa", "PIQA", 62.08 }, { "hellaswag", "HellaSwag", 28.75 }, { "arc_easy", "ARC-Easy", 41.20 },
};
#define SEED_VAL_LOSS 3.1719
#define SEED_PPL 23.85
#define SEED_TOKENS_PER_S 20085
/* its tokenizer's vocabulary: Gemma 3's (runs/seed.mk) */
#define SEED_VOCAB 262144

typedef struct {
	buf_t *b;
	int html;
} out;

static void text(out *o, const char *s)
{
	if (!o->html) {
		buf_puts(o->b, s);
		return;
	}
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_puts(o->b, "&lt;"); break;
		case '>': buf_puts(o->b, "&gt;"); break;
		case '&': buf_puts(o->b, "&amp;"); break;
		case '"': buf_puts(o->b, "&quot;"); break;
		default: buf_putc(o->b, *s);
		}
	}
}

static void heading(out *o, int level, const char *s)
{
	if (o->html) {
		buf_printf(o->b, "<h%d>", level);
		text(o, s);
		buf_printf(o->b, "</h%d>\n", level);
	} else {
		buf_printf(o->b, "\n%.*s ", level, "####");
		text(o, s);
		buf_puts(o->b, "\n\n");
	}
}

static void para(out *o, const char *s)
{
	buf_puts(o->b, o->html ? "<p>" : "");
	text(o, s);
	buf_puts(o->b, o->html ? "</p>\n" : "\n\n");
}

/* A table row of n cells; the first row of a table is its header. */
static void row(out *o, int header, int n, const char *const *cells)
{
	if (o->html) {
		buf_puts(o->b, "<tr>");
		for (int i = 0; i < n; i++) {
			buf_puts(o->b, header ? "<th>" : "<td>");
			text(o, cells[i]);
			buf_puts(o->b, header ? "</th>" : "</td>");
		}
		buf_puts(o->b, "</tr>\n");
		return;
	}
	buf_puts(o->b, "|");
	for (int i = 0; i < n; i++) {
		buf_putc(o->b, ' ');
		text(o, cells[i]);
		buf_puts(o->b, " |");
	}
	buf_putc(o->b, '\n');
	if (header) {
		buf_puts(o->b, "|");
		for (int i = 0; i < n; i++)
			buf_puts(o->b, " --- |");
		buf_putc(o->b, '\n');
	}
}

static void table_start(out *o) { buf_puts(o->b, o->html ? "<table>\n" : ""); }
static void table_end(out *o) { buf_puts(o->b, o->html ? "</table>\n" : "\n"); }

static void link(out *o, const char *path, const char *what)
{
	if (o->html) {
		buf_puts(o->b, "<li><a href=\"");
		text(o, path);
		buf_puts(o->b, "\">");
		text(o, path);
		buf_puts(o->b, "</a>: ");
		text(o, what);
		buf_puts(o->b, "</li>\n");
	} else {
		buf_printf(o->b, "- [%s](%s): %s\n", path, path, what);
	}
}

/* %.0f with thousands separators: 20085 -> "20,085". */
static void grouped(char *s, size_t n, double x)
{
	char d[64];
	snprintf(d, sizeof d, "%.0f", x);
	size_t len = strlen(d), k = 0, start = d[0] == '-';
	for (size_t i = 0; i < len && k + 2 < n; i++) {
		if (i > start && (len - i) % 3 == 0)
			s[k++] = ',';
		s[k++] = d[i];
	}
	s[k] = 0;
}

static void fmt(char *s, size_t n, const char *f, double x)
{
	if (isfinite(x))
		snprintf(s, n, f, x);
	else
		snprintf(s, n, "n/a");
}

/* A run of one step has no steady rate: its only step holds the start-up. */
#define ONE_STEP "one step: its time holds the start-up"

/* The steady tokens/s, or why there is none (with why). */
static void steady_rate(char *s, size_t n, const report *r, int why)
{
	if (isfinite(r->steady_tokens_per_s))
		grouped(s, n, r->steady_tokens_per_s);
	else
		snprintf(s, n, why ? "n/a (" ONE_STEP ")" : "n/a");
}

static void results(out *o, const report *r)
{
	char a[64], b[64], c[160];
	table_start(o);
	row(o, 1, 3, (const char *[]){ "", "this run", "the seed (published)" });
	fmt(a, sizeof a, "%.4f", r->val_loss);
	fmt(b, sizeof b, "%.4f", SEED_VAL_LOSS);
	row(o, 0, 3, (const char *[]){ "validation loss", a, b });
	fmt(a, sizeof a, "%.2f", r->ppl);
	fmt(b, sizeof b, "%.2f", SEED_PPL);
	row(o, 0, 3, (const char *[]){ "perplexity", a, b });
	for (int i = 0; i < r->n_tasks; i++) {
		const task_result *t = &r->tasks[i];
		const char *label = t->name;
		double seed = NAN;
		for (size_t k = 0; k < sizeof seed_tasks / sizeof *seed_tasks; k++)
			if (!strcmp(seed_tasks[k].task, t->name)) {
				label = seed_tasks[k].label;
				seed = seed_tasks[k].value;
			}
		char name[128];
		if (t->n >= 0)
			snprintf(name, sizeof name, "%s acc / acc_norm, %% (%ld items)", label, t->n);
		else
			snprintf(name, sizeof name, "%s acc / acc_norm, %%", label);
		fmt(a, sizeof a, "%.2f", 100 * t->acc);
		fmt(b, sizeof b, "%.2f", 100 * t->acc_norm);
		snprintf(c, sizeof c, "%s / %s", a, b);
		fmt(a, sizeof a, "%.2f", seed);
		row(o, 0, 3, (const char *[]){ name, c, isfinite(seed) ? a : "-" });
	}
	steady_rate(a, sizeof a, r, 0);
	grouped(b, sizeof b, SEED_TOKENS_PER_S);
	row(o, 0, 3, (const char *[]){ "training tokens/s", a, b });
	table_end(o);
	if (r->tasks_skipped)
		para(o, "No zero-shot tasks were evaluated: make run's TASKS was empty.");
	if (r->vocab != SEED_VOCAB) {
		char s[400];
		grouped(a, sizeof a, (double)r->vocab);
		grouped(b, sizeof b, SEED_VOCAB);
		snprintf(s, sizeof s, "The validation loss and perplexity are per token of this run's tokenizer "
			 "(a vocabulary of %s), the seed's per token of Gemma 3's (%s): they do not compare, "
			 "as a token is not the same amount of text.", a, b);
		para(o, s);
	}
}

/* The benchmark's label in the seed's table, else its own name. */
static const char *task_label(const char *name)
{
	for (size_t k = 0; k < sizeof seed_tasks / sizeof *seed_tasks; k++)
		if (!strcmp(seed_tasks[k].task, name))
			return seed_tasks[k].label;
	return name;
}

static void contamination(out *o, const report *r)
{
	char a[96], b[64], c[64], d[64], s[512];
	if (!r->n_filter_files)
		return;
	heading(o, 2, "Benchmark contamination of the training data");
	if (!r->n_contam_files) {
		para(o, "The training documents were not checked for benchmark items "
				"(bonsai-filter ran without --decontaminate).");
		return;
	}
	table_start(o);
	row(o, 1, 5, (const char *[]){ "benchmark", "items matched at least once", "items checked",
				       "matched, % of checked", "items not checked (too short)" });
	int exact = 1;
	for (int i = 0; i < r->n_contam; i++) {
		const contam_task *t = &r->contam[i];
		long checked = t->items - t->unchecked;
		exact &= t->exact;
		grouped(b, sizeof b, (double)t->matched);
		snprintf(a, sizeof a, "%s%s", t->exact ? "" : "at most ", b);
		grouped(b, sizeof b, (double)checked);
		fmt(c, sizeof c, "%.2f", checked > 0 ? 100.0 * (double)t->matched / (double)checked : NAN);
		grouped(d, sizeof d, (double)t->unchecked);
		row(o, 0, 5, (const char *[]){ task_label(t->name), a, b, c, d });
	}
	table_end(o);
	grouped(a, sizeof a, r->contam_dropped);
	grouped(b, sizeof b, r->contam_cut);
	snprintf(s, sizeof s,
		 "An item is matched when a document that reached the rule holds one of its n-grams "
		 "(bonsai-filter --decontaminate), in any of the %d files: %s. Documents dropped by the "
		 "rule: %s; kept with the matching words cut out: %s.",
		 r->n_contam_files,
		 exact ? "the union of the items each file's stats list, so an item found in several files "
			 "counts once"
		       : "the sum of each file's count (at most: an item found in several files counts "
			 "in each; that bonsai-filter's stats do not list the items)",
		 a, b);
	para(o, s);
}

static void training(out *o, const report *r)
{
	char a[64], b[80]; /* b: "dropped: " and a name of up to 63 bytes */
	char c[200];
	table_start(o);
	row(o, 1, 2, (const char *[]){ "training", "" });
	grouped(a, sizeof a, r->tokens_seen);
	row(o, 0, 2, (const char *[]){ "tokens seen", a });
	if (r->planned_steps > r->steps)
		snprintf(c, sizeof c, "%ld of the %ld of --steps: the training stopped before its end "
			 "(make run goes on from its checkpoint once train/checkpoint.sha256 is removed)",
			 r->steps, r->planned_steps);
	else
		snprintf(c, sizeof c, "%ld", r->steps);
	row(o, 0, 2, (const char *[]){ "steps", c });
	steady_rate(a, sizeof a, r, 1);
	row(o, 0, 2, (const char *[]){ "tokens/s, steady (median of the steps after the first)", a });
	grouped(a, sizeof a, r->tokens_per_s);
	row(o, 0, 2, (const char *[]){ "tokens/s over all the steps' time (the first step's start-up included)", a });
	if (r->ranks > 1)
		snprintf(a, sizeof a, "%s, %d processes%s", r->device, r->ranks,
			 strcmp(r->device, "cuda") ? "" : " (one a GPU)");
	else
		snprintf(a, sizeof a, "%s", r->device);
	row(o, 0, 2, (const char *[]){ "device", a });
	grouped(a, sizeof a, r->params);
	row(o, 0, 2, (const char *[]){ "parameters", a });
	fmt(a, sizeof a, "%.4g", r->flops_per_token);
	row(o, 0, 2, (const char *[]){ "FLOPs per token (6N + attention)", a });
	if (isfinite(r->mfu)) {
		snprintf(a, sizeof a, "%.1f%% (peak %.4g FLOP/s%s)", 100 * r->mfu, r->peak_flops,
			 r->ranks > 1 ? " a GPU" : "");
	} else {
		snprintf(a, sizeof a, "n/a (%s)",
			 strcmp(r->device, "cuda") ? "trained on the CPU"
			 : r->peak_flops > 0	    ? ONE_STEP
						    : "peak FLOP/s of this GPU unknown: make run PEAK_FLOPS=...");
	}
	row(o, 0, 2, (const char *[]){ "MFU", a });
	if (strcmp(r->device, "cuda"))
		snprintf(a, sizeof a, "n/a (trained on the CPU)");
	else
		fmt(a, sizeof a, "%.3f", r->gpu_hours);
	row(o, 0, 2, (const char *[]){ "GPU hours (training steps)", a });
	fmt(a, sizeof a, "%.1f", r->step_seconds);
	row(o, 0, 2, (const char *[]){ "training steps' time, s", a });
	fmt(a, sizeof a, "%.4f", r->train_val_loss);
	row(o, 0, 2, (const char *[]){ "last validation loss while training", a });
	fmt(a, sizeof a, "%.0f", r->ppl_tokens);
	row(o, 0, 2, (const char *[]){ "tokens in the perplexity", a });
	table_end(o);

	if (r->n_filter_files) {
		char title[128];
		snprintf(title, sizeof title, "documents (bonsai-filter, %d parquet file%s)", r->n_filter_files,
			 r->n_filter_files == 1 ? "" : "s");
		table_start(o);
		row(o, 1, 2, (const char *[]){ title, "" });
		grouped(a, sizeof a, r->docs_in);
		row(o, 0, 2, (const char *[]){ "read", a });
		grouped(a, sizeof a, r->docs_out);
		row(o, 0, 2, (const char *[]){ "kept", a });
		for (int i = 0; i < r->n_drops; i++) {
			snprintf(b, sizeof b, "dropped: %s", r->drops[i].name);
			grouped(a, sizeof a, r->drops[i].value);
			row(o, 0, 2, (const char *[]){ b, a });
		}
		table_end(o);
	}
	if (r->n_stages) {
		table_start(o);
		row(o, 1, 2, (const char *[]){ "stage", "wall time, s" });
		for (int i = 0; i < r->n_stages; i++) {
			snprintf(a, sizeof a, "%.1f", r->stages[i].value);
			row(o, 0, 2, (const char *[]){ r->stages[i].name, a });
		}
		table_end(o);
	}
}

/* text with each id="X" and url(#X) made fK-X: ids are the page's, and
 * two figures' clip-0 would clip the second figure's curves with the first
 * one's clipping path. */
static void prefix_ids(buf_t *b, const char *text, int k)
{
	static const char *const refs[] = { " id=\"", "url(#" };
	for (;;) {
		const char *next = NULL;
		size_t len = 0;
		for (int i = 0; i < 2; i++) {
			const char *at = strstr(text, refs[i]);
			if (at && (!next || at < next)) {
				next = at;
				len = strlen(refs[i]);
			}
		}
		if (!next) {
			buf_puts(b, text);
			return;
		}
		buf_append(b, text, (size_t)(next - text) + len);
		buf_printf(b, "f%d-", k);
		text = next + len;
	}
}

/* An SVG file's text from its <svg element on (no XML declaration), the
 * k-th figure of the page. */
static void inline_svg(out *o, const report *r, const char *rel, int k)
{
	char *p = xpath_join(r->dir, rel);
	size_t n;
	char *s = read_file(p, &n);
	const char *at = strstr(s, "<svg");
	if (!at)
		die("%s: not an SVG file (no <svg element)", p);
	buf_puts(o->b, "<figure>");
	prefix_ids(o->b, at, k);
	buf_puts(o->b, "<figcaption>");
	text(o, rel);
	buf_puts(o->b, "</figcaption></figure>\n");
	free(s);
	free(p);
}

static void plots(out *o, const report *r)
{
	heading(o, 2, "Plots");
	if (!r->n_plots)
		para(o, "None: this tree has no bonsai-plot, so make run made no plot.");
	for (int i = 0; i < r->n_plots; i++) {
		if (o->html)
			inline_svg(o, r, r->plots[i], i);
		else
			buf_printf(o->b, "![%s](%s)\n\n", r->plots[i], r->plots[i]);
	}
}

static void artefacts(out *o)
{
	static const char *const a[][2] = {
		{ "files.tsv", "the parquet files: name, path, size, sha256" },
		{ "docs/", "their documents (bonsai-fetch)" },
		{ "clean/", "the filtered documents and each file's counts (bonsai-filter --stats)" },
		{ "tokenizer/info.json", "the tokenizer's vocabulary and fingerprint" },
		{ "tokens/", "the token streams, one per parquet file" },
		{ "shards/manifest", "the shards and their checksums" },
		{ "repro/shards-verify.txt", "bonsai-shard verify of the shards" },
		{ "train/checkpoint.sha256", "the final checkpoint and its sha256" },
		{ "train/metrics.jsonl", "the training metrics, a line per step and per validation" },
		{ "eval/ppl.json", "validation loss and perplexity (bonsai-eval ppl)" },
		{ "eval/tasks.json", "zero-shot results (bonsai-eval tasks)" },
		{ "eval/tasks-samples.jsonl", "every item's log-likelihoods" },
		{ "repro/commands.sh", "each stage's exact command line" },
		{ "repro/times.tsv", "each stage's wall time" },
		{ "repro/environment.txt", "the commit, the tools' versions, the machine" },
		{ "settings/", "the settings each stage was made with" },
	};
	heading(o, 2, "Artefacts");
	buf_puts(o->b, o->html ? "<ul>\n" : "");
	for (size_t i = 0; i < sizeof a / sizeof *a; i++)
		link(o, a[i][0], a[i][1]);
	buf_puts(o->b, o->html ? "</ul>\n" : "\n");
}

void report_render(const report *r, int html, buf_t *b)
{
	out o = { b, html };
	char title[512];
	snprintf(title, sizeof title, "Bonsai run %s", r->dir);
	if (html) {
		buf_puts(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"/><title>");
		text(&o, title);
		buf_puts(b, "</title><style>body{font-family:sans-serif;max-width:60em;margin:auto}"
			    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
			    "padding:.2em .6em;text-align:left}</style></head><body>\n");
		heading(&o, 1, title);
	} else {
		buf_printf(b, "# ");
		text(&o, title);
		buf_puts(b, "\n");
	}
	heading(&o, 2, "Results");
	results(&o, r);
	contamination(&o, r);
	heading(&o, 2, "Training, data and time");
	training(&o, r);
	plots(&o, r);
	artefacts(&o);
	if (r->environment) {
		heading(&o, 2, "Environment");
		buf_puts(b, html ? "<pre>" : "```\n");
		text(&o, r->environment);
		buf_puts(b, html ? "</pre>\n" : "```\n");
	}
	if (html)
		buf_puts(b, "</body></html>\n");
}
