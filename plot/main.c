/* bonsai-plot - bonsai-train's metrics (JSON Lines) as an SVG figure:
 * training and validation loss, learning rate and throughput against the
 * tokens seen, for one run or several side by side. */
#include "cli.h"
#include "figure.h"
#include "metrics.h"
#include "xio.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void usage(void)
{
	printf("usage: bonsai-plot [-o FILE] [--what LIST] [--log] [--loss-range LO,HI] [--smooth N]\n"
	       "                   [--x tokens|steps] [-l NAME]... [--title TEXT] [--width PX]\n"
	       "                   [--watch SECONDS]\n"
	       "                   METRICS...\n"
	       "\n"
	       "Draws bonsai-train's metrics (its standard output, JSON Lines) as an SVG\n"
	       "figure: one panel per quantity, against the tokens seen, one colour per run.\n"
	       "A last line without its newline (a run still writing) is left out; any other\n"
	       "line that is not one of bonsai-train's is an error (bonsai-formats(5)).\n"
	       "\n"
	       "  -o, --output FILE   the SVG (default: standard output); written under a\n"
	       "                      temporary name and renamed when complete\n"
	       "  -f, --force         replace an existing FILE (else it is refused)\n"
	       "  -w, --what LIST     panels, comma-separated, top to bottom (default\n"
	       "                      loss,lr,tps): loss = training loss, each step and\n"
	       "                      smoothed, with the validation loss dashed; val =\n"
	       "                      validation loss alone; lr = learning rate; tps = tokens/s\n"
	       "      --log           log10 y axis for the loss panels\n"
	       "      --loss-range LO,HI\n"
	       "                      y range of the loss panels (default: the data's);\n"
	       "                      points outside it are cut off at the frame\n"	       "      --smooth N      span in steps of the exponential moving average drawn\n"
	       "                      over the training loss (default: the longest run's\n"
	       "                      steps / 25, from 1 to 100; 1 = no smoothed curve)\n"
	       "      --x WHAT        x axis: tokens (default) or steps\n"
	       "  -l, --label NAME    the name of the next run in the legend (once per\n"
	       "                      METRICS, in order; default: the run folder's name for\n"
	       "                      DIR/metrics.jsonl, RUN's for make run's\n"
	       "                      RUN/train/metrics.jsonl, else the file name)\n"
	       "      --title TEXT    a title above the figure\n"
	       "      --width PX      figure width in pixels (default 800)\n"
	       "      --watch SECONDS redraw FILE whenever an input changed, checking every\n"
	       "                      SECONDS, until interrupted; inputs that do not exist or\n"
	       "                      hold no step yet are waited for\n"
	       "  -h, --help          this help\n"
	       "  -V, --version       version\n"
	       "\n"
	       "Exit status: 0 done, 1 unreadable or malformed metrics (FILE:LINE) or no\n"
	       "points to plot, 2 usage error.\n");
}

typedef struct {
	char **paths, **labels;
	int n;
	const char *output;
	double watch;
	int smooth_given;
	figure_opts fig;
} options;

static void parse_what(const char *s, figure_opts *f)
{
	static const char *const names[PANEL_KINDS] = {"loss", "val", "lr", "tps"};
	f->n_panels = 0;
	char *copy = xstrdup(s), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k = 0;
		while (k < PANEL_KINDS && strcmp(t, names[k]))
			k++;
		if (k == PANEL_KINDS)
			die_usage("--what: '%s' is not one of loss, val, lr, tps", t);
		for (int i = 0; i < f->n_panels; i++)
			if (f->panels[i] == k)
				die_usage("--what: '%s' given twice", t);
		f->panels[f->n_panels++] = k;
	}
	free(copy);
	if (!f->n_panels)
		die_usage("--what: no panel named");
}

/* "LO,HI" for --loss-range. */
static void parse_range(const char *s, figure_opts *f)
{
	const char *comma = strchr(s, ',');
	if (!comma)
		die_usage("--loss-range: '%s' is not LO,HI", s);
	char *lo = xstrdup(s);
	lo[comma - s] = 0;
	f->loss_lo = parse_double("--loss-range", lo, -1e9, 1e9);
	f->loss_hi = parse_double("--loss-range", comma + 1, -1e9, 1e9);
	free(lo);
	if (!(f->loss_hi > f->loss_lo))
		die_usage("--loss-range: LO must be below HI");
}

