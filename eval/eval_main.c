/* eval_main.c - bonsai-eval: perplexity on the val shards, and zero-shot
 * multiple-choice tasks scored exactly as lm-evaluation-harness does. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "buf.h"
#include "cli.h"
#include "evaldir.h"
#include "hfcache.h"
#include "json.h"
#include "lm.h"
#include "loglik.h"
#include "ppl.h"
#include "progress.h"
#include "score.h"
#include "shard.h"
#include "evaltasks.h"
#include "evaltext.h"
#include "xio.h"

/* The usage of the commands in cmds (C_* bits): each one's synopsis and
 * description, and the options that apply to one of them. */
enum { C_TASKS = 1, C_PPL = 2, C_LOGLIK = 4, C_ALL = 7 };
static const char *const command_names[] = {"tasks", "ppl", "loglik"};
static const char *const synopses[] = {
	"tasks LIST -m MODEL [-t TOKENIZER] [options]",
	"ppl -m MODEL --data DIR [options]",
	"loglik [FILE.jsonl] -m MODEL [-t TOKENIZER] [options]",
};
static const char *const descriptions[] = {
"tasks: zero-shot multiple choice as lm-evaluation-harness scores it; LIST is\n"
"  comma-separated: piqa, arc_easy, arc_challenge, hellaswag (read from\n"
"  --eval-dir/NAME), NAME=PATH (PATH a file or directory of the official\n"
"  data; for another NAME, a JSON Lines file of {context, choices, gold}), or\n"
"  FILE.jsonl. Writes lm-eval-style results JSON.\n",
"ppl: token-weighted mean next-token loss and perplexity over the val\n"
"  shards of DIR, in windows of --seq-len tokens. Writes JSON.\n",
"loglik: for each line {\"context\", \"continuation\"} of FILE (default\n"
"  stdin), the continuation's summed log-probability. Writes JSON Lines.\n",
};
static const struct {
	int cmds;
	const char *text;
} option_help[] = {
	{C_ALL, "  -m, --model PATH       run directory, checkpoint, exported/HF directory, or\n"
		"                         a Hub model id in the Hub cache (bonsai-fetch --model)\n"},
	{C_ALL, "  -t, --tokenizer PATH   tokenizer.json or .tiktoken (default: the one next to\n"
		"                         the model, as an export or a run directory holds it)\n"},
	{C_ALL, "  -o, --output FILE      write the results here (default stdout)\n"},
	{C_ALL, "  -f, --force            replace an existing output FILE (else it is\n"
		"                         refused)\n"},
	{C_TASKS, "      --samples FILE     tasks: every item's log-likelihoods, JSON Lines\n"},
	{C_TASKS, "      --limit N          tasks: the first N items of each task\n"},
	{C_TASKS, "      --eval-dir DIR     tasks: where NAME's files are (default\n"
		  "                         $BONSAI_EVAL_DIR, else ~/.cache/bonsai/eval)\n"},
	{C_TASKS | C_LOGLIK,
	 "      --bos ID           BOS token id put before every input (default the\n"
	 "                         model's); --no-bos puts none\n"},
	{C_TASKS | C_LOGLIK,
	 "      --max-length N     longest model input; longer ones lose their left end\n"
	 "                         (default the model's max_position_embeddings)\n"},
	{C_ALL, "      --batch-tokens N   tokens per forward pass (default: 32 MiB of logits on\n"
		"                         the CPU, 32768 on the GPU)\n"},
	{C_ALL, "      --device D         cpu or cuda (default: $BONSAI_DEVICE, else cuda when\n"
		"                         built with it and a GPU is present); cuda runs the\n"
		"                         model in bf16\n"},
	{C_PPL, "      --data DIR         ppl: shard directory (its val split)\n"},
	{C_PPL, "      --seq-len N        ppl: window length (default: the one the model was\n"
		"                         trained with if a checkpoint or export records it,\n"
		"                         else 1024;\n"
		"                         at most the model's max_position_embeddings)\n"},
	{C_PPL, "      --max-tokens N     ppl: count at most N tokens (k, M, G allowed)\n"},
	{C_ALL, "      --check            check the command, LIST's names and the device,\n"
		"                         without reading the model or the data; one line\n"},
	{C_ALL, "  -j, --threads N        CPU threads (default all)\n"},
	{C_ALL, "  -q, --quiet            no progress or summary on stderr\n"},
	{C_ALL, "      --progress         progress even when stderr is not a terminal\n"},
	{C_ALL, "  -h, --help             this help\n"},
	{C_ALL, "  -V, --version          version\n"},
};

