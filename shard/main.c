/* bonsai-shard - token stream in, binary shards out; and the tools to
 * inspect, verify and read shards back. */
#include "cli.h"
#include "xio.h"
#include "shard_tool.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
	printf("usage: bonsai-shard -o DIR [--tokens-per-shard N] [--val-docs K | --val-fraction F]\n"
	       "                    [--zstd[=LEVEL]] [-t TOKENIZER] [--force] [-q | --progress]\n"
	       "                    [STREAM...]\n"
	       "       bonsai-shard info FILE...\n"
	       "       bonsai-shard verify DIR\n"
	       "       bonsai-shard cat DIR | FILE...\n"
	       "\n"
	       "Splits a token stream (from bonsai-tokenize encode; stdin by default) into\n"
	       "shards DIR/train_NNNNNN.bin and DIR/val_NNNNNN.bin and a DIR/manifest.\n"
	       "Several STREAMs, all from the same tokenizer, are read in order as one.\n"
	       "\n"
	       "  -o, --output DIR          directory to write (created if missing)\n"
	       "  -n, --tokens-per-shard N  tokens per shard (default 100000000; k, M, G\n"
	       "                            suffixes: 1024, 1024^2, 1024^3)\n"
	       "      --val-docs K          the first K documents form the validation split\n"
	       "      --val-fraction F      each document goes to validation with probability F,\n"
	       "                            decided by a fixed hash of its index (deterministic)\n"
	       "      --zstd[=LEVEL]        compress shards with zstd (default level 3)\n"
	       "  -t, --tokenizer FILE      the tokenizer the streams were made with (its\n"
	       "                            fingerprint checked): a copy is kept in DIR, for\n"
	       "                            bonsai-train to carry into its run directory\n"
	       "  -f, --force               replace the shards already in DIR\n"
	       "  -q, --quiet               no progress line\n"
	       "      --progress            progress line even when stderr is not a terminal\n"
	       "  -h, --help                this help\n"
	       "  -V, --version             version\n"
	       "\n"
	       "  info FILE...   each shard's header as one JSON line\n"
	       "  verify DIR     check the manifest and every shard's checksum and contents\n"
	       "  cat DIR|FILE.. the shards' tokens as a token stream on stdout\n"
	       "\n"
	       "'bonsai-shard COMMAND --help' shows the usage of each subcommand.\n");
}

/* The subcommands' usages: --help prints one on stdout, a bad option on
 * stderr. */
static void usage_info(FILE *f)
{
	fprintf(f, "usage: bonsai-shard info FILE...\n"
		   "\n"
		   "Prints each shard's header as one JSON line.\n"
		   "\n"
		   "  -h, --help     this help\n"
		   "  -V, --version  version\n");
}

static void usage_verify(FILE *f)
{
	fprintf(f, "usage: bonsai-shard verify DIR\n"
		   "\n"
		   "Checks DIR's manifest and every shard it lists (header, checksum, token\n"
		   "ids, document table, order) and that DIR holds no unlisted shard.\n"
		   "\n"
		   "  -h, --help     this help\n"
		   "  -V, --version  version\n");
}

static void usage_cat(FILE *f)
{
	fprintf(f, "usage: bonsai-shard cat DIR | FILE...\n"
		   "\n"
		   "Writes the shards' documents back as one token stream on stdout; a\n"
		   "directory stands for all its shards in manifest order.\n"
		   "\n"
		   "  -h, --help     this help\n"
		   "  -V, --version  version\n");
}

/* Options of a subcommand (--help and --version); returns the index of its
 * first operand in argv, argv[0] being the subcommand's name. */
