/* encode.c - bonsai-tokenize encode: JSON Lines documents in, a token
 * stream (or one line of ids per document) out. Documents are read in
 * batches; the threads parse and encode the documents of a batch, then the
 * batch is written in input order, so the output does not depend on -j. */
#include "cli.h"
#include "json.h"
#include "progress.h"
#include "tokenize_tool.h"
#include "tokenizer.h"
#include "tokenizer_maps.h"
#include "tokstream.h"
#include "xio.h"

#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
	printf("usage: bonsai-tokenize encode -t TOKENIZER [-o FILE] [-j N] [--ids]\n"
	       "                              [--no-bos] [--eos] [--field NAME]\n"
	       "                              [--pattern RE] [-q | --progress] [FILE...]\n"
	       "\n"
	       "Encodes JSON Lines documents (stdin by default; zstd, gzip or bzip2 input\n"
	       "too) into a token stream (bonsai-formats(5)) with BOS before each document.\n"
	       "\n"
	       "  -t, --tokenizer FILE  tokenizer.json or .tiktoken file\n"
	       "      --pattern RE      pre-tokenizer of a .tiktoken file that is not\n"
	       "                        r50k_base, cl100k_base or o200k_base: one of those\n"
	       "                        names or any regex (PCRE2; the three patterns\n"
	       "                        themselves are matched faster, by hand)\n"
	       "  -o, --output FILE     output (default stdout, not a terminal); written\n"
	       "                        under a temporary name and renamed when complete\n"
	       "  -f, --force           replace an existing -o FILE (else it is refused)\n"
	       "  -j, --threads N       encoding threads (default 1); the output is the same\n"
	       "      --ids             write one line of space-separated ids per document,\n"
	       "                        with no special tokens, instead of a token stream\n"
	       "      --no-bos          no BOS token before each document\n"
	       "      --eos             an EOS token after each document\n"
	       "      --field NAME      the member holding the text (default \"text\")\n"
	       "  -q, --quiet           no progress line\n"
	       "      --progress        progress line even when stderr is not a terminal\n"
	       "  -h, --help            this help\n"
	       "  -V, --version         version\n");
}

typedef struct {
	const char *name; /* input, for messages */
	long line_no;
	size_t off, len;  /* the line in the batch buffer */
	uint32_t *ids;    /* in the batch's id arena, or allocated when own */
	size_t n;
	int own;
	size_t text_bytes;
} doc;

/* A thread's ids while it encodes a document: reused from document to
 * document, so its pages are touched once. */
typedef struct {
	uint32_t *ids;
	size_t cap;
} scratch;

/* The ids of a batch's documents, one after another: a document's ids are
 * copied here once encoded. A region in huge pages instead of an array
 * allocated for each document: this machine's page faults (one for every
 * 4 KB first touched) were a sixth of the time of a small job. */
typedef struct {
	uint32_t *base;
	size_t cap, used; /* ids; used is advanced atomically by the threads */
} id_arena;

typedef struct {
	const tokenizer *t;
	const char *field;
	int bos, eos;     /* ids to add, -1: none */
	int ids_out;
	outfile *o;
	tokwriter *w;
	buf_t line_buf;
	uint64_t docs, tokens, bytes;
	double t0;
	clock_t c0;
	/* for the time left: input bytes read in earlier files, the current file */
	meter m;
	double in_before;
	const instream *in;
	scratch *scratch; /* one a thread */
	id_arena arena;
} encoder;

#define BATCH_DOCS 4096
/* A batch holds about this much text a thread (at most 16 MB): small
 * enough that the batches after the first reuse memory already touched
 * (fresh pages cost this machine as much as encoding the text in them),
 * large enough for the threads to share the documents of one. */
#define BATCH_BYTES_THREAD (1u << 20)
#define BATCH_BYTES_MAX (16u << 20)