static void usage(FILE *f, int cmds)
{
	const char *lead = "usage: ";
	for (int i = 0; i < 3; i++)
		if (cmds & 1 << i) {
			fprintf(f, "%sbonsai-eval %s\n", lead, synopses[i]);
			lead = "       ";
		}
	fputc('\n', f);
	for (int i = 0; i < 3; i++)
		if (cmds & 1 << i)
			fputs(descriptions[i], f);
	fputs("\noptions:\n", f);
	for (size_t i = 0; i < sizeof option_help / sizeof *option_help; i++)
		if (option_help[i].cmds & cmds)
			fputs(option_help[i].text, f);
}

typedef struct {
	const char *cmd, *model, *tok, *out, *samples, *eval_dir, *data, *input;
	outfile *out_file, *samples_file; /* -o and --samples, open before the work */
	long limit;
	int32_t bos; /* -2 = the model's */
	long max_length, batch_tokens, seq_len;
	long long max_tokens;
	int quiet;
	int device; /* DEV_* */
} opts;

enum { DEV_DEFAULT, DEV_CPU, DEV_CUDA };

/* Refuses an option given to a command it does not apply to (cmds: the
 * C_* bits of those it does), which would be taken and then ignored: ppl
 * --max-length left the windows at --seq-len, tasks --max-tokens counted
 * every item. */
static void only_for(const opts *o, int cmd, int given, int cmds, const char *opt)
{
	if (!given || cmds & cmd)
		return;
	char list[64] = "";
	for (int i = 0; i < 3; i++)
		if (cmds & 1 << i)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
				 *list ? " and " : "", command_names[i]);
	die_usage("%s: %s is an option of %s only", o->cmd, opt, list);
}

static void check_options(const opts *o, int cmd)
{
	only_for(o, cmd, o->samples != NULL, C_TASKS, "--samples");
	only_for(o, cmd, o->limit >= 0, C_TASKS, "--limit");
	only_for(o, cmd, o->eval_dir != NULL, C_TASKS, "--eval-dir");
	only_for(o, cmd, o->bos != -2, C_TASKS | C_LOGLIK, o->bos == -1 ? "--no-bos" : "--bos");
	only_for(o, cmd, o->max_length > 0, C_TASKS | C_LOGLIK, "--max-length");
	only_for(o, cmd, o->data != NULL, C_PPL, "--data");
	only_for(o, cmd, o->seq_len > 0, C_PPL, "--seq-len");
	only_for(o, cmd, o->max_tokens > 0, C_PPL, "--max-tokens");
}

/* --device (NULL when not given), else BONSAI_DEVICE, else DEV_DEFAULT */
static int device_of(const char *given)
{
	const char *d = cli_device(given);
	return !d ? DEV_DEFAULT : !strcmp(d, "cpu") ? DEV_CPU : DEV_CUDA;
}

static void json_num(buf_t *b, double v)
{
	if (isfinite(v))
		buf_printf(b, "%.17g", v);
	else
		buf_puts(b, "null");
}

static void json_str(buf_t *b, const char *s)
{
	json_write_string(b, s, strlen(s));
}

static void write_buf(outfile *o, buf_t *b)
{
	outfile_write(o, b->data, b->len);
	outfile_commit(o);
}

static loglik_model make_model(eval_lm *lm, const opts *o)
{
	loglik_model m = {0};
	m.logits = eval_lm_logits;
	m.ctx = lm;
	m.vocab = lm->cfg->vocab_size;
	m.max_length = o->max_length > 0 ? (int)o->max_length : lm->cfg->max_position_embeddings;
	if (m.max_length > lm->cfg->max_position_embeddings)
		die_usage("--max-length %d is more than the model's %d positions", m.max_length,
			  lm->cfg->max_position_embeddings);
	m.batch_tokens = o->batch_tokens > 0 ? o->batch_tokens
					     : eval_default_batch_tokens(m.vocab);
	return m;
}

/* Moves the scoring to the GPU when --device cuda, or by default when a
 * GPU works (then falling back to the CPU with a note if the GPU cannot
 * take the model). max_T: the longest row a pass will have. */
