/* g3_random_model - a test tool: writes a randomly initialised Gemma 3 of
 * a preset (any vocabulary) as an exported model directory, config.json +
 * model.safetensors (float32, transformers' names), which bonsai-eval and
 * bonsai-generate read; for timings of models that are too big to keep.
 *   g3_random_model PRESET VOCAB DIR [SEED] */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "gemma3.h"

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	if (argc < 4 || argc > 5)
		die_usage("usage: g3_random_model PRESET VOCAB DIR [SEED]");
	int V = (int)parse_ll("VOCAB", argv[2], 1, 1 << 24);
	const char *dir = argv[3];
	uint64_t seed = argc > 4 ? (uint64_t)parse_ll("SEED", argv[4], 0, 1LL << 62) : 1;
	gemma3_config c;
	char err[512];
	if (gemma3_config_load(argv[1], V, &c, err, sizeof err))
		die("%s", err);
	size_t P = gemma3_num_params(&c);
	float *p = xmalloc(P * sizeof *p);
	gemma3_init_params(&c, p, 0.02f, seed);
	if (gemma3_save_dir(dir, &c, p, NULL, 0, err, sizeof err))
		die("%s", err);
	printf("%s: %s, vocabulary %d, %zu parameters\n", dir, argv[1], V, P);
	free(p);
	return 0;
}
