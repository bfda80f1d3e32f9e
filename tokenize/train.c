/* train.c - bonsai-tokenize train: counts the pre-tokenized words of the
 * documents (the cl100k_base pattern, in parallel with per-thread tables
 * merged at the end), learns byte-level BPE merges, writes tokenizer.json. */
#define _GNU_SOURCE /* memmem */
#include "cli.h"
#include "json.h"
#include "pretok.h"
#include "tokenize_tool.h"
#include "tokenizer_maps.h"
#include "train.h"
#include "xio.h"

#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
	printf("usage: bonsai-tokenize train --vocab-size SIZE -o FILE [-f]\n"
	       "                             [--special TOKEN]... [--min-frequency N]\n"
	       "                             [--field NAME] [-j N] [-v] [-q | --progress]\n"
	       "                             [FILE...]\n"
	       "\n"
	       "Learns a byte-level BPE tokenizer from JSON Lines documents (stdin by\n"
	       "default) and writes it as a Hugging Face tokenizer.json.\n"
	       "\n"
	       "      --vocab-size SIZE  tokens in all: special tokens, the 256 bytes and\n"
	       "                         the merges (k and M suffixes); -v is --verbose\n"
	       "  -o, --output FILE      the tokenizer.json to write (made before the\n"
	       "                         inputs are read: a missing folder is told at once)\n"
	       "  -f, --force            replace an existing FILE (else it is refused)\n"
	       "      --special TOKEN    a special token (repeatable; ids from 0 in order),\n"
	       "                         cut out of the text before counting, as encoding\n"
	       "                         does; default <pad> <eos> <bos>\n"
	       "      --min-frequency N  stop when no pair occurs N times (default 2)\n"
	       "      --field NAME       the member holding the text (default \"text\")\n"
	       "  -j, --threads N        threads for counting words (default 1)\n"
	       "  -v, --verbose          the counts and times of each phase on stderr\n"
	       "  -q, --quiet            no progress line\n"
	       "      --progress         progress line even when stderr is not a terminal\n"
	       "  -h, --help             this help\n"
	       "  -V, --version          version\n");
}

/* A word -> count table over its own word_counts storage. */
typedef struct {
	word_counts wc;
	uint64_t *hash;
	uint32_t *slot; /* word index + 1, 0: empty */
	size_t mask;
} counter;

static void counter_init(counter *c)
{
	memset(c, 0, sizeof *c);
	c->mask = (1u << 16) - 1;
	c->hash = xcalloc(c->mask + 1, sizeof *c->hash);
	c->slot = xcalloc(c->mask + 1, sizeof *c->slot);
	c->wc.cap = 1024;
	c->wc.off = xmalloc((c->wc.cap + 1) * sizeof *c->wc.off);
	c->wc.count = xmalloc(c->wc.cap * sizeof *c->wc.count);
	c->wc.off[0] = 0;
}

static void counter_free(counter *c)
{
	free(c->hash);
	free(c->slot);
	free(c->wc.off);
	free(c->wc.count);
	buf_free(&c->wc.bytes);
}

static void counter_grow(counter *c)
{
	size_t n = (c->mask + 1) * 2;
	uint64_t *h = xcalloc(n, sizeof *h);
	uint32_t *s = xcalloc(n, sizeof *s);
	for (size_t i = 0; i <= c->mask; i++) {
		if (!c->slot[i])
			continue;
		size_t j = c->hash[i] & (n - 1);
		while (s[j])
			j = (j + 1) & (n - 1);
		h[j] = c->hash[i];
		s[j] = c->slot[i];
	}
	free(c->hash);
	free(c->slot);
	c->hash = h;
	c->slot = s;
	c->mask = n - 1;
}