static void use_device(eval_lm *lm, loglik_model *m, const opts *o, long max_T)
{
	char why[512];
	if (o->device == DEV_CPU)
		return;
	if (!eval_gpu_probe(why, sizeof why)) {
		if (o->device == DEV_CUDA)
			die("--device cuda: %s", why);
		return;
	}
	long cpu_batch = m->batch_tokens;
	if (o->batch_tokens <= 0)
		m->batch_tokens = EVAL_GPU_BATCH_TOKENS;
	if (eval_lm_gpu_open(lm, m->batch_tokens, (int)max_T, why, sizeof why)) {
		if (o->device == DEV_CUDA)
			die("--device cuda: %s", why);
		if (!o->quiet)
			warnx_("note: scoring on the CPU: %s", why);
		m->batch_tokens = cpu_batch;
		return;
	}
	m->logprobs = eval_lm_logprobs;
	m->pad_T = 16;
	if (!o->quiet)
		warnx_("scoring on %s (bf16)", lm->gpu_name);
}

/* --check: what can be known before the model and the sets are there,
 * so that make run refuses a misspelt task in a second, not after
 * training. */
static int check_only(const opts *o)
{
	char why[512];
	if (strcmp(o->cmd, "tasks") == 0 && tasks_check(o->input, why, sizeof why))
		die_usage("%s", why);
	int gpu = o->device != DEV_CPU && eval_gpu_probe(why, sizeof why);
	if (o->device == DEV_CUDA && !gpu)
		die("--device cuda: %s", why);
	printf("%s --check: %s%s%s, device %s\n", cli_progname(), o->cmd, o->input ? " " : "",
	       o->input ? o->input : "", gpu ? "cuda" : "cpu");
	xfflush(stdout, "stdout");
	return 0;
}

static const char *device_name(const eval_lm *lm)
{
	return lm->gpu ? lm->gpu_name : "cpu";
}

/* The work of a progress line: its size, and when it began. */
typedef struct {
	double total;
	meter m;
} work_meter;

static void on_requests(void *arg, size_t done)
{
	work_meter *w = arg;
	progress(0, "scored %zu/%.0f choices, %.1f choices/s, ETA %s", done, w->total, meter_rate(&w->m, (double)done),
		 meter_eta(&w->m, (double)done));
}

/* ---- tasks ---- */

typedef struct {
	size_t first;   /* index of the item's first request */
	int pred_acc, pred_acc_norm;
} item_state;

