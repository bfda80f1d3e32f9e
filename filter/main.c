/* bonsai-filter - documents in, documents out: rules on the fields of each
 * JSON Lines document, text hygiene (UTF-8 repair, control characters,
 * NFC), exact and near duplicate removal. Every line that is kept comes out
 * as it came in, except for its "text" value when the hygiene changed it. */
#include "buf.h"
#include "cli.h"
#include "dedup.h"
#include "doc.h"
#include "json.h"
#include "minhash.h"
#include "progress.h"
#include "stats.h"
#include "xio.h"

#include <getopt.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* A batch of lines examined in parallel with -j: at most this many lines
 * or bytes (a longer line makes a batch of its own). */
#define BATCH_LINES 4096
#define BATCH_BYTES (32u << 20)

typedef struct {
	options opt;
	filter_stats st;
	outfile *out;
	outfile *stats_out;    /* --stats */
	hashset seen;
	minhash *mh;
	decontam *dc;          /* --decontaminate */
	int bad_warned;
	doc_scratch *scratch;  /* one per thread */
	doc_result *res;       /* one per line of a batch */
	buf_t batch;           /* the lines of a batch, one after the other */
	size_t *off, *len;
	long *line_no;
	size_t nbatch;
	/* for the time left: input bytes read in earlier files, the current file */
	meter m;
	double in_before;
	const instream *in;
} filter;

static void usage(void)
{
	printf("usage: %s [options] [FILE...]\n"
"Reads JSON Lines documents (from FILEs or stdin; zstd, gzip or bzip2 input is\n"
"recognized), applies the rules and the text hygiene, and writes the documents\n"
"that pass, otherwise unchanged, to stdout.\n"
"\n"
"Rules (a document must pass all of them):\n"
"  --min-int-score N       keep if \"int_score\" >= N\n"
"  --min-score X           keep if \"score\" >= X\n"
"  --min-language-score X  keep if \"language_score\" >= X\n"
"  --lang L[,L...]         keep if \"language\" is one of the L\n"
"  --min-chars N           keep if the cleaned text has >= N code points\n"
"  --max-chars N           keep if the cleaned text has <= N code points\n"
"  --keep-missing          a rule on a field the document lacks (or that is not\n"
"                          a number / string) passes; by default the document is\n"
"                          dropped as \"missing-field\"\n"
"  --dedup                 drop exact duplicates of the cleaned text (XXH64)\n"
"  --near-dedup            drop near duplicates (MinHash LSH: word 5-grams,\n"
"                          112 hashes, 14 bands x 8)\n"
"  --decontaminate SETS    drop documents that share a word n-gram with an item\n"
"                          of the eval sets: SETS is a folder like bonsai-eval's\n"
"                          (its piqa, hellaswag, arc_easy, arc_challenge) or\n"
"                          bonsai-eval's task list (NAME, NAME=PATH, FILE.jsonl)\n"
"  --ngram N               words in an n-gram (default 13)\n"
"  --ngram-max-items K     leave out n-grams found in more than K items\n"
"                          (default 10)\n"
"  --decontaminate-cut     cut the matching words out instead (a document left\n"
"                          without words is dropped)\n"
"\n"
"Text hygiene (always on, except as below):\n"
"  --invalid-utf8=repair|drop  replace each maximal invalid UTF-8 sequence by\n"
"                          U+FFFD (default), or drop the document\n"
"  --no-nfc                do not normalize to Unicode NFC\n"
"  Control characters (C0, DEL, C1) other than TAB, LF and CR are removed.\n"
"\n"
"Other options:\n"
"  -o, --output FILE       write to FILE (appears only when complete)\n"
"  --stats FILE            write the counts as JSON to FILE\n"
"  -f, --force             replace an existing -o or --stats FILE (else it is\n"
"                          refused)\n"
"  --skip-bad              skip lines that are not JSON objects with a string\n"
"                          \"text\" (counted) instead of stopping with an error\n"
"  -j, --jobs N            examine documents on N threads (default 1); the\n"
"                          output is the same whatever N is\n"
"  --progress              show progress on stderr even when not a terminal\n"
"  -q, --quiet             no progress and no summary on stderr\n"
"  -h, --help              show this help\n"
"  -V, --version           show the version\n", cli_progname());
}