static void counter_add(counter *c, const char *w, size_t n, uint64_t times)
{
	uint64_t h = strmap_hash(w, n);
	size_t i = h & c->mask;
	word_counts *wc = &c->wc;
	for (; c->slot[i]; i = (i + 1) & c->mask) {
		uint32_t k = c->slot[i] - 1;
		if (c->hash[i] == h && wc->off[k + 1] - wc->off[k] == n &&
		    memcmp(wc->bytes.data + wc->off[k], w, n) == 0) {
			wc->count[k] += times;
			return;
		}
	}
	if (wc->n >= UINT32_MAX - 1)
		die("train: more than 4G distinct words");
	if (wc->n == wc->cap) {
		wc->cap *= 2;
		wc->off = xreallocarray(wc->off, wc->cap + 1, sizeof *wc->off);
		wc->count = xreallocarray(wc->count, wc->cap, sizeof *wc->count);
	}
	buf_append(&wc->bytes, w, n);
	wc->count[wc->n] = times;
	wc->off[wc->n + 1] = wc->bytes.len;
	c->hash[i] = h;
	c->slot[i] = (uint32_t)++wc->n;
	if (wc->n * 2 > c->mask)
		counter_grow(c);
}

typedef struct {
	const char *name;
	long line_no;
	size_t off, len;
} line_ref;

#define BATCH_LINES 4096
#define BATCH_BYTES (16u << 20)

/* What a document's words are counted from: its text member, with the
 * special tokens cut out. */
typedef struct {
	const char *field;
	char **specials;
	size_t n_special;
	size_t *len;  /* the specials' lengths */
	size_t *next; /* count_text's n_special places, for each thread */
} text_spec;

static void count_words(counter *c, const char *s, size_t n)
{
	for (size_t p = 0; p < n;) {
		size_t e = pretok_next(PRETOK_CL100K, (const unsigned char *)s, n, p);
		counter_add(c, s + p, e - p, 1);
		p = e;
	}
}

/* The words between the special tokens, which are cut out first (leftmost,
 * then longest), as encoding cuts them out of the text: their text would
 * otherwise teach merges that encoding never uses, or make a token of the
 * same text as a special one, which no tokenizer.json can hold.
 * next[i]: where special i occurs next at or after p (n: nowhere, SIZE_MAX:
 * not looked for yet). */
static void count_text(counter *c, const text_spec *ts, size_t *next, const char *s, size_t n)
{
	for (size_t i = 0; i < ts->n_special; i++)
		next[i] = SIZE_MAX;
	for (size_t p = 0; p < n;) {
		size_t at = n, len = 0;
		for (size_t i = 0; i < ts->n_special; i++) {
			size_t l = ts->len[i];
			if (next[i] == SIZE_MAX || next[i] < p) {
				const char *f = memmem(s + p, n - p, ts->specials[i], l);
				next[i] = f ? (size_t)(f - s) : n;
			}
			if (next[i] < at || (next[i] == at && at < n && l > len))
				at = next[i], len = l;
		}
		count_words(c, s + p, at - p);
		p = at + len;
	}
}

static void count_batch(counter *per_thread, const text_spec *ts, const char *data,
			const line_ref *lines, size_t n, uint64_t *bytes)
{
	uint64_t total = 0;
	#pragma omp parallel for schedule(dynamic, 4) reduction(+:total)
	for (size_t i = 0; i < n; i++) {
		counter *c = &per_thread[omp_get_thread_num()];
		char err[200];
		json_doc *jd = json_parse(data + lines[i].off, lines[i].len, err, sizeof err);
		if (!jd) {
			#pragma omp critical(bad_document)
			die_at(lines[i].name, lines[i].line_no, "%s", err);
		}
		const json_value *root = json_root(jd);
		const json_value *v = root->type == JSON_OBJECT ? json_get(root, ts->field) : NULL;
		if (!v || v->type != JSON_STRING) {
			#pragma omp critical(bad_document)
			die_at(lines[i].name, lines[i].line_no, "no \"%s\" string in the document",
			       ts->field);
		}
		count_text(c, ts, ts->next + (size_t)omp_get_thread_num() * ts->n_special, v->str,
			   v->len);
		total += v->len;
		json_free(jd);
	}
	*bytes += total;
}

/* "32000", "32k", "1M": what -v took when it was the vocabulary size. */
static int size_like(const char *s)
{
	size_t d = strspn(s, "0123456789");
	return d > 0 && (!s[d] || (strchr("kKmMgG", s[d]) && !s[d + 1]));
}

