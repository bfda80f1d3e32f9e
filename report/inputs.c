/* inputs.c - reads a make-run folder's files into the report's figures
 * (report.h lists which file gives what). */
#include "report.h"

#include "cli.h"
#include "gemma3.h"
#include "json.h"
#include "metrics_log.h"
#include "xio.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *in_dir(const report *r, const char *name) { return xpath_join(r->dir, name); }

static int exists(const report *r, const char *name)
{
	char *p = in_dir(r, name);
	int ok = access(p, R_OK) == 0;
	free(p);
	return ok;
}

/* The JSON file dir/name, parsed; dies naming the file when it is not JSON. */
static json_doc *read_json(const report *r, const char *name)
{
	char *p = in_dir(r, name), err[256];
	size_t n;
	char *text = read_file(p, &n);
	json_doc *d = json_parse(text, n, err, sizeof err);
	if (!d)
		die("%s: %s", p, err);
	free(text);
	free(p);
	return d;
}

static void read_ppl(report *r)
{
	json_doc *d = read_json(r, "eval/ppl.json");
	json_value *v = json_root(d);
	r->val_loss = json_get_num(v, "loss", NAN);
	r->ppl = json_get_num(v, "ppl", NAN);
	r->ppl_tokens = json_get_num(v, "tokens", NAN);
	if (!isfinite(r->val_loss) || !isfinite(r->ppl))
		die("%s/eval/ppl.json: no finite \"loss\" and \"ppl\"", r->dir);
	json_free(d);
}

/* A fraction of the items, NAN when absent or null (no item scored): a
 * value outside 0..1 is no accuracy, and is refused rather than shown as
 * 485%. */
static double accuracy(const report *r, const char *task, const json_value *v, const char *key)
{
	double x = NAN;
	const json_value *a = json_get(v, key);
	if (a && a->type != JSON_NULL && (json_get_finite(v, key, &x) < 0 || x < 0 || x > 1))
		die("%s/eval/tasks.json: %s: \"%s\" is not a fraction from 0 to 1", r->dir, task, key);
	return x;
}

static void read_tasks(report *r)
{
	json_doc *d = read_json(r, "eval/tasks.json");
	json_value *res = json_get(json_root(d), "results");
	if (!res || res->type != JSON_OBJECT)
		die("%s/eval/tasks.json: no \"results\" object", r->dir);
	for (size_t i = 0; i < res->len && r->n_tasks < REPORT_MAX; i++) {
		task_result *t = &r->tasks[r->n_tasks++];
		const json_value *v = &res->items[i], *n = json_get(v, "n");
		snprintf(t->name, sizeof t->name, "%s", res->keys[i]);
		t->acc = accuracy(r, t->name, v, "acc,none");
		t->acc_norm = accuracy(r, t->name, v, "acc_norm,none");
		int64_t k = -1;
		if (n && json_int(n, 0, (int64_t)1 << 53, &k))
			die("%s/eval/tasks.json: %s: \"n\" is not a number of items", r->dir, t->name);
		t->n = (long)k;
	}
	json_free(d);
}

/* The step lines of a metrics file (skipped steps too: their "ms" is NAN),
 * each with its processes, and its last validation. */
typedef struct {
	metrics_record *v;
	size_t n;
	double val_loss;
} step_lines;

/* A step without "ranks" ran on the command line's processes. */
static void add_record(step_lines *s, const metrics_record *m, int ranks)
{
	if (m->kind == METRICS_VAL) {
		s->val_loss = m->val_loss;
		return;
	}
	s->v[s->n] = *m;
	if (!m->ranks)
		s->v[s->n].ranks = ranks;
	s->n++;
}

/* The metrics file p, ranks the processes of a line without "ranks";
 * dies naming the file and line of a bad line, or a file of no step. */
static step_lines read_steps(const char *p, int ranks)
{
	char err[512];
	step_lines s = { .val_loss = NAN };
	metrics_log log = { 0 };
	metrics_record *v = NULL;
	size_t n = 0;
	int rc = metrics_log_open(&log, p, err, sizeof err);
	if (!rc)
		rc = metrics_log_read_all(&log, &v, &n, err, sizeof err);
	/* never a figure read from half a line */
	if (rc < 0)
		die("%s%s", err, log.torn ? ": the training is still writing it, or its disk filled; "
					    "report a finished run" : "");
	metrics_log_close(&log);
	/* the steps take v's place: a resume's repeated steps are already
	 * replaced (lib/metrics_log), so that their time counts once */
	s.v = v;
	for (size_t i = 0; i < n; i++)
		add_record(&s, &v[i], ranks);
	if (!s.n)
		die("%s: no training steps", p);
	return s;
}

