/* export.c - bonsai-train export RUN|CHECKPOINT -o DIR: config.json and
 * model.safetensors with Hugging Face transformers' parameter names, the
 * form --init, bonsai-eval and transformers read. */
#include "cli.h"
#include "commands.h"
#include "gemma3.h"
#include "xio.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cmd_export(int argc, char **argv)
{
	const char *out = NULL;
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'h':
			printf("usage: bonsai-train export RUN|CHECKPOINT|MODEL -o DIR\n"
			       "Writes DIR/config.json and DIR/model.safetensors (float32, transformers names).\n");
			return 0;
		default: die_usage("export: bad option");
		}
	}
	if (optind + 1 != argc)
		die_usage("export: expected one run directory or checkpoint");
	if (!out)
		die_usage("export: -o DIR is required");
	gemma3_model *m = gemma3_model_open(argv[optind]);
	const gemma3_config *c = gemma3_model_config(m);
	float *p = gemma3_model_params(m);
	if (mkdir(out, 0777) && errno != EEXIST)
		die("%s: %s", out, strerror(errno));
	gemma3_param_info *pt;
	int n = gemma3_param_table(c, &pt);
	st_out *t = xcalloc(n, sizeof *t);
	for (int i = 0; i < n; i++) {
		t[i].name = pt[i].name;
		t[i].dtype = ST_F32;
		t[i].ndim = pt[i].ndim;
		t[i].shape[0] = pt[i].shape[0];
		t[i].shape[1] = pt[i].shape[1];
		t[i].data = p + pt[i].offset;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/model.safetensors", out);
	const char *k[] = { "format" }, *v[] = { "pt" };
	st_write(path, t, n, k, v, 1);
	char *cfg = gemma3_config_to_json(c);
	snprintf(path, sizeof path, "%s/config.json", out);
	outfile *o = outfile_open(path);
	outfile_write(o, cfg, strlen(cfg));
	outfile_commit(o);
	free(cfg);
	free(t);
	free(pt);
	gemma3_model_free(m);
	return 0;
}
