/* main.c - bonsai-train: trains Gemma 3 models on token shards, checks the
 * model against transformers (verify) and exports checkpoints (export). */
#include "cli.h"
#include "commands.h"

#include <string.h>

int main(int argc, char **argv)
{
	cli_init("bonsai-train");
	if (argc > 1 && !strcmp(argv[1], "verify"))
		return cmd_verify(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "export"))
		return cmd_export(argc - 1, argv + 1);
	return cmd_train(argc, argv);
}
