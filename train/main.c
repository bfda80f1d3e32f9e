/* main.c - bonsai-train: trains Gemma 3 models on token shards, checks the
 * model against transformers (verify) and exports checkpoints (export). */
#include "backend.h"
#include "cli.h"
#include "commands.h"
#include "xio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* given (--device), else BONSAI_DEVICE, else cuda when a GPU works. */
const char *pick_device(const char *given)
{
	const char *d = cli_device(given);
	return d ? d : cuda_backend_available() ? "cuda" : "cpu";
}

void xfwrite_stdout(const void *p, size_t n)
{
	xfwrite(p, n, stdout, "stdout");
	xfflush(stdout, "stdout");
}

int main(int argc, char **argv)
{
	cli_init("bonsai-train");
	if (argc > 1 && !strcmp(argv[1], "verify"))
		return cmd_verify(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "export"))
		return cmd_export(argc - 1, argv + 1);
	return cmd_train(argc, argv);
}