/* -v was the vocabulary size before it meant --verbose, as in every tool:
 * an old command line (-v 32000, -v32k, -qv 32000) stops with a pointer to
 * --vocab-size instead of training at another size or reading a file
 * named 32000 (one that exists is read). */
static void refuse_old_vocab_option(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '-')
			continue;
		for (const char *p = a + 1; *p; p++) {
			if (*p == 'o' || *p == 'j') {
				i += !p[1]; /* the option's argument is the next word */
				break;
			}
			if (*p != 'v')
				continue;
			const char *size = p[1] ? p + 1 : i + 1 < argc ? argv[i + 1] : "";
			if (size_like(size) && (p[1] || access(size, F_OK) != 0))
				die_usage("train: -v is --verbose; give the vocabulary size with --vocab-size %s",
					  size);
			if (p[1])
				break;
		}
	}
}

/* A special token spelt as one byte's vocab text (--special a, --special Ġ)
 * is that byte's token's text too: refused before the work, as the merges'
 * are after it (train_write_json). */
static void refuse_byte_specials(char **specials, size_t n_special)
{
	buf_t b = { 0 };
	for (size_t i = 0; i < n_special; i++)
		if (bytelevel_text_bytes(specials[i], &b) == 0 && b.len == 1)
			die_usage("--special %s: the vocab text of the byte 0x%02x, a token of its own; "
				  "give another special token", specials[i], (unsigned char)b.data[0]);
	buf_free(&b);
}

/* A phase's counts and time: the progress line's last state when progress
 * is shown, else with -v a line of its own. */
static void phase_done(int verbose, const char *line)
{
	if (progress_enabled()) {
		progress(1, "%s", line);
		progress_done();
	} else if (verbose) {
		warnx_("%s", line);
	}
}

