/* backend.c - which backend a command runs on. */
#include "backend.h"
#include "cli.h"

const char *pick_device(const char *given)
{
	const char *d = cli_device(given);
	return d ? d : cuda_backend_available() ? "cuda" : "cpu";
}