double report_steady_rate(const char *metrics)
{
	step_lines s = read_steps(metrics, 1);
	double rate, per_rank;
	if (metrics_steady_rates(s.v, s.n, &rate, &per_rank) < 0)
		die("out of memory");
	free(s.v);
	return rate;
}

/* train/metrics.jsonl: one line per step ("step", "tokens", "ms", "ranks")
 * and per validation ("val_loss"). Throughput is tokens over the steps' own
 * time (and steady: lib/metrics_log's rule); a step's processes (a line
 * without them: the command line's, as read_device found them) count for
 * its GPU time, a run resumed with another --gpus included. */
static void read_metrics(report *r)
{
	char *p = in_dir(r, "train/metrics.jsonl");
	step_lines s = read_steps(p, r->ranks);
	double ms = 0, prev_tokens = 0, tokens_timed = 0, ms_timed = 0;
	int last_ranks = r->ranks;
	for (size_t i = 0; i < s.n; i++) {
		const metrics_record *l = &s.v[i];
		if (isfinite(l->ms)) {
			ms += l->ms;
			r->rank_seconds += l->ms / 1e3 * l->ranks;
			last_ranks = l->ranks;
			double add = metrics_new_tokens(l, prev_tokens);
			if (add > 0)
				tokens_timed += add, ms_timed += l->ms;
		}
		prev_tokens = l->tokens;
	}
	r->tokens_seen = s.v[s.n - 1].tokens;
	r->steps = s.v[s.n - 1].step;
	r->train_val_loss = s.val_loss;
	if (metrics_steady_rates(s.v, s.n, &r->steady_tokens_per_s, &r->steady_tokens_per_rank_s) < 0)
		die("out of memory");
	free(s.v);
	free(p);
	r->step_seconds = ms / 1e3;
	r->tokens_per_s = ms_timed > 0 ? tokens_timed / (ms_timed / 1e3) : NAN;
	r->ranks = last_ranks;
}

/* The device and the processes from the train stage's command line s
 * (settings/train, path p): MFU and GPU hours count every GPU that
 * trained. */
static void read_device(report *r, const char *p, const char *s)
{
	const char *d = strstr(s, "--device ");
	snprintf(r->device, sizeof r->device, "%s", d ? d + 9 : "cpu");
	r->device[strcspn(r->device, " \n")] = 0;
	const char *g = strstr(s, "--gpus");
	r->ranks = 1;
	if (g && (g[6] == ' ' || g[6] == '=')) {
		char *end;
		long k = strtol(g + 7, &end, 10);
		if (end == g + 7 || k < 1 || k > 1024 || (*end && !strchr(" \n", *end)))
			die("%s: --gpus%.*s is not a number of processes", p,
			    (int)(strcspn(g + 7, " \n") + 1), g + 6);
		r->ranks = (int)k;
	}
}

/* FLOPs per trained token as bench/RESULTS.md counts them, so that the MFU
 * of a run and of the benchmark compare. */
static void read_model(report *r, int seq)
{
	char *p = in_dir(r, "train/config.json"), err[512];
	gemma3_config c;
	if (gemma3_config_load(p, 0, &c, err, sizeof err))
		die("%s", err);
	r->params = (double)gemma3_num_params(&c);
	r->vocab = c.vocab_size;
	r->flops_per_token = gemma3_flops_per_token(&c, seq);
	free(p);
}

/* The number after option (e.g. "--seq") in the train stage's command line
 * s, or def when absent. */
static long train_option(const char *s, const char *option, long def)
{
	size_t len = strlen(option);
	long v = def;
	for (const char *q = strstr(s, option); q; q = strstr(q + len, option))
		if (q[len] == ' ' && (q == s || q[-1] == ' ')) {
			v = atol(q + len + 1);
			break;
		}
	return v > 0 ? v : def;
}

/* make run with TASKS= empty: its tasks stage's command (settings/tasks)
 * is empty, and there is no eval/tasks.json to read (one left from an
 * earlier TASKS is not this run's). Without settings/tasks, the tasks are
 * wanted. */
static int no_tasks_asked(const report *r)
{
	if (!exists(r, "settings/tasks"))
		return 0;
	char *p = in_dir(r, "settings/tasks");
	size_t n;
	char *s = read_file(p, &n);
	const char *c = strncmp(s, "tasks:", 6) ? s : s + 6;
	c += strspn(c, " \t\n");
	int none = !*c;
	free(s);
	free(p);
	return none;
}

static void add(named_value *v, int *n, const char *name, double x)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(v[i].name, name)) {
			v[i].value += x;
			return;
		}
	if (*n == REPORT_MAX)
		die("more than %d names to count", REPORT_MAX);
	snprintf(v[*n].name, sizeof v[*n].name, "%s", name);
	v[(*n)++].value = x;
}