static void cmd_tasks(const opts *o)
{
	char err[1024];
	char *dir = o->eval_dir ? xstrdup(o->eval_dir) : eval_sets_dir(err, sizeof err);
	if (!dir)
		die("%s", err);
	size_t n_tasks;
	eval_task **tasks;
	int rc = tasks_load(o->input, dir, &tasks, &n_tasks, err, sizeof err);
	if (rc == -2)
		die_usage("%s", err);
	if (rc < 0)
		die("%s", err);
	free(dir);
	size_t n_items = 0, n_req = 0, *original = xcalloc(n_tasks, sizeof *original);
	for (size_t t = 0; t < n_tasks; t++) {
		original[t] = tasks[t]->n;
		if (o->limit >= 0 && tasks[t]->n > (size_t)o->limit) {
			for (size_t i = (size_t)o->limit; i < tasks[t]->n; i++)
				eval_item_free(&tasks[t]->items[i]);
			tasks[t]->n = (size_t)o->limit;
		}
		n_items += tasks[t]->n;
		for (size_t i = 0; i < tasks[t]->n; i++)
			n_req += (size_t)tasks[t]->items[i].n_choices;
	}
	if (n_items == 0)
		die("no items to evaluate");

	eval_lm lm;
	eval_lm_open(&lm, o->model, o->tok, 1, o->bos);
	loglik_model m = make_model(&lm, o);
	use_device(&lm, &m, o, m.max_length);

	double t0 = now_seconds();
	/* one request per choice: continuation " " + choice */
	loglik_request *reqs = xcalloc(n_req, sizeof *reqs);
	item_state **st = xcalloc(n_tasks, sizeof *st);
	size_t k = 0;
	for (size_t t = 0; t < n_tasks; t++) {
		st[t] = xcalloc(tasks[t]->n ? tasks[t]->n : 1, sizeof **st);
		for (size_t i = 0; i < tasks[t]->n; i++) {
			st[t][i].first = k;
			k += (size_t)tasks[t]->items[i].n_choices;
		}
	}
	for (size_t t = 0; t < n_tasks; t++) {
		eval_task *task = tasks[t];
		#pragma omp parallel for schedule(dynamic, 16)
		for (size_t i = 0; i < task->n; i++) {
			eval_item *it = &task->items[i];
			for (int c = 0; c < it->n_choices; c++) {
				char *cont = str_cat(" ", it->choices[c], (char *)NULL);
				if (!cont)
					die("out of memory (for a choice of %zu bytes)",
					    strlen(it->choices[c]) + 1);
				loglik_encode_pair(eval_lm_encode, &lm, lm.bos, it->context, cont,
						   &reqs[st[t][i].first + (size_t)c]);
				free(cont);
			}
		}
	}
	for (size_t t = 0; t < n_tasks; t++)
		for (size_t i = 0; i < tasks[t]->n; i++)
			for (int c = 0; c < tasks[t]->items[i].n_choices; c++) {
				const char *why =
					loglik_request_problem(&reqs[st[t][i].first + (size_t)c]);
				if (why)
					die("%s (%s): item %ld, choice %d: %s", tasks[t]->name,
					    tasks[t]->source, tasks[t]->items[i].index, c, why);
			}
	double t_enc = now_seconds() - t0;
	loglik_result *res = xcalloc(n_req, sizeof *res);
	work_meter wm = {.total = (double)n_req};
	meter_start(&wm.m, wm.total);
	loglik_run(&m, reqs, n_req, res, on_requests, &wm);
	progress_done();
	double secs = now_seconds() - t0;

	/* predictions, samples, metrics */
	outfile *so = o->samples_file;
	buf_t b = {0}, line = {0};
	double *acc = xcalloc(n_tasks, sizeof *acc), *accn = xcalloc(n_tasks, sizeof *accn);
	size_t *scored = xcalloc(n_tasks, sizeof *scored);
	double *ll = NULL;
	int ll_cap = 0;
	for (size_t t = 0; t < n_tasks; t++) {
		eval_task *task = tasks[t];
		for (size_t i = 0; i < task->n; i++) {
			eval_item *it = &task->items[i];
			const loglik_result *r = &res[st[t][i].first];
			const loglik_request *q = &reqs[st[t][i].first];
			if (it->n_choices > ll_cap) {
				ll_cap = it->n_choices;
				ll = xreallocarray(ll, (size_t)ll_cap, sizeof *ll);
			}
			for (int c = 0; c < it->n_choices; c++)
				ll[c] = r[c].logprob;
			int pa = mc_pred_acc(ll, it->n_choices);
			int pn = mc_pred_acc_norm(ll, it->choices, it->n_choices);
			if (it->gold >= 0) {
				scored[t]++;
				acc[t] += pa == it->gold;
				accn[t] += pn == it->gold;
			}
			if (!so)
				continue;
			line.len = 0;
			buf_puts(&line, "{\"task\": ");
			json_str(&line, task->name);
			buf_printf(&line, ", \"index\": %ld", it->index);
			if (it->id) {
				buf_puts(&line, ", \"id\": ");
				json_str(&line, it->id);
			}
			buf_puts(&line, ", \"context\": ");
			json_str(&line, it->context);
			buf_puts(&line, ", \"choices\": [");
			for (int c = 0; c < it->n_choices; c++) {
				buf_puts(&line, c ? ", " : "");
				json_str(&line, it->choices[c]);
			}
			buf_printf(&line, "], \"gold\": %d, \"loglikelihoods\": [", it->gold);
			for (int c = 0; c < it->n_choices; c++) {
				buf_puts(&line, c ? ", " : "");
				json_num(&line, ll[c]);
			}
			buf_puts(&line, "], \"is_greedy\": [");
			for (int c = 0; c < it->n_choices; c++)
				buf_printf(&line, "%s%s", c ? ", " : "", r[c].is_greedy ? "true" : "false");
			buf_puts(&line, "], \"context_tokens\": [");
			for (int c = 0; c < it->n_choices; c++)
				buf_printf(&line, "%s%d", c ? ", " : "", q[c].ctx_len);
			buf_puts(&line, "], \"continuation_tokens\": [");
			for (int c = 0; c < it->n_choices; c++)
				buf_printf(&line, "%s%d", c ? ", " : "", q[c].cont_len);
			buf_printf(&line, "], \"pred_acc\": %d, \"pred_acc_norm\": %d", pa, pn);
			if (it->gold >= 0)
				buf_printf(&line, ", \"acc\": %d, \"acc_norm\": %d", pa == it->gold,
					   pn == it->gold);
			buf_puts(&line, "}\n");
			outfile_write(so, line.data, line.len);
		}
	}
	if (so)
		outfile_commit(so);

	/* lm-eval's results layout */
	buf_puts(&b, "{\n  \"results\": {");
	for (size_t t = 0; t < n_tasks; t++) {
		size_t n = scored[t];
		double pa = n ? acc[t] / n : NAN, pn = n ? accn[t] / n : NAN;
		buf_puts(&b, t ? ",\n    " : "\n    ");
		json_str(&b, tasks[t]->name);
		buf_puts(&b, ": {\n      \"alias\": ");
		json_str(&b, tasks[t]->name);
		buf_puts(&b, ",\n      \"acc,none\": ");
		json_num(&b, pa);
		buf_puts(&b, ",\n      \"acc_stderr,none\": ");
		json_num(&b, n ? mean_stderr(pa, n) : NAN);
		buf_puts(&b, ",\n      \"acc_norm,none\": ");
		json_num(&b, pn);
		buf_puts(&b, ",\n      \"acc_norm_stderr,none\": ");
		json_num(&b, n ? mean_stderr(pn, n) : NAN);
		buf_printf(&b, ",\n      \"acc_count\": %.0f,\n      \"acc_norm_count\": %.0f,\n"
			       "      \"n\": %zu\n    }", acc[t], accn[t], n);
	}
	buf_puts(&b, "\n  },\n  \"versions\": {");
	for (size_t t = 0; t < n_tasks; t++) {
		buf_puts(&b, t ? ", " : "");
		json_str(&b, tasks[t]->name);
		buf_puts(&b, ": 1.0");
	}
	buf_puts(&b, "},\n  \"n-shot\": {");
	for (size_t t = 0; t < n_tasks; t++) {
		buf_puts(&b, t ? ", " : "");
		json_str(&b, tasks[t]->name);
		buf_puts(&b, ": 0");
	}
	buf_puts(&b, "},\n  \"higher_is_better\": {");
	for (size_t t = 0; t < n_tasks; t++) {
		buf_puts(&b, t ? ", " : "");
		json_str(&b, tasks[t]->name);
		buf_puts(&b, ": {\"acc\": true, \"acc_norm\": true}");
	}
	buf_puts(&b, "},\n  \"n-samples\": {");
	for (size_t t = 0; t < n_tasks; t++) {
		buf_puts(&b, t ? ",\n    " : "\n    ");
		json_str(&b, tasks[t]->name);
		buf_printf(&b, ": {\"original\": %zu, \"effective\": %zu}", original[t], tasks[t]->n);
	}
	buf_puts(&b, "\n  },\n  \"sources\": {");
	for (size_t t = 0; t < n_tasks; t++) {
		buf_puts(&b, t ? ", " : "");
		json_str(&b, tasks[t]->name);
		buf_puts(&b, ": ");
		json_str(&b, tasks[t]->source);
	}
	buf_puts(&b, "},\n  \"config\": {\n    \"model\": \"bonsai\",\n    \"model_args\": ");
	json_str(&b, o->model);
	buf_puts(&b, ",\n    \"tokenizer\": ");
	json_str(&b, lm.tok_path);
	buf_puts(&b, ",\n    \"device\": ");
	json_str(&b, device_name(&lm));
	buf_printf(&b, ",\n    \"bos_token_id\": %d,\n    \"max_length\": %d,\n"
		       "    \"batch_tokens\": %ld,\n    \"limit\": ",
		   lm.bos, m.max_length, m.batch_tokens);
	if (o->limit >= 0)
		buf_printf(&b, "%ld", o->limit);
	else
		buf_puts(&b, "null");
	buf_printf(&b, ",\n    \"num_fewshot\": 0\n  },\n  \"items\": %zu,\n  \"requests\": %zu,\n"
		       "  \"items_per_second\": ", n_items, n_req);
	json_num(&b, n_items / secs);
	buf_printf(&b, ",\n  \"date\": %lld,\n  \"total_evaluation_time_seconds\": \"%.3f\"\n}\n",
		   (long long)time(NULL), secs);
	write_buf(o->out_file, &b);

	if (!o->quiet) {
		for (size_t t = 0; t < n_tasks; t++) {
			size_t n = scored[t];
			if (!n) {
				warnx_("%s: %zu items, no gold answers", tasks[t]->name, tasks[t]->n);
				continue;
			}
			double pa = acc[t] / n, pn = accn[t] / n;
			warnx_("%s: acc %.4f ± %.4f, acc_norm %.4f ± %.4f (%zu items)", tasks[t]->name,
			       pa, mean_stderr(pa, n), pn, mean_stderr(pn, n), n);
		}
		warnx_("%zu items, %zu choices in %.1f s (%.1f s encoding): %.2f items/s", n_items,
		       n_req, secs, t_enc, n_items / secs);
	}

	for (size_t i = 0; i < n_req; i++)
		loglik_request_free(&reqs[i]);
	for (size_t t = 0; t < n_tasks; t++) {
		free(st[t]);
		eval_task_free(tasks[t]);
	}
	free(st);
	free(tasks);
	free(reqs);
	free(res);
	free(ll);
	free(acc);
	free(accn);
	free(scored);
	free(original);
	buf_free(&b);
	buf_free(&line);
	eval_lm_close(&lm);
}

