/* export.c - bonsai-train export RUN|CHECKPOINT -o DIR: config.json and
 * model.safetensors with Hugging Face transformers' parameter names, the
 * form --init, bonsai-eval and transformers read. */
#include "cli.h"
#include "commands.h"
#include "gemma3.h"
#include "gemma3_checkpoint.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_export(int argc, char **argv)
{
	const char *out = NULL;
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' }, { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = cli_getopt(argc, argv, "o:hV", opts, "export")) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'h':
			printf("usage: bonsai-train export RUN|CHECKPOINT|MODEL -o DIR\n"
			       "Writes DIR/config.json and DIR/model.safetensors (float32, transformers names).\n"
			       "  -h, --help, -V, --version\n");
			return 0;
		case 'V': print_version(); return 0;
		}
	}
	if (optind + 1 != argc)
		die_usage("export: expected one run directory or checkpoint");
	if (!out)
		die_usage("export: -o DIR is required");
	char err[1024];
	gemma3_model *m = gemma3_model_open(argv[optind], err, sizeof err);
	if (!m)
		die("%s", err);
	const gemma3_config *c = gemma3_model_config(m);
	safetensors *f = gemma3_state_file(argv[optind]);
	gemma3_save_dir(out, c, gemma3_model_params(m), f ? st_meta(f, "state") : NULL);
	if (f)
		st_close(f);
	gemma3_model_free(m);
	return 0;
}