/* repro/times.tsv: stage, target, seconds, ...; a target made again counts
 * its last time only. */
static void read_times(report *r)
{
	if (!exists(r, "repro/times.tsv"))
		return;
	char *p = in_dir(r, "repro/times.tsv");
	size_t n;
	char *s = read_file(p, &n);
	int lines = 0;
	for (char *q = s; *q; q++)
		lines += *q == '\n';
	char **stage = xcalloc((size_t)lines + 1, sizeof *stage), **target = xcalloc((size_t)lines + 1, sizeof *target);
	double *secs = xcalloc((size_t)lines + 1, sizeof *secs);
	int k = 0;
	for (char *save = NULL, *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *t1 = strchr(l, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2)
			die("%s: line '%s' is not stage, target, seconds", p, l);
		*t1 = *t2 = 0;
		int j = 0;
		while (j < k && strcmp(target[j], t1 + 1))
			j++;
		stage[j] = l;
		target[j] = t1 + 1;
		secs[j] = strtod(t2 + 1, NULL);
		k += j == k;
	}
	for (int j = 0; j < k; j++)
		add(r->stages, &r->n_stages, stage[j], secs[j]);
	free(stage);
	free(target);
	free(secs);
	free(s);
	free(p);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The names in dir/sub ending in suffix, sorted, as "sub/name". */
static int list_files(const report *r, const char *sub, const char *suffix, char **out, int max)
{
	char *p = in_dir(r, sub);
	DIR *d = opendir(p);
	free(p);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	size_t ls = strlen(suffix);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > ls && !strcmp(e->d_name + l - ls, suffix)) {
			if (n == max)
				die("%s/%s: more than %d files", r->dir, sub, max);
			out[n++] = xpath_join(sub, e->d_name);
		}
	}
	closedir(d);
	qsort(out, (size_t)n, sizeof *out, by_name);
	return n;
}

static contam_task *contam_of(report *r, const char *name)
{
	for (int i = 0; i < r->n_contam; i++)
		if (!strcmp(r->contam[i].name, name))
			return &r->contam[i];
	if (r->n_contam == REPORT_MAX)
		die("%s/clean: more than %d benchmarks decontaminated", r->dir, REPORT_MAX);
	contam_task *t = &r->contam[r->n_contam++];
	snprintf(t->name, sizeof t->name, "%s", name);
	t->items = -1;
	t->exact = 1;
	return t;
}

/* A count of items in 0..max, def when absent; anything else (1e300, -3,
 * 2.5) is refused, naming it. */
static long count_of(const report *r, const char *file, const char *task, const json_value *v,
		     const char *key, long max, long def)
{
	const json_value *x = json_get(v, key);
	int64_t k = def;
	if (x && json_int(x, 0, max, &k))
		die("%s/%s: %s: \"%s\" is not a number of items from 0 to %ld", r->dir, file, task, key, max);
	return (long)k;
}

/* A file's "decontamination" (bonsai-formats(5)): the items each benchmark
 * had matched in it. Item indexes only add up across files filtered
 * against the same sets, so a benchmark must have the same items in all. */
static void read_contam(report *r, const char *file, const json_value *dc)
{
	const json_value *tasks = json_get(dc, "tasks");
	if (dc->type != JSON_OBJECT || !tasks || tasks->type != JSON_OBJECT)
		die("%s/%s: \"decontamination\" has no \"tasks\" object", r->dir, file);
	r->n_contam_files++;
	r->contam_dropped += json_get_num(dc, "documents_dropped", 0);
	r->contam_cut += json_get_num(dc, "documents_cut", 0);
	for (size_t k = 0; k < tasks->len; k++) {
		const json_value *v = &tasks->items[k], *list = json_get(v, "matched");
		contam_task *t = contam_of(r, tasks->keys[k]);
		long items = count_of(r, file, t->name, v, "items", INT32_MAX, -1);
		if (items < 0)
			die("%s/%s: %s has no \"items\"", r->dir, file, t->name);
		long unchecked = count_of(r, file, t->name, v, "items_unchecked", items, 0);
		if (t->items < 0) {
			t->items = items;
			t->unchecked = unchecked;
			t->seen = xcalloc((size_t)items + 1, 1);
		} else if (t->items != items || t->unchecked != unchecked) {
			die("%s/%s: %s has %ld items, %ld unchecked, the files before %ld and %ld: the files "
			    "were filtered against different sets (make filter again)", r->dir, file, t->name,
			    items, unchecked, t->items, t->unchecked);
		}
		t->matched += count_of(r, file, t->name, v, "items_matched", items, 0);
		t->files++;
		if (!list || list->type != JSON_ARRAY) {
			t->exact = 0;
			continue;
		}
		for (size_t j = 0; j < list->len; j++) {
			double x = list->items[j].number;
			if (list->items[j].type != JSON_NUMBER || x < 0 || x >= (double)items || x != (long)x)
				die("%s/%s: %s: \"matched\" holds a value that is not an item index below %ld",
				    r->dir, file, t->name, items);
			t->seen[(long)x] = 1;
		}
	}
}