/* ---- loglik ---- */

static void cmd_loglik(const opts *o)
{
	const char *path = o->input ? o->input : "-";
	size_t len;
	char err[1024];
	char *text = eval_read_input(path, &len, err, sizeof err);
	if (!text)
		die("%s", err);
	eval_lm lm;
	eval_lm_open(&lm, o->model, o->tok, 1, o->bos);
	loglik_model m = make_model(&lm, o);
	use_device(&lm, &m, o, m.max_length);

	loglik_request *reqs = NULL;
	size_t n = 0, cap = 0;
	long line_no = 0;
	for (char *p = text, *end = text + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end;
		*e = 0;
		line_no++;
		if (p[strspn(p, " \t\r")]) {
			char err[256];
			json_doc *d = json_parse(p, (size_t)(e - p), err, sizeof err);
			if (!d)
				die_at(path, line_no, "%s", err);
			const char *ctx = json_get_str(json_root(d), "context");
			const char *cont = json_get_str(json_root(d), "continuation");
			if (!ctx || !cont)
				die_at(path, line_no, "want {\"context\": STRING, \"continuation\": STRING}");
			if (n == cap)
				reqs = xreallocarray(reqs, cap = cap ? 2 * cap : 256, sizeof *reqs);
			loglik_encode_pair(eval_lm_encode, &lm, lm.bos, ctx, cont, &reqs[n]);
			const char *why = loglik_request_problem(&reqs[n]);
			if (why)
				die_at(path, line_no, "%s", why);
			n++;
			json_free(d);
		}
		p = nl ? nl + 1 : end;
	}
	loglik_result *res = xcalloc(n ? n : 1, sizeof *res);
	work_meter wm = {.total = (double)n};
	meter_start(&wm.m, wm.total);
	loglik_run(&m, reqs, n, res, on_requests, &wm);
	progress_done();
	buf_t b = {0};
	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, "{\"loglikelihood\": ");
		json_num(&b, res[i].logprob);
		buf_printf(&b, ", \"is_greedy\": %s, \"context_tokens\": %d, "
			       "\"continuation_tokens\": %d}\n",
			   res[i].is_greedy ? "true" : "false", reqs[i].ctx_len,
			   reqs[i].cont_len);
		loglik_request_free(&reqs[i]);
	}
	write_buf(o->out_file, &b);
	buf_free(&b);
	free(reqs);
	free(res);
	free(text);
	eval_lm_close(&lm);
}

