/* progress.h - how fast and how long still, for the progress lines of
 * cli.h's progress(): a meter started when the work starts, asked for the
 * rate and the time left as the work goes on. */
#ifndef BONSAI_PROGRESS_H
#define BONSAI_PROGRESS_H

#include <stddef.h>

typedef struct {
	double start; /* now_seconds() at meter_start() */
	double total; /* the whole work in its unit (bytes, steps, items); 0 = unknown */
	char eta[32];
} meter;

void meter_start(meter *m, double total);
/* Units done per second since the start. */
double meter_rate(const meter *m, double done);
/* The time left at that rate, "42s", "3m07s" or "1h05m"; "?" when the
 * total is unknown or nothing is done yet. Valid until the next call. */
const char *meter_eta(meter *m, double done);
/* "42s", "3m07s", "1h05m"; "?" for a negative or absurd time. */
void format_duration(char *s, size_t n, double seconds);
/* The summed sizes of the named files (NULL or "-" is stdin), for a
 * meter's total in input bytes; 0 when one of them is not a regular file. */
double files_size(char *const *paths, int n);

#endif