static void parse_options(int argc, char **argv, options *o)
{
	enum { O_LOG = 256, O_SMOOTH, O_X, O_TITLE, O_WIDTH, O_WATCH, O_RANGE };
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"what", required_argument, NULL, 'w'},
		{"label", required_argument, NULL, 'l'},
		{"log", no_argument, NULL, O_LOG},
		{"loss-range", required_argument, NULL, O_RANGE},
		{"smooth", required_argument, NULL, O_SMOOTH},
		{"x", required_argument, NULL, O_X},
		{"title", required_argument, NULL, O_TITLE},
		{"width", required_argument, NULL, O_WIDTH},
		{"watch", required_argument, NULL, O_WATCH},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	o->labels = xcalloc((size_t)argc, sizeof *o->labels);
	int n_labels = 0, force = 0, c;
	o->fig = (figure_opts){.panels = {PANEL_LOSS, PANEL_LR, PANEL_TPS}, .n_panels = 3, .width = 800};
	o->output = "-";
	while ((c = cli_getopt(argc, argv, "o:fw:l:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->output = optarg; break;
		case 'f': force = 1; break;
		case 'w': parse_what(optarg, &o->fig); break;
		case 'l': o->labels[n_labels++] = optarg; break;
		case O_LOG: o->fig.log_loss = 1; break;
		case O_RANGE: parse_range(optarg, &o->fig); break;
		case O_SMOOTH:
			o->fig.smooth = parse_double("--smooth", optarg, 1, 1e9);
			o->smooth_given = 1;
			break;
		case O_X:
			if (strcmp(optarg, "tokens") && strcmp(optarg, "steps"))
				die_usage("--x: '%s' is not tokens or steps", optarg);
			o->fig.x_steps = strcmp(optarg, "steps") == 0;
			break;
		case O_TITLE: o->fig.title = optarg; break;
		case O_WIDTH: o->fig.width = (int)parse_ll("--width", optarg, 300, 10000); break;
		case O_WATCH: o->watch = parse_double("--watch", optarg, 0.1, 86400); break;
		case 'h': usage(); exit(EXIT_OK);
		case 'V': print_version(); exit(EXIT_OK);
		}
	}
	o->paths = argv + optind;
	o->n = argc - optind;
	if (o->fig.log_loss && o->fig.loss_hi > o->fig.loss_lo && !(o->fig.loss_lo > 0))
		die_usage("--loss-range: a log axis needs LO above 0");
	if (o->n < 1)
		die_usage("give one or more metrics files (bonsai-train's standard output)");
	if (n_labels > o->n)
		die_usage("%d labels for %d metrics files", n_labels, o->n);
	if (o->watch > 0 && !strcmp(o->output, "-"))
		die_usage("--watch rewrites a file: give -o FILE");
	for (int i = 0; o->watch > 0 && i < o->n; i++)
		if (!strcmp(o->paths[i], "-"))
			die_usage("--watch rereads files: standard input cannot be watched");
	output_check(o->output, force);
}

/* The folder dir, where "." and ".." lead when it ends in one (their name
 * says nothing of the run). */
static char *resolved(const char *dir)
{
	const char *slash = strrchr(dir, '/'), *leaf = slash ? slash + 1 : dir;
	char *real = strcmp(leaf, ".") && strcmp(leaf, "..") ? NULL : realpath(dir, NULL);
	char *p = xstrdup(real ? real : dir);
	free(real);
	return p;
}

/* The name of the run in folder dir: its last component, or its parent's
 * for make run's train/ (every such run's would be "train": the legend
 * would not tell them apart). */
static char *folder_name(const char *dir)
{
	char *p = resolved(dir), *slash = strrchr(p, '/');
	if (!strcmp(slash ? slash + 1 : p, "train")) {
		if (slash)
			*slash = 0;
		char *parent = resolved(!slash ? "." : slash == p ? "/" : p);
		free(p);
		p = parent;
		slash = strrchr(p, '/');
	}
	char *name = xstrdup(slash && slash[1] ? slash + 1 : p);
	free(p);
	return name;
}

/* DIR/metrics.jsonl is named after DIR (RUN/train/metrics.jsonl after
 * RUN); other files after themselves. */
