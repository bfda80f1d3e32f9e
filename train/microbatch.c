/* microbatch.c - see microbatch.h. */
#include "microbatch.h"
#include "cli.h"

#include <string.h>

size_t microbatch_usable(size_t free_bytes)
{
	size_t margin = free_bytes / 100 * MICROBATCH_MARGIN_PERCENT + MICROBATCH_MARGIN_BYTES;
	return free_bytes > margin ? free_bytes - margin : 0;
}

static int largest_divisor(long seqs, int max)
{
	for (int b = max; b > 1; b--)
		if (seqs % b == 0)
			return b;
	return 1;
}

int microbatch_pick(const microbatch_request *r, microbatch_choice *out, char *err, size_t n)
{
	memset(out, 0, sizeof *out);
	if (r->gpu)
		out->usable = microbatch_usable(r->free_bytes);
	if (r->given) {
		out->B = r->given;
	} else if (!r->gpu) {
		out->B = largest_divisor(r->seqs, MICROBATCH_MAX_CPU);
		out->chosen = 1;
	} else {
		/* From the largest down, without assuming the estimate grows
		 * with B. */
		for (int b = MICROBATCH_MAX; b >= 1; b--)
			if (r->seqs % b == 0 && r->bytes(r->c, b, r->T, r->recompute, r->ranks) <= out->usable) {
				out->B = b;
				break;
			}
		if (!out->B) {
			double gib = 1073741824.0;
			return errf(err, n,
				    "no micro-batch fits the GPU: one sequence of %d tokens needs about "
				    "%.1f GiB, and of the %.1f GiB free %.1f GiB can be planned for (the "
				    "rest is a margin of %d%% + %.0f GiB); try %sa smaller --seq or a "
				    "smaller model",
				    r->T, (double)r->bytes(r->c, 1, r->T, r->recompute, r->ranks) / gib,
				    (double)r->free_bytes / gib, (double)out->usable / gib,
				    MICROBATCH_MARGIN_PERCENT, (double)MICROBATCH_MARGIN_BYTES / gib,
				    r->recompute ? "" : "--recompute, ");
		}
		out->chosen = 1;
	}
	out->accum = r->seqs / out->B;
	if (r->gpu)
		out->need = r->bytes(r->c, out->B, r->T, r->recompute, r->ranks);
	return 0;
}