static void read_filter(report *r)
{
	char *files[REPORT_MAX];
	r->n_filter_files = list_files(r, "clean", ".stats.json", files, REPORT_MAX);
	const char *with = NULL, *without = NULL;
	for (int i = 0; i < r->n_filter_files; i++) {
		json_doc *d = read_json(r, files[i]);
		json_value *v = json_root(d), *by = json_get(v, "dropped_by_reason");
		r->docs_in += json_get_num(v, "documents_in", 0);
		r->docs_out += json_get_num(v, "documents_out", 0);
		for (size_t k = 0; by && by->type == JSON_OBJECT && k < by->len; k++)
			add(r->drops, &r->n_drops, by->keys[k], by->items[k].number);
		json_value *dc = json_get(v, "decontamination");
		if (dc) {
			read_contam(r, files[i], dc);
			with = with ? with : files[i];
		} else {
			without = without ? without : files[i];
		}
		if (with && without)
			die("%s: %s has a \"decontamination\" and %s none: the files were filtered with "
			    "different rules (make filter again)", r->dir, with, without);
		json_free(d);
	}
	for (int i = 0; i < r->n_filter_files; i++)
		free(files[i]);
	for (int i = 0; i < r->n_contam; i++) {
		contam_task *t = &r->contam[i];
		if (t->files != r->n_contam_files)
			die("%s/clean: %s is in %d of the %d files' decontamination: the files were "
			    "filtered against different sets (make filter again)", r->dir, t->name, t->files,
			    r->n_contam_files);
		if (t->exact) {
			t->matched = 0;
			for (long k = 0; k < t->items; k++)
				t->matched += t->seen[k];
		} else if (t->matched > t->items - t->unchecked) {
			t->matched = t->items - t->unchecked;
		}
	}
}

/* Peak dense bf16 FLOP/s of the GPUs whose name the environment gives. */
static double known_peak(const char *env)
{
	static const struct { const char *name; double flops; } gpus[] = {
		{ "H200", 989e12 }, { "H100", 989e12 }, { "A100", 312e12 }, { "L40S", 362e12 },
	};
	const char *g = env ? strstr(env, "gpu: ") : NULL;
	if (!g)
		return 0;
	const char *end = strchr(g, '\n');
	for (size_t i = 0; i < sizeof gpus / sizeof *gpus; i++) {
		const char *at = strstr(g, gpus[i].name);
		if (at && (!end || at < end))
			return gpus[i].flops;
	}
	return 0;
}

void report_read(report *r, const char *dir, double peak_flops)
{
	memset(r, 0, sizeof *r);
	dir_expected(dir, "a run folder made by make run");
	r->dir = dir;
	r->train_val_loss = NAN;
	read_ppl(r);
	r->tasks_skipped = no_tasks_asked(r);
	if (!r->tasks_skipped)
		read_tasks(r);
	/* the train stage's command line, read once */
	char *train_path = in_dir(r, "settings/train");
	size_t n;
	char *train_cmd = read_file(train_path, &n);
	read_device(r, train_path, train_cmd);
	read_metrics(r);
	read_model(r, (int)train_option(train_cmd, "--seq", 1024));
	r->planned_steps = train_option(train_cmd, "--steps", 0);
	free(train_cmd);
	free(train_path);
	read_times(r);
	read_filter(r);
	if (exists(r, "repro/environment.txt")) {
		char *p = in_dir(r, "repro/environment.txt");
		r->environment = read_file(p, &n);
		free(p);
	}
	r->n_plots = list_files(r, "plots", ".svg", r->plots, REPORT_MAX);
	int gpu = !strcmp(r->device, "cuda");
	r->peak_flops = peak_flops > 0 ? peak_flops : gpu ? known_peak(r->environment) : 0;
	/* the FLOPs a GPU does in the steady steps over what it could do, as
	 * the benchmarks measure it */
	r->mfu = gpu && r->peak_flops > 0
			 ? r->steady_tokens_per_rank_s * r->flops_per_token / r->peak_flops
			 : NAN;
	r->gpu_hours = gpu ? r->rank_seconds / 3600 : 0;
}

void report_free(report *r)
{
	free(r->environment);
	for (int i = 0; i < r->n_plots; i++)
		free(r->plots[i]);
	for (int i = 0; i < r->n_contam; i++)
		free(r->contam[i].seen);
}