static char *run_name(const char *path)
{
	if (!strcmp(path, "-"))
		return xstrdup("stdin");
	char *p = xstrdup(path);
	size_t n = 0;
	for (const char *q = path; *q; q++) /* a//b is a/b */
		if (*q != '/' || !n || p[n - 1] != '/')
			p[n++] = *q;
	p[n] = 0;
	while (n > 1 && p[n - 1] == '/')
		p[--n] = 0;
	char *base = strrchr(p, '/');
	if (!strcmp(base ? base + 1 : p, "metrics.jsonl")) {
		if (base)
			*base = 0;
		char *name = folder_name(!base ? "." : base == p ? "/" : p);
		free(p);
		return name;
	}
	char *name = xstrdup(base ? base + 1 : p);
	free(p);
	n = strlen(name);
	if (n > 6 && !strcmp(name + n - 6, ".jsonl"))
		name[n - 6] = 0;
	return name;
}

/* Reads every run; 0 when one has no point yet (named in why). Errors in
 * a file end the program. */
static int load_runs(const options *o, run_metrics *runs, char *why, size_t whylen)
{
	for (int i = 0; i < o->n; i++) {
		char err[512];
		metrics_free(&runs[i]);
		if (metrics_load(&runs[i], o->paths[i], err, sizeof err) < 0)
			die("%s", err);
		if (!runs[i].n_steps && !runs[i].n_vals) {
			snprintf(why, whylen, "%s: no step with a loss in it%s", o->paths[i],
				 runs[i].torn_tail ? " (only a line still being written)" : "");
			return 0;
		}
	}
	return 1;
}

static void render(const options *o, const run_metrics *runs)
{
	figure_opts f = o->fig;
	if (!o->smooth_given) {
		size_t longest = 0;
		for (int i = 0; i < o->n; i++)
			if (runs[i].n_steps > longest)
				longest = runs[i].n_steps;
		f.smooth = fmin(100, fmax(1, round((double)longest / 25)));
	}
	buf_t svg = {0};
	figure_svg(&svg, runs, (size_t)o->n, &f);
	outfile *out = outfile_open(o->output);
	outfile_write(out, svg.data, svg.len);
	outfile_commit(out);
	buf_free(&svg);
}

/* Size and modification time of every input: a change means a redraw. */
static int inputs_changed(const options *o, struct stat *last)
{
	int changed = 0;
	for (int i = 0; i < o->n; i++) {
		struct stat st;
		if (stat(o->paths[i], &st) < 0)
			memset(&st, 0, sizeof st);
		if (st.st_size != last[i].st_size || st.st_mtim.tv_sec != last[i].st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != last[i].st_mtim.tv_nsec || st.st_ino != last[i].st_ino)
			changed = 1;
		last[i] = st;
	}
	return changed;
}

static int watch(const options *o, run_metrics *runs)
{
	struct stat *last = xcalloc((size_t)o->n, sizeof *last);
	for (int i = 0; i < o->n; i++)
		last[i].st_size = -1;
	char waiting[600] = "";
	cli_poll_signals();
	while (!cli_interrupted()) {
		if (inputs_changed(o, last)) {
			char why[600] = "";
			int exist = 1;
			for (int i = 0; i < o->n && exist; i++)
				if (last[i].st_ino == 0) {
					snprintf(why, sizeof why, "%s: does not exist yet", o->paths[i]);
					exist = 0;
				}
			if (exist && load_runs(o, runs, why, sizeof why)) {
				render(o, runs);
				waiting[0] = 0;
			} else if (strcmp(why, waiting)) {
				warnx_("%s; waiting", why);
				snprintf(waiting, sizeof waiting, "%s", why);
			}
		}
		struct timespec ts = {(time_t)o->watch, (long)(fmod(o->watch, 1) * 1e9)};
		nanosleep(&ts, NULL); /* a signal cuts it short */
	}
	free(last);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	options o = {0};
	parse_options(argc, argv, &o);
	run_metrics *runs = xcalloc((size_t)o.n, sizeof *runs);
	for (int i = 0; i < o.n; i++) {
		runs[i].path = o.paths[i];
		runs[i].name = o.labels[i] ? xstrdup(o.labels[i]) : run_name(o.paths[i]);
	}
	int rc = EXIT_OK;
	if (o.watch > 0) {
		rc = watch(&o, runs);
	} else {
		char why[600];
		if (!load_runs(&o, runs, why, sizeof why))
			die("%s: nothing to plot", why);
		render(&o, runs);
	}
	for (int i = 0; i < o.n; i++) {
		metrics_free(&runs[i]);
		free(runs[i].name);
	}
	free(runs);
	free(o.labels);
	return rc;
}
