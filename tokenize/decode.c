/* decode.c - bonsai-tokenize decode: a token stream (or lines of ids) back
 * to JSON Lines documents, or to raw text. A stream is checked against the
 * tokenizer's fingerprint first: ids from another tokenizer would decode to
 * plausible-looking garbage. */
#include "buf.h"
#include "cli.h"
#include "json.h"
#include "tokenize_tool.h"
#include "tokenizer.h"
#include "tokstream.h"
#include "xio.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
	printf("usage: bonsai-tokenize decode -t TOKENIZER [-o FILE] [--ids] [--raw]\n"
	       "                              [--keep-special] [--field NAME] [FILE]\n"
	       "\n"
	       "Decodes a token stream (stdin by default; zstd, gzip, bzip2 too) into JSON\n"
	       "Lines, one {\"text\": ...} per document. The stream must come from the same\n"
	       "tokenizer.\n"
	       "\n"
	       "  -t, --tokenizer FILE  tokenizer.json or .tiktoken file\n"
	       "      --pattern RE      as for encode\n"
	       "  -o, --output FILE     output (default stdout)\n"
	       "  -f, --force           replace an existing -o FILE (else it is refused)\n"
	       "      --ids             the input is lines of space-separated ids (what\n"
	       "                        encode --ids writes), one document per line\n"
	       "      --raw             write each document's text followed by a newline\n"
	       "                        instead of JSON Lines\n"
	       "      --keep-special    keep the BOS/EOS that encode added to each document\n"
	       "      --field NAME      the member to write the text to (default \"text\")\n"
	       "  -h, --help            this help\n"
	       "  -V, --version         version\n");
}

typedef struct {
	const tokenizer *t;
	outfile *o;
	int raw;
	const char *field;
	buf_t b;
} decoder;

static void emit(decoder *D, const uint32_t *ids, size_t n)
{
	size_t len;
	char err[512];
	char *text = tokenizer_decode(D->t, ids, n, &len, err, sizeof err);
	if (!text)
		die("%s", err);
	D->b.len = 0;
	if (D->raw) {
		buf_append(&D->b, text, len);
	} else {
		buf_putc(&D->b, '{');
		json_write_string(&D->b, D->field, strlen(D->field));
		buf_putc(&D->b, ':');
		json_write_string(&D->b, text, len);
		buf_putc(&D->b, '}');
	}
	buf_putc(&D->b, '\n');
	outfile_write(D->o, D->b.data, D->b.len);
	free(text);
}

static void decode_ids(decoder *D, const char *path)
{
	instream *in = instream_open(path);
	char *line;
	size_t len, cap = 0;
	uint32_t *ids = NULL;
	uint32_t vs = tokenizer_vocab_size(D->t);
	while (instream_getline(in, &line, &len)) {
		size_t n = 0;
		for (size_t i = 0; i < len;) {
			if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
				i++;
				continue;
			}
			uint64_t v = 0;
			size_t s = i;
			/* every digit read, the value held at UINT32_MAX + 1: an id of
			 * 20 digits is too large, not "not a list" */
			for (; i < len && line[i] >= '0' && line[i] <= '9'; i++)
				if ((v = v * 10 + (uint64_t)(line[i] - '0')) > UINT32_MAX)
					v = (uint64_t)UINT32_MAX + 1;
			if (i == s || (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r'))
				die_at(instream_name(in), instream_line_no(in), "not a list of token ids");
			if (v >= vs)
				die_at(instream_name(in), instream_line_no(in),
				       "token id %.*s%s is not below the vocabulary size %u",
				       (int)(i - s > 30 ? 30 : i - s), line + s, i - s > 30 ? "..." : "", vs);
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				ids = xreallocarray(ids, cap, sizeof *ids);
			}
			ids[n++] = (uint32_t)v;
		}
		emit(D, ids, n);
	}
	free(ids);
	instream_close(in);
}

static void decode_stream(decoder *D, const char *path, int keep_special)
{
	char err[600];
	tokreader *r = tokreader_open(path, err, sizeof err);
	if (!r || tokreader_expect(r, tokenizer_fingerprint(D->t), tokenizer_vocab_size(D->t), err,
					 sizeof err) < 0)
		die("%s", err);
	const tokstream_info *info = tokreader_info(r);
	const uint32_t *ids;
	size_t n;
	int more;
	while ((more = tokreader_next(r, &ids, &n, err, sizeof err)) > 0) {
		/* the header names the BOS/EOS that encode put around each document */
		if (!keep_special && info->bos_id >= 0 && n && ids[0] == (uint32_t)info->bos_id)
			ids++, n--;
		if (!keep_special && info->eos_id >= 0 && n && ids[n - 1] == (uint32_t)info->eos_id)
			n--;
		emit(D, ids, n);
	}
	if (more < 0)
		die("%s", err);
	tokreader_close(r);
}

int cmd_decode(int argc, char **argv)
{
	enum { OPT_PATTERN = 256, OPT_IDS, OPT_RAW, OPT_KEEP, OPT_FIELD };
	static const struct option longopts[] = {
		{"tokenizer", required_argument, NULL, 't'},
		{"pattern", required_argument, NULL, OPT_PATTERN},
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"ids", no_argument, NULL, OPT_IDS},
		{"raw", no_argument, NULL, OPT_RAW},
		{"keep-special", no_argument, NULL, OPT_KEEP},
		{"field", required_argument, NULL, OPT_FIELD},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *tpath = NULL, *pattern = NULL, *out = "-";
	int ids_in = 0, keep = 0, force = 0, c;
	decoder D = { .field = "text" };
	while ((c = cli_getopt(argc, argv, "t:o:fhV", longopts, "decode")) != -1) {
		switch (c) {
		case 't': tpath = optarg; break;
		case OPT_PATTERN: pattern = optarg; break;
		case 'o': out = optarg; break;
		case 'f': force = 1; break;
		case OPT_IDS: ids_in = 1; break;
		case OPT_RAW: D.raw = 1; break;
		case OPT_KEEP: keep = 1; break;
		case OPT_FIELD: D.field = optarg; break;
		case 'h': usage(); return 0;
		case 'V': print_version(); return 0;
		}
	}
	if (!tpath)
		die_usage("decode: give the tokenizer with -t");
	if (argc - optind > 1)
		die_usage("decode: give at most one input");
	output_check(out, force);
	const char *in = optind < argc ? argv[optind] : "-";
	char err[512];
	tokenizer *t = tokenizer_load(tpath, pattern, err, sizeof err);
	if (!t)
		die("%s", err);
	D.t = t;
	/* Ctrl-C stops at the next chunk read, removing the temporary output
	 * (killed by the signal, the program would leave it behind) */
	cli_catch_signals();
	D.o = outfile_open(out);
	if (ids_in)
		decode_ids(&D, in);
	else
		decode_stream(&D, in, keep);
	outfile_commit(D.o);
	buf_free(&D.b);
	tokenizer_free(t);
	return 0;
}