enum {
	OPT_MIN_INT_SCORE = 256, OPT_MIN_SCORE, OPT_MIN_LANGUAGE_SCORE, OPT_LANG,
	OPT_MIN_CHARS, OPT_MAX_CHARS, OPT_KEEP_MISSING, OPT_INVALID_UTF8, OPT_NO_NFC,
	OPT_DEDUP, OPT_NEAR_DEDUP, OPT_STATS, OPT_SKIP_BAD, OPT_PROGRESS,
	OPT_DECONTAMINATE, OPT_NGRAM, OPT_NGRAM_MAX_ITEMS, OPT_DECONTAMINATE_CUT,
};

static void parse_langs(options *o, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		o->langs = xreallocarray(o->langs, o->nlangs + 1, sizeof *o->langs);
		o->langs[o->nlangs++] = xstrdup(t);
	}
	free(copy);
	if (!o->nlangs)
		die_usage("--lang: no language given");
}

static int parse_args(int argc, char **argv, options *o)
{
	static const struct option longopts[] = {
		{"min-int-score", required_argument, NULL, OPT_MIN_INT_SCORE},
		{"min-score", required_argument, NULL, OPT_MIN_SCORE},
		{"min-language-score", required_argument, NULL, OPT_MIN_LANGUAGE_SCORE},
		{"lang", required_argument, NULL, OPT_LANG},
		{"min-chars", required_argument, NULL, OPT_MIN_CHARS},
		{"max-chars", required_argument, NULL, OPT_MAX_CHARS},
		{"keep-missing", no_argument, NULL, OPT_KEEP_MISSING},
		{"invalid-utf8", required_argument, NULL, OPT_INVALID_UTF8},
		{"no-nfc", no_argument, NULL, OPT_NO_NFC},
		{"dedup", no_argument, NULL, OPT_DEDUP},
		{"near-dedup", no_argument, NULL, OPT_NEAR_DEDUP},
		{"decontaminate", required_argument, NULL, OPT_DECONTAMINATE},
		{"ngram", required_argument, NULL, OPT_NGRAM},
		{"ngram-max-items", required_argument, NULL, OPT_NGRAM_MAX_ITEMS},
		{"decontaminate-cut", no_argument, NULL, OPT_DECONTAMINATE_CUT},
		{"stats", required_argument, NULL, OPT_STATS},
		{"skip-bad", no_argument, NULL, OPT_SKIP_BAD},
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"jobs", required_argument, NULL, 'j'},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	o->min_chars = o->max_chars = -1;
	o->nfc = 1;
	o->jobs = 1;
	o->ngram = 13;
	o->ngram_max_items = DC_MAX_ITEMS;
	int decontam_opts = 0, force = 0;
	int c;
	while ((c = cli_getopt(argc, argv, "o:fj:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MIN_INT_SCORE:
			o->use_int_score = 1;
			o->min_int_score = parse_double("--min-int-score", optarg, -1e300, 1e300);
			break;
		case OPT_MIN_SCORE:
			o->use_score = 1;
			o->min_score = parse_double("--min-score", optarg, -1e300, 1e300);
			break;
		case OPT_MIN_LANGUAGE_SCORE:
			o->use_language_score = 1;
			o->min_language_score = parse_double("--min-language-score", optarg, -1e300, 1e300);
			break;
		case OPT_LANG: parse_langs(o, optarg); break;
		case OPT_MIN_CHARS: o->min_chars = parse_ll("--min-chars", optarg, 0, (1LL << 62)); break;
		case OPT_MAX_CHARS: o->max_chars = parse_ll("--max-chars", optarg, 0, (1LL << 62)); break;
		case OPT_KEEP_MISSING: o->keep_missing = 1; break;
		case OPT_INVALID_UTF8:
			if (strcmp(optarg, "repair") == 0)
				o->drop_invalid = 0;
			else if (strcmp(optarg, "drop") == 0)
				o->drop_invalid = 1;
			else
				die_usage("--invalid-utf8: '%s' is neither 'repair' nor 'drop'", optarg);
			break;
		case OPT_NO_NFC: o->nfc = 0; break;
		case OPT_DEDUP: o->dedup = 1; break;
		case OPT_NEAR_DEDUP: o->near_dedup = 1; break;
		case OPT_DECONTAMINATE: o->decontaminate = optarg; break;
		case OPT_NGRAM: o->ngram = (int)parse_ll("--ngram", optarg, 3, DC_MAX_N); decontam_opts = 1; break;
		case OPT_NGRAM_MAX_ITEMS:
			o->ngram_max_items = (int)parse_ll("--ngram-max-items", optarg, 1, 1 << 30);
			decontam_opts = 1;
			break;
		case OPT_DECONTAMINATE_CUT: o->decontam_cut = 1; decontam_opts = 1; break;
		case OPT_STATS: o->stats_path = optarg; break;
		case OPT_SKIP_BAD: o->skip_bad = 1; break;
		case 'o': o->output = optarg; break;
		case 'f': force = 1; break;
		case 'j': o->jobs = (int)parse_ll("--jobs", optarg, 1, 1024); break;
		case OPT_PROGRESS: progress_set(PROGRESS_ON); break;
		case 'q': o->quiet = 1; progress_set(PROGRESS_OFF); break;
		case 'h': usage(); exit(EXIT_OK);
		case 'V': print_version(); exit(EXIT_OK);
		}
	}
	if (decontam_opts && !o->decontaminate)
		die_usage("--ngram, --ngram-max-items and --decontaminate-cut go with --decontaminate");
	if (o->min_chars >= 0 && o->max_chars >= 0 && o->min_chars > o->max_chars)
		die_usage("--min-chars %lld is above --max-chars %lld", o->min_chars, o->max_chars);
	output_check(o->output, force);
	output_check(o->stats_path, force);
	outputs_distinct("-o", o->output, "--stats", o->stats_path);
	return optind;
}

static void bad_line(filter *f, const char *name, long line_no, const char *what)
{
	if (!f->opt.skip_bad)
		die_at(name, line_no, "%s", what);
	f->st.bad_lines++;
	if (!f->opt.quiet && f->bad_warned < 10) {
		warnx_("%s:%ld: %s (skipped)", name, line_no, what);
		if (++f->bad_warned == 10)
			warnx_("further bad lines are skipped without a message");
	}
}

/* The decisions that depend on earlier documents, and the output, in input
 * order. */
static void commit(filter *f, const char *line, size_t len, const char *name, long line_no,
	const doc_result *r)
{
	f->st.bytes_in += len + 1;
	if (r->n_items)
		decontam_mark(f->dc, r->items, r->n_items);
	switch (r->status) {
	case DOC_BLANK:
		f->st.blank_lines++;
		return;
	case DOC_BAD:
		bad_line(f, name, line_no, r->err);
		return;
	case DOC_DROP:
		f->st.docs_in++;
		f->st.dropped[r->why]++;
		return;
	}
	f->st.docs_in++;
	if (f->opt.dedup && !hashset_add(&f->seen, r->hash)) {
		f->st.dropped[DROP_DUPLICATE]++;
		return;
	}
	if (f->opt.near_dedup && r->has_bands && minhash_seen_bands(f->mh, r->band)) {
		f->st.dropped[DROP_NEAR_DUPLICATE]++;
		return;
	}
	f->st.docs_out++;
	f->st.utf8_repaired += (uint64_t)r->repaired;
	f->st.controls_removed += (uint64_t)r->controls;
	f->st.nfc_changed += (uint64_t)r->nfc_changed;
	f->st.decontam_cut += (uint64_t)r->cut;
	if (r->rewritten) {
		outfile_write(f->out, r->out.data, r->out.len);
		f->st.bytes_out += r->out.len;
	} else {
		/* a file's byte order mark is not the document's */
		size_t bom = json_bom_len(line, len);
		line += bom, len -= bom;
		outfile_write(f->out, line, len);
		outfile_write(f->out, "\n", 1);
		f->st.bytes_out += len + 1;
	}
}

static void show_progress(filter *f, const char *name, double t0)
{
	progress(0, "%s: %llu documents, %.1f MB, %llu kept, %.0f docs/s, %.1f MB/s, ETA %s", name,
		(unsigned long long)f->st.docs_in, f->st.bytes_in / 1e6,
		(unsigned long long)f->st.docs_out, (double)f->st.docs_in / (now_seconds() - t0 + 1e-9),
		f->st.bytes_in / 1e6 / (now_seconds() - t0 + 1e-9),
		meter_eta(&f->m, f->in_before + (double)instream_file_bytes(f->in)));
}

/* Examines the batch on f->opt.jobs threads, then commits it in order. */
static void run_batch(filter *f, const char *name, double t0)
{
	long n = (long)f->nbatch;
	#pragma omp parallel for schedule(dynamic, 8) num_threads(f->opt.jobs)
	for (long i = 0; i < n; i++)
		doc_examine(&f->opt, f->mh, &f->scratch[omp_get_thread_num()],
			f->batch.data + f->off[i], f->len[i], &f->res[i]);
	for (long i = 0; i < n; i++)
		commit(f, f->batch.data + f->off[i], f->len[i], name, f->line_no[i], &f->res[i]);
	f->nbatch = 0;
	f->batch.len = 0;
	if (f->batch.cap > 2 * BATCH_BYTES)
		buf_free(&f->batch); /* after a huge line */
	if (progress_enabled())
		show_progress(f, name, t0);
}

static void run_file(filter *f, const char *path, double t0)
{
	instream *in = instream_open(path);
	const char *name = instream_name(in);
	f->in = in;
	char *line;
	size_t len;
	int show = progress_enabled();
	while (instream_getline(in, &line, &len)) {
		if (f->opt.jobs == 1) { /* no copy into a batch */
			doc_examine(&f->opt, f->mh, &f->scratch[0], line, len, &f->res[0]);
			commit(f, line, len, name, instream_line_no(in), &f->res[0]);
			if (show)
				show_progress(f, name, t0);
			continue;
		}
		size_t k = f->nbatch++;
		f->off[k] = f->batch.len;
		f->len[k] = len;
		f->line_no[k] = instream_line_no(in);
		buf_append(&f->batch, line, len);
		if (f->nbatch == BATCH_LINES || f->batch.len >= BATCH_BYTES)
			run_batch(f, name, t0);
	}
	if (f->nbatch)
		run_batch(f, name, t0);
	f->in_before += (double)instream_file_bytes(in);
	instream_close(in);
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	filter f;
	memset(&f, 0, sizeof f);
	int first = parse_args(argc, argv, &f.opt);
	inputs_check(argv + first, argc - first);
	double t0 = now_seconds();
	if (f.opt.dedup)
		hashset_init(&f.seen, 0);
	if (f.opt.near_dedup) {
		f.mh = xmalloc(sizeof *f.mh);
		minhash_init(f.mh);
	}
	if (f.opt.decontaminate) {
		f.dc = xmalloc(sizeof *f.dc);
		decontam_load(f.dc, f.opt.decontaminate, f.opt.ngram, f.opt.ngram_max_items, f.opt.quiet);
		f.opt.dc = f.st.dc = f.dc;
		f.st.decontam_cut_on = f.opt.decontam_cut;
	}
	size_t nres = f.opt.jobs == 1 ? 1 : BATCH_LINES;
	f.scratch = xcalloc((size_t)f.opt.jobs, sizeof *f.scratch);
	f.res = xcalloc(nres, sizeof *f.res);
	if (f.opt.jobs > 1) {
		f.off = xcalloc(BATCH_LINES, sizeof *f.off);
		f.len = xcalloc(BATCH_LINES, sizeof *f.len);
		f.line_no = xcalloc(BATCH_LINES, sizeof *f.line_no);
	}
	/* Ctrl-C stops at the next chunk read, removing the temporary output
	 * (killed by the signal, the program would leave it behind) */
	cli_catch_signals();
	f.out = outfile_open(f.opt.output);
	/* now, not after hours of work: a --stats that cannot be written
	 * fails before any document is read or written */
	if (f.opt.stats_path)
		f.stats_out = outfile_open(f.opt.stats_path);
	char *std_in[] = {"-"};
	meter_start(&f.m, first < argc ? files_size(argv + first, argc - first) : files_size(std_in, 1));
	if (first >= argc)
		run_file(&f, "-", t0);
	for (int i = first; i < argc; i++)
		run_file(&f, argv[i], t0);
	progress_done();
	outfile_commit(f.out);
	f.st.seconds = now_seconds() - t0;
	f.st.dedup_bytes = (f.opt.dedup ? hashset_bytes(&f.seen) : 0) +
		(f.mh ? minhash_bytes(f.mh) : 0);
	if (f.stats_out)
		stats_write_json(&f.st, f.stats_out);
	if (!f.opt.quiet)
		stats_print(&f.st, stderr);
	if (f.opt.dedup)
		hashset_free(&f.seen);
	if (f.mh) {
		minhash_free(f.mh);
		free(f.mh);
	}
	if (f.dc) {
		decontam_free(f.dc);
		free(f.dc);
	}
	for (int i = 0; i < f.opt.jobs; i++)
		doc_scratch_free(&f.scratch[i]);
	for (size_t i = 0; i < nres; i++)
		doc_result_free(&f.res[i]);
	free(f.scratch);
	free(f.res);
	free(f.off);
	free(f.len);
	free(f.line_no);
	buf_free(&f.batch);
	for (size_t i = 0; i < f.opt.nlangs; i++)
		free(f.opt.langs[i]);
	free(f.opt.langs);
	return EXIT_OK;
}