int cmd_train(int argc, char **argv)
{
	enum { OPT_SPECIAL = 256, OPT_MINFREQ, OPT_FIELD, OPT_PROGRESS, OPT_VOCAB };
	static const struct option longopts[] = {
		{"vocab-size", required_argument, NULL, OPT_VOCAB},
		{"verbose", no_argument, NULL, 'v'},
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"special", required_argument, NULL, OPT_SPECIAL},
		{"min-frequency", required_argument, NULL, OPT_MINFREQ},
		{"field", required_argument, NULL, OPT_FIELD},
		{"threads", required_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *out = NULL, *field = "text";
	long long vocab = 0, minfreq = 2;
	int threads = 1, verbose = 0, force = 0, c;
	char **specials = NULL;
	size_t n_special = 0;
	refuse_old_vocab_option(argc, argv);
	while ((c = cli_getopt(argc, argv, "vo:fj:qhV", longopts, "train")) != -1) {
		switch (c) {
		case OPT_VOCAB: vocab = parse_size("--vocab-size", optarg, 1, 16777216); break;
		case 'v': verbose = 1; break;
		case 'o': out = optarg; break;
		case 'f': force = 1; break;
		case OPT_SPECIAL:
			if (!*optarg)
				die_usage("--special: empty token");
			specials = xreallocarray(specials, n_special + 1, sizeof *specials);
			specials[n_special++] = optarg;
			break;
		case OPT_MINFREQ: minfreq = parse_ll("--min-frequency", optarg, 1, INT64_MAX); break;
		case OPT_FIELD: field = optarg; break;
		case 'j': threads = (int)parse_ll("-j", optarg, 1, 1024); break;
		case 'q': progress_set(PROGRESS_OFF); break;
		case OPT_PROGRESS: progress_set(PROGRESS_ON); break;
		case 'h': usage(); free(specials); return 0;
		case 'V': print_version(); free(specials); return 0;
		}
	}
	if (!vocab)
		die_usage("train: give the vocabulary size with --vocab-size");
	if (!out)
		die_usage("train: give the output file with -o");
	output_check(out, force);
	inputs_check(argv + optind, argc - optind);
	static char *defaults[] = { "<pad>", "<eos>", "<bos>" };
	if (!specials) {
		n_special = 3;
		specials = xmalloc(sizeof defaults);
		memcpy(specials, defaults, sizeof defaults);
	}
	for (size_t i = 0; i < n_special; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(specials[i], specials[j]) == 0)
				die_usage("--special %s given twice", specials[i]);
	refuse_byte_specials(specials, n_special);
	if ((size_t)vocab < n_special + 256)
		die_usage("--vocab-size %lld: at least %zu (special tokens and the 256 bytes)", vocab,
			  n_special + 256);

	/* the output made before the work: a folder that is not there is told
	 * now, not after hours of counting and merging; Ctrl-C removes it */
	cli_catch_signals();
	outfile *of = outfile_open(out);
	text_spec ts = { field, specials, n_special, xcalloc(n_special, sizeof *ts.len),
			 xcalloc((size_t)threads * n_special, sizeof *ts.next) };
	for (size_t i = 0; i < n_special; i++)
		ts.len[i] = strlen(specials[i]);
	omp_set_num_threads(threads);
	counter *per = xcalloc((size_t)threads, sizeof *per);
	for (int i = 0; i < threads; i++)
		counter_init(&per[i]);
	double t0 = now_seconds();
	buf_t data = { 0 };
	line_ref *lines = xmalloc(BATCH_LINES * sizeof *lines);
	size_t nl = 0;
	uint64_t bytes = 0, docs = 0;
	int nin = optind < argc ? argc - optind : 1;
	for (int k = 0; k < nin; k++) {
		instream *in = instream_open(optind < argc ? argv[optind + k] : "-");
		char *line;
		size_t len;
		while (instream_getline(in, &line, &len)) {
			size_t b = 0;
			while (b < len && (line[b] == ' ' || line[b] == '\t' || line[b] == '\r'))
				b++;
			if (b == len)
				continue;
			lines[nl] = (line_ref){ instream_name(in), instream_line_no(in), data.len, len };
			buf_append(&data, line, len);
			docs++;
			if (++nl == BATCH_LINES || data.len >= BATCH_BYTES) {
				count_batch(per, &ts, data.data, lines, nl, &bytes);
				nl = 0;
				data.len = 0;
				progress(0, "train: %llu documents, %.1f MB", (unsigned long long)docs,
					 bytes / 1e6);
			}
		}
		if (nl)
			count_batch(per, &ts, data.data, lines, nl, &bytes);
		nl = 0;
		data.len = 0;
		instream_close(in);
	}
	free(lines);
	buf_free(&data);
	/* merge the per-thread tables into the first */
	for (int i = 1; i < threads; i++) {
		cli_check_interrupt();
		word_counts *wc = &per[i].wc;
		for (size_t w = 0; w < wc->n; w++)
			counter_add(&per[0], wc->bytes.data + wc->off[w], wc->off[w + 1] - wc->off[w],
				    wc->count[w]);
		counter_free(&per[i]);
	}
	double t1 = now_seconds();
	char line[256];
	snprintf(line, sizeof line, "train: %llu documents, %.1f MB, %zu distinct words in %.1f s",
		 (unsigned long long)docs, bytes / 1e6, per[0].wc.n, t1 - t0);
	phase_done(verbose, line);

	uint32_t *pairs;
	size_t want = (size_t)vocab - n_special - 256;
	size_t m = bpe_train(&per[0].wc, (uint32_t)n_special, want, (uint64_t)minfreq, &pairs);
	snprintf(line, sizeof line, "train: %zu merges in %.1f s", m, now_seconds() - t1);
	phase_done(verbose, line);
	if (m < want)
		warnx_("train: only %zu merges (vocabulary %zu): no pair occurs %lld times more",
		       m, n_special + 256 + m, minfreq);
	train_write_json(of, specials, n_special, pairs, m);
	if (verbose)
		warnx_("train: wrote %s: %zu tokens (%zu special, 256 bytes, %zu merges)", out,
		       n_special + 256 + m, n_special, m);
	free(pairs);
	counter_free(&per[0]);
	free(per);
	free(ts.len);
	free(ts.next);
	free(specials);
	return 0;
}
