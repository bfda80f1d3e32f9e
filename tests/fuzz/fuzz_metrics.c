/* fuzz_metrics.c - libFuzzer target for lib/metrics_log, the reader of
 * bonsai-train's metrics.jsonl that bonsai-report and bonsai-plot share:
 * every line is a record or an error naming the file and its line, never
 * a record with the numbers its kind promises missing; the steps a resume
 * leaves are in order, each once; the steady rate of whatever records
 * were read is a rate (not negative) or NAN.
 *   make fuzz && build/fuzz/fuzz_metrics -max_total_time=30 CORPUS_DIR */
#include "cli.h"
#include "metrics_log.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cli_init("fuzz_metrics");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	metrics_log log;
	metrics_log_init(&log, "m.jsonl", (const char *)data, size);
	metrics_record *v = NULL;
	size_t n = 0;
	char err[512];
	/* as the tools read it: a resume's replaced lines dropped */
	int rc = metrics_log_read_all(&log, &v, &n, err, sizeof err);
	if (rc < 0 && strncmp(err, "m.jsonl:", 8))
		abort(); /* an error names the file and line */
	long last = -1; /* the last step's number: the steps kept are in order */
	for (size_t i = 0; i < n; i++) {
		const metrics_record *r = &v[i];
		if (r->kind != METRICS_VAL) {
			if (r->step <= last)
				abort();
			last = r->step;
		}
		int whole = r->kind == METRICS_VAL ? isfinite(r->val_loss)
			    : r->kind == METRICS_STEP ? isfinite(r->tokens) && isfinite(r->loss)
						      : isfinite(r->tokens);
		if (!whole || r->step < 0 || r->ranks < 0)
			abort();
	}
	double tps, per_rank;
	if (metrics_steady_rates(v, n, &tps, &per_rank) == 0 && !isnan(tps) && !(tps >= 0))
		abort(); /* a rate, never negative */
	free(v);
	return 0;
}