/* tok_alloc_big's n bytes, or the end of the program. */
static void *big_or_die(size_t n)
{
	void *p = tok_alloc_big(n);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

static void encode_doc(encoder *E, const char *data, doc *d)
{
	char err[512];
	const char *line = data + d->off;
	json_doc *jd = json_parse(line, d->len, err, sizeof err);
	/* the first thread to find an error reports it and exits; the others
	 * wait at the critical section instead of reporting too */
	if (!jd) {
		#pragma omp critical(bad_document)
		die_at(d->name, d->line_no, "%s", err);
	}
	const json_value *root = json_root(jd);
	const json_value *v = root->type == JSON_OBJECT ? json_get(root, E->field) : NULL;
	if (!v || v->type != JSON_STRING) {
		#pragma omp critical(bad_document)
		die_at(d->name, d->line_no, "no \"%s\" string in the document", E->field);
	}
	scratch *sc = &E->scratch[omp_get_thread_num()];
	size_t n = 0;
	/* room for a token every three bytes (FineWeb has one every 4.4) at
	 * once: growing it as encoding went showed in the profile (realloc) */
	if (sc->cap < v->len / 3 + 16) {
		sc->cap = v->len / 3 + 16;
		sc->ids = xreallocarray(sc->ids, sc->cap, sizeof *sc->ids);
	}
	if (E->bos >= 0)
		sc->ids[n++] = (uint32_t)E->bos;
	if (tokenizer_encode(E->t, v->str, v->len, &sc->ids, &n, &sc->cap, err, sizeof err) < 0) {
		#pragma omp critical(bad_document)
		die_at(d->name, d->line_no, "%s", err);
	}
	if (E->eos >= 0) {
		if (n == sc->cap) {
			sc->cap = 2 * sc->cap;
			sc->ids = xreallocarray(sc->ids, sc->cap, sizeof *sc->ids);
		}
		sc->ids[n++] = (uint32_t)E->eos;
	}
	size_t at = __atomic_fetch_add(&E->arena.used, n, __ATOMIC_RELAXED);
	d->own = at + n > E->arena.cap || at + n < at;
	d->ids = d->own ? xmalloc((n ? n : 1) * sizeof *d->ids) : E->arena.base + at;
	memcpy(d->ids, sc->ids, n * sizeof *d->ids);
	d->n = n;
	d->text_bytes = v->len;
	json_free(jd);
}

/* Appends the decimal digits of v to p; returns the end. */
static char *put_u32(char *p, uint32_t v)
{
	char tmp[10];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static void write_ids(encoder *E, const doc *d)
{
	buf_t *b = &E->line_buf;
	b->len = 0;
	buf_reserve(b, d->n * 11 + 2);
	char *p = b->data;
	for (size_t i = 0; i < d->n; i++) {
		if (i)
			*p++ = ' ';
		p = put_u32(p, d->ids[i]);
	}
	*p++ = '\n';
	outfile_write(E->o, b->data, (size_t)(p - b->data));
}

static void flush_batch(encoder *E, const char *data, doc *docs, size_t nd)
{
	#pragma omp parallel for schedule(dynamic, 1)
	for (size_t i = 0; i < nd; i++)
		encode_doc(E, data, &docs[i]);
	char err[600];
	for (size_t i = 0; i < nd; i++) {
		if (E->ids_out)
			write_ids(E, &docs[i]);
		else if (tokwriter_doc(E->w, docs[i].ids, docs[i].n, err, sizeof err))
			die("%s", err);
		E->docs++;
		E->tokens += docs[i].n;
		E->bytes += docs[i].text_bytes;
		if (docs[i].own)
			free(docs[i].ids);
	}
	E->arena.used = 0;
	double dt = now_seconds() - E->t0;
	progress(0, "%llu documents, %llu tokens, %.1f MB of text, %.2f MB/s, ETA %s",
		 (unsigned long long)E->docs, (unsigned long long)E->tokens, E->bytes / 1e6,
		 dt > 0 ? E->bytes / 1e6 / dt : 0.0,
		 meter_eta(&E->m, E->in_before + (double)instream_file_bytes(E->in)));
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

int cmd_encode(int argc, char **argv)
{
	enum { OPT_PATTERN = 256, OPT_IDS, OPT_NO_BOS, OPT_EOS, OPT_FIELD, OPT_PROGRESS };
	static const struct option longopts[] = {
		{"tokenizer", required_argument, NULL, 't'},
		{"pattern", required_argument, NULL, OPT_PATTERN},
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"threads", required_argument, NULL, 'j'},
		{"ids", no_argument, NULL, OPT_IDS},
		{"no-bos", no_argument, NULL, OPT_NO_BOS},
		{"eos", no_argument, NULL, OPT_EOS},
		{"field", required_argument, NULL, OPT_FIELD},
		{"quiet", no_argument, NULL, 'q'},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *tpath = NULL, *pattern = NULL, *out = "-", *field = "text";
	int threads = 1, ids_out = 0, no_bos = 0, eos = 0, force = 0, c;
	while ((c = cli_getopt(argc, argv, "t:o:fj:qhV", longopts, "encode")) != -1) {
		switch (c) {
		case 't': tpath = optarg; break;
		case OPT_PATTERN: pattern = optarg; break;
		case 'o': out = optarg; break;
		case 'f': force = 1; break;
		case 'j': threads = (int)parse_ll("-j", optarg, 1, 1024); break;
		case OPT_IDS: ids_out = 1; break;
		case OPT_NO_BOS: no_bos = 1; break;
		case OPT_EOS: eos = 1; break;
		case OPT_FIELD: field = optarg; break;
		case 'q': progress_set(PROGRESS_OFF); break;
		case OPT_PROGRESS: progress_set(PROGRESS_ON); break;
		case 'h': usage(); return 0;
		case 'V': print_version(); return 0;
		}
	}
	if (!tpath)
		die_usage("encode: give the tokenizer with -t");
	if (ids_out && eos)
		die_usage("encode: --ids writes no special tokens; --eos does not apply");
	if (!ids_out && !strcmp(out, "-") && isatty(STDOUT_FILENO))
		die("encode: the output is a binary token stream: give -o FILE, a pipe, or --ids");
	output_check(out, force);
	inputs_check(argv + optind, argc - optind);

	encoder E = { .field = field, .ids_out = ids_out, .bos = -1, .eos = -1 };
	char err[512];
	tokenizer *t = tokenizer_load(tpath, pattern, err, sizeof err);
	if (!t)
		die("%s", err);
	E.t = t;
	if (!ids_out) {
		if (!no_bos) {
			E.bos = tokenizer_bos(t);
			if (E.bos < 0)
				die("%s has no BOS token: use --no-bos", tpath);
		}
		if (eos) {
			E.eos = tokenizer_eos(t);
			if (E.eos < 0)
				die("%s has no EOS token", tpath);
		}
	}
	omp_set_num_threads(threads);
	E.scratch = xcalloc((size_t)threads, sizeof *E.scratch);
	size_t batch_bytes = (size_t)threads * BATCH_BYTES_THREAD;
	if (batch_bytes > BATCH_BYTES_MAX)
		batch_bytes = BATCH_BYTES_MAX;
	/* room for a token every two bytes of a full batch (FineWeb has one
	 * every 4.4); a batch that needs more allocates the ids of the
	 * documents over */
	E.arena.cap = batch_bytes / 2;
	E.arena.base = big_or_die(E.arena.cap * sizeof *E.arena.base);
	/* Ctrl-C stops at the next chunk read, removing the temporary output
	 * (killed by the signal, the program would leave it behind) */
	cli_catch_signals();
	E.o = outfile_open(out);
	if (!ids_out) {
		tokstream_info info = { 0, tokenizer_vocab_size(t), E.bos, E.eos,
					tokenizer_fingerprint(t) };
		if (!(E.w = tokwriter_open(E.o->fp, E.o->path, &info, err, sizeof err)))
			die("%s", err);
	}
	E.t0 = now_seconds();
	E.c0 = clock();

	/* a batch's room at once (growing it copied all of it each time), in
	 * huge pages like the ids */
	buf_t data = { .data = big_or_die(batch_bytes + (1u << 16)), .cap = batch_bytes + (1u << 16) };
	doc *docs = xcalloc(BATCH_DOCS, sizeof *docs);
	size_t nd = 0;
	int nin = optind < argc ? argc - optind : 1;
	char *std_in[] = {"-"};
	meter_start(&E.m, files_size(optind < argc ? argv + optind : std_in, nin));
	for (int k = 0; k < nin; k++) {
		instream *in = instream_open(optind < argc ? argv[optind + k] : "-");
		E.in = in;
		char *line;
		size_t len;
		while (instream_getline(in, &line, &len)) {
			if (blank(line, len))
				continue; /* blank lines are not documents */
			doc *d = &docs[nd++];
			d->name = instream_name(in);
			d->line_no = instream_line_no(in);
			d->off = data.len;
			d->len = len;
			buf_append(&data, line, len);
			if (nd == BATCH_DOCS || data.len >= batch_bytes) {
				flush_batch(&E, data.data, docs, nd);
				nd = 0;
				data.len = 0;
			}
		}
		/* names stay valid until the batch is written */
		if (nd) {
			flush_batch(&E, data.data, docs, nd);
			nd = 0;
			data.len = 0;
		}
		E.in_before += (double)instream_file_bytes(in);
		instream_close(in);
	}
	if (E.w && tokwriter_close(E.w, err, sizeof err))
		die("%s", err);
	outfile_commit(E.o);
	double dt = now_seconds() - E.t0;
	double cpu = (double)(clock() - E.c0) / CLOCKS_PER_SEC;
	progress(1, "%llu documents, %llu tokens, %.1f MB of text in %.2f s (%.2f MB/s), "
		 "%.2f CPU s (%.2f MB/CPU s)",
		 (unsigned long long)E.docs, (unsigned long long)E.tokens, E.bytes / 1e6, dt,
		 dt > 0 ? E.bytes / 1e6 / dt : 0.0, cpu, cpu > 0 ? E.bytes / 1e6 / cpu : 0.0);
	progress_done();
	for (int i = 0; i < threads; i++)
		free(E.scratch[i].ids);
	free(E.scratch);
	free(E.arena.base);
	free(docs);
	buf_free(&data);
	buf_free(&E.line_buf);
	tokenizer_free(t);
	return 0;
}