/* ---- ppl ---- */

static void read_shards(void *ctx, uint64_t i, uint32_t *out, size_t n)
{
	shardset_read(ctx, i, out, n);
}

static void on_ppl(void *arg, const ppl_result *r)
{
	work_meter *w = arg;
	progress(0, "ppl: %llu/%.0f tokens, loss %.4f, %.0f tokens/s, ETA %s", (unsigned long long)r->tokens,
		 w->total, r->tokens ? r->loss_sum / r->tokens : 0.0, meter_rate(&w->m, (double)r->tokens),
		 meter_eta(&w->m, (double)r->tokens));
}

static void cmd_ppl(const opts *o)
{
	if (!o->data)
		die_usage("ppl needs --data DIR");
	eval_lm lm;
	eval_lm_open(&lm, o->model, o->tok, 0, o->bos);
	loglik_model m = make_model(&lm, o);
	char err[600];
	shardset *s = shardset_open(o->data, SPLIT_VAL, 1, err, sizeof err);
	if (!s)
		die("%s", err);
	if (s->m->vocab_size > (uint32_t)lm.cfg->vocab_size)
		die("%s: shards of a %u-token vocabulary, but the model has %d", o->data,
		    s->m->vocab_size, lm.cfg->vocab_size);
	if (lm.tok && tokenizer_fingerprint(lm.tok) != s->m->fingerprint)
		die("%s: the shards were made by another tokenizer than %s", o->data, lm.tok_path);
	if (s->n_tokens < 2)
		die("%s: the val split has %llu tokens: nothing to predict", o->data,
		    (unsigned long long)s->n_tokens);
	uint64_t train_fp;
	int train_seq = eval_train_seq(o->model, &train_fp);
	if (train_fp && train_fp != s->m->fingerprint && !o->quiet)
		warnx_("warning: %s holds shards of another tokenizer than the model was trained on",
		       o->data);
	/* the length the model was trained at, where a checkpoint records it
	 * (an export does not: 1024 there) */
	long T = o->seq_len > 0 ? o->seq_len : train_seq ? train_seq : 1024;
	if (T > lm.cfg->max_position_embeddings) {
		if (o->seq_len > 0)
			die_usage("--seq-len %ld is more than the model's %d positions", T,
				  lm.cfg->max_position_embeddings);
		T = lm.cfg->max_position_embeddings;
	}
	use_device(&lm, &m, o, T);
	uint64_t total = s->n_tokens - 1;
	if (o->max_tokens > 0 && (uint64_t)o->max_tokens < total)
		total = (uint64_t)o->max_tokens;
	double t0 = now_seconds();
	ppl_result r;
	work_meter wm = {.total = (double)total};
	meter_start(&wm.m, wm.total);
	ppl_run(&m, read_shards, s, s->n_tokens, (int)T, (uint64_t)o->max_tokens, &r, on_ppl,
		&wm);
	progress_done();
	double secs = now_seconds() - t0, loss = r.loss_sum / (double)r.tokens;
	buf_t b = {0};
	buf_puts(&b, "{\n  \"loss\": ");
	json_num(&b, loss);
	buf_puts(&b, ",\n  \"ppl\": ");
	json_num(&b, exp(loss));
	buf_printf(&b, ",\n  \"tokens\": %llu,\n  \"windows\": %llu,\n  \"seq_len\": %ld,\n"
		       "  \"val_tokens\": %llu,\n  \"data\": ",
		   (unsigned long long)r.tokens, (unsigned long long)r.windows, T,
		   (unsigned long long)s->n_tokens);
	json_str(&b, o->data);
	buf_puts(&b, ",\n  \"model\": ");
	json_str(&b, o->model);
	buf_puts(&b, ",\n  \"device\": ");
	json_str(&b, device_name(&lm));
	buf_puts(&b, ",\n  \"tokens_per_second\": ");
	json_num(&b, r.tokens / secs);
	buf_puts(&b, "\n}\n");
	write_buf(o->out_file, &b);
	buf_free(&b);
	if (!o->quiet)
		warnx_("val loss %.4f, ppl %.3f over %llu tokens (%.0f tokens/s)", loss, exp(loss),
		       (unsigned long long)r.tokens, r.tokens / secs);
	shardset_close(s);
	eval_lm_close(&lm);
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	cli_catch_signals();
	enum { O_SAMPLES = 256, O_LIMIT, O_EVAL_DIR, O_BOS, O_NO_BOS, O_MAXLEN, O_BATCH, O_DATA,
	       O_SEQ, O_MAXTOK, O_PROGRESS, O_DEVICE, O_CHECK };
	static const struct option longopts[] = {
		{"model", required_argument, 0, 'm'},
		{"tokenizer", required_argument, 0, 't'},
		{"output", required_argument, 0, 'o'},
		{"force", no_argument, 0, 'f'},
		{"samples", required_argument, 0, O_SAMPLES},
		{"limit", required_argument, 0, O_LIMIT},
		{"eval-dir", required_argument, 0, O_EVAL_DIR},
		{"bos", required_argument, 0, O_BOS},
		{"no-bos", no_argument, 0, O_NO_BOS},
		{"max-length", required_argument, 0, O_MAXLEN},
		{"batch-tokens", required_argument, 0, O_BATCH},
		{"data", required_argument, 0, O_DATA},
		{"seq-len", required_argument, 0, O_SEQ},
		{"max-tokens", required_argument, 0, O_MAXTOK},
		{"device", required_argument, 0, O_DEVICE},
		{"check", no_argument, 0, O_CHECK},
		{"threads", required_argument, 0, 'j'},
		{"quiet", no_argument, 0, 'q'},
		{"progress", no_argument, 0, O_PROGRESS},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},
		{0, 0, 0, 0}};
	opts o = {0};
	o.limit = -1;
	o.bos = -2;
	const char *pos[3], *dev = NULL;
	int n_pos = 0, force = 0, help = 0, check = 0, c;
	while ((c = cli_getopt(argc, argv, "-m:t:o:fj:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 1:
			if (n_pos == 2)
				die_usage("unexpected argument: %s", optarg);
			pos[n_pos++] = optarg;
			break;
		case 'm': o.model = optarg; break;
		case 't': o.tok = optarg; break;
		case 'o': o.out = optarg; break;
		case 'f': force = 1; break;
		case O_SAMPLES: o.samples = optarg; break;
		case O_LIMIT: o.limit = (long)parse_ll("--limit", optarg, 0, 1L << 40); break;
		case O_EVAL_DIR: o.eval_dir = optarg; break;
		case O_BOS: o.bos = (int32_t)parse_ll("--bos", optarg, 0, INT32_MAX); break;
		case O_NO_BOS: o.bos = -1; break;
		case O_MAXLEN: o.max_length = (long)parse_ll("--max-length", optarg, 1, 1 << 24); break;
		case O_BATCH:
			o.batch_tokens = (long)parse_size("--batch-tokens", optarg, 1, 1L << 30);
			break;
		case O_DATA: o.data = optarg; break;
		case O_SEQ: o.seq_len = (long)parse_ll("--seq-len", optarg, 1, 1 << 24); break;
		case O_MAXTOK: o.max_tokens = parse_size("--max-tokens", optarg, 1, 1LL << 50); break;
		case O_DEVICE: dev = optarg; break;
		case O_CHECK: check = 1; break;
		case 'j': {
			int n = (int)parse_ll("--threads", optarg, 1, 4096);
#ifdef _OPENMP
			omp_set_num_threads(n);
#else
			(void)n;
#endif
			break;
		}
		case 'q': o.quiet = 1; progress_set(PROGRESS_OFF); break;
		case O_PROGRESS: progress_set(PROGRESS_ON); break;
		case 'h': help = 1; break;
		case 'V': print_version(); return 0;
		}
	}
	if (help) {
		/* the command's own usage: bonsai-eval ppl -h */
		int cmds = C_ALL;
		for (int i = 0; n_pos && i < 3; i++)
			if (strcmp(pos[0], command_names[i]) == 0)
				cmds = 1 << i;
		usage(stdout, cmds);
		return 0;
	}
	o.device = device_of(dev);
	if (n_pos == 0)
		die_usage("no command: tasks, ppl or loglik");
	o.cmd = pos[0];
	o.input = n_pos > 1 ? pos[1] : NULL;
	if (!o.model)
		die_usage("no model: name one with -m");
	/* the command and its argument, before anything is read */
	if (strcmp(o.cmd, "tasks") == 0 && !o.input)
		die_usage("tasks: name the tasks, e.g. piqa,arc_easy,hellaswag");
	if (strcmp(o.cmd, "ppl") == 0 && o.input)
		die_usage("ppl takes no argument (the shards come with --data)");
	int cmd = 0;
	for (int i = 0; i < 3; i++)
		if (strcmp(o.cmd, command_names[i]) == 0)
			cmd = 1 << i;
	if (!cmd)
		die_usage("unknown command \"%s\" (tasks, ppl, loglik)", o.cmd);
	/* before the outputs' checks: ppl --samples FILE is refused as an
	 * option of tasks, not as a FILE that exists */
	check_options(&o, cmd);
	if (o.eval_dir)
		dir_expected(o.eval_dir, "--eval-dir names the folder of the eval sets");
	output_check(o.out, force);
	output_check(o.samples, force);
	outputs_distinct("-o", o.out, "--samples", o.samples);
	if (check)
		return check_only(&o);
	/* opened before the work, so that an output that cannot be made (a
	 * folder not there, not writable) stops the run now, not after the
	 * scoring, with the results lost */
	o.out_file = outfile_open(o.out);
	o.samples_file = o.samples ? outfile_open(o.samples) : NULL;
	/* a Hub id (google/gemma-3-270m) stands for its folder in the Hub cache */
	char merr[1024];
	char *model_path = hf_model_path(o.model, merr, sizeof merr);
	if (!model_path)
		die("%s", merr);
	o.model = model_path;
	if (strcmp(o.cmd, "tasks") == 0)
		cmd_tasks(&o);
	else if (strcmp(o.cmd, "ppl") == 0)
		cmd_ppl(&o);
	else
		cmd_loglik(&o);
	free(model_path);
	return 0;
}
