/* bonsai-tokenize - BPE tokenizers: train one, encode documents into a
 * token stream, decode a token stream back into documents. */
#include "cli.h"
#include "tokenize_tool.h"
#include "tokenizer.h"

#include <getopt.h>
#include <inttypes.h>

#include <stdio.h>
#include <string.h>

static void usage(void)
{
	printf("usage: bonsai-tokenize train --vocab-size SIZE -o FILE [options] [FILE...]\n"
	       "       bonsai-tokenize encode -t TOKENIZER [options] [FILE...]\n"
	       "       bonsai-tokenize decode -t TOKENIZER [options] [FILE]\n"
	       "       bonsai-tokenize info [--pattern RE] TOKENIZER\n"
	       "\n"
	       "Documents are JSON Lines with a \"text\" member (zstd, gzip or bzip2 input\n"
	       "is read too); stdin by default. TOKENIZER is a Hugging Face tokenizer.json\n"
	       "with a BPE model (Gemma 3's included), a .tiktoken ranks file, or what\n"
	       "train writes.\n"
	       "\n"
	       "  train   learn a byte-level BPE tokenizer, written as tokenizer.json\n"
	       "  encode  documents to a token stream (or lines of ids with --ids)\n"
	       "  decode  a token stream (or lines of ids) back to documents\n"
	       "  info    the tokenizer's vocabulary size, BOS, EOS and fingerprint as JSON\n"
	       "\n"
	       "'bonsai-tokenize COMMAND --help' lists the options of each command.\n"
	       "  -h, --help     this help\n"
	       "  -V, --version  version\n");
}

static int cmd_info(int argc, char **argv)
{
	enum { OPT_PATTERN = 256 };
	static const struct option longopts[] = {
		{"pattern", required_argument, NULL, OPT_PATTERN},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *pattern = NULL;
	int c;
	while ((c = cli_getopt(argc, argv, "hV", longopts, "info")) != -1) {
		switch (c) {
		case OPT_PATTERN: pattern = optarg; break;
		case 'h': printf("usage: bonsai-tokenize info [--pattern RE] TOKENIZER\n"); return 0;
		case 'V': print_version(); return 0;
		}
	}
	if (optind == argc)
		die_usage("info: give a tokenizer file");
	if (optind + 1 != argc)
		die_usage("info: give one tokenizer");
	const char *path = argv[optind];
	char err[512];
	tokenizer *t = tokenizer_load(path, pattern, err, sizeof err);
	if (!t)
		die("%s", err);
	printf("{\"vocab_size\": %u, \"bos_id\": %d, \"eos_id\": %d, \"fingerprint\": \"%016" PRIx64 "\"}\n",
	       tokenizer_vocab_size(t), tokenizer_bos(t), tokenizer_eos(t), tokenizer_fingerprint(t));
	tokenizer_free(t);
	return 0;
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	if (argc < 2)
		die_usage("give a command: train, encode, decode or info");
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage();
		return 0;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		print_version();
		return 0;
	}
	if (strcmp(cmd, "encode") == 0)
		return cmd_encode(argc - 1, argv + 1);
	if (strcmp(cmd, "decode") == 0)
		return cmd_decode(argc - 1, argv + 1);
	if (strcmp(cmd, "info") == 0)
		return cmd_info(argc - 1, argv + 1);
	if (strcmp(cmd, "train") == 0)
		return cmd_train(argc - 1, argv + 1);
	if (cmd[0] == '-')
		die_usage("unknown option '%s'", cmd);
	die_usage("unknown command '%s' (train, encode, decode, info)", cmd);
}