static int sub_options(int argc, char **argv, void (*usage_fn)(FILE *))
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0; /* getopt would name the subcommand as the program */
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage_fn(stdout);
			exit(EXIT_OK);
		}
		if (c == 'V') {
			print_version();
			exit(EXIT_OK);
		}
		cli_bad_option(argv, "hV", longopts, argv[0]);
		usage_fn(stderr);
		exit(EXIT_USAGE);
	}
	return optind;
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	if (argc > 1 && strcmp(argv[1], "info") == 0) {
		int i = sub_options(argc - 1, argv + 1, usage_info) + 1;
		if (i >= argc)
			die_usage("info: give one or more shard files");
		return shard_info(argc - i, argv + i);
	}
	if (argc > 1 && strcmp(argv[1], "verify") == 0) {
		int i = sub_options(argc - 1, argv + 1, usage_verify) + 1;
		if (argc - i != 1)
			die_usage("verify: give one shard directory");
		return shard_verify(argv[i]);
	}
	if (argc > 1 && strcmp(argv[1], "cat") == 0) {
		int i = sub_options(argc - 1, argv + 1, usage_cat) + 1;
		if (i >= argc)
			die_usage("cat: give a shard directory or shard files");
		return shard_cat(argc - i, argv + i);
	}

	enum { OPT_VAL_DOCS = 256, OPT_VAL_FRACTION, OPT_ZSTD, OPT_PROGRESS };
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"tokens-per-shard", required_argument, NULL, 'n'},
		{"val-docs", required_argument, NULL, OPT_VAL_DOCS},
		{"val-fraction", required_argument, NULL, OPT_VAL_FRACTION},
		{"zstd", optional_argument, NULL, OPT_ZSTD},
		{"force", no_argument, NULL, 'f'},
		{"tokenizer", required_argument, NULL, 't'},
		{"quiet", no_argument, NULL, 'q'},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	shard_write_opts o = {.tokens_per_shard = 100000000};
	int have_val_docs = 0, have_val_fraction = 0, c;
	while ((c = cli_getopt(argc, argv, "o:n:t:fqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out_dir = optarg; break;
		case 'n': o.tokens_per_shard = (uint64_t)parse_size("--tokens-per-shard", optarg, 1, 1LL << 40); break;
		case OPT_VAL_DOCS:
			o.val_docs = (uint64_t)parse_ll("--val-docs", optarg, 0, 1LL << 62);
			have_val_docs = 1;
			break;
		case OPT_VAL_FRACTION:
			o.val_fraction = parse_double("--val-fraction", optarg, 0.0, 1.0);
			have_val_fraction = 1;
			break;
		case OPT_ZSTD:
			/* --zstd 5: the level taken as a stream, "5: cannot open" */
			if (!optarg && optind < argc && argv[optind][0] &&
			    strspn(argv[optind], "0123456789") == strlen(argv[optind]) &&
			    access(argv[optind], F_OK) != 0)
				die_usage("--zstd %s: give the level joined, --zstd=%s (alone, --zstd is "
					  "level 3)", argv[optind], argv[optind]);
			o.zstd_level = optarg ? (int)parse_ll("--zstd", optarg, 1, 19) : 3;
			break;
		case 'f': o.force = 1; break;
		case 't': o.tokenizer = optarg; break;
		case 'q': progress_set(PROGRESS_OFF); break;
		case OPT_PROGRESS: progress_set(PROGRESS_ON); break;
		case 'h': usage(); return 0;
		case 'V': print_version(); return 0;
		}
	}
	if (!o.out_dir)
		die_usage("no output directory: give -o DIR (or a subcommand: info, verify, cat)");
	if (!*o.out_dir) /* -o "$DIR" with DIR unset: found only by the last rename */
		die_usage("-o: an empty directory name");
	if (have_val_docs && have_val_fraction)
		die_usage("give --val-docs or --val-fraction, not both");
	/* a later input that cannot be read fails now, not after the ones
	 * before it are sharded */
	inputs_check(argv + optind, argc - optind);
	o.inputs = (const char *const *)argv + optind;
	o.n_inputs = argc - optind;
	return shard_write(&o);
}
