/* progress.c - rates and estimated time left for progress lines. */
#include "progress.h"

#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void meter_start(meter *m, double total)
{
	m->start = now_seconds();
	m->total = total > 0 ? total : 0;
	m->eta[0] = 0;
}

double meter_rate(const meter *m, double done)
{
	double t = now_seconds() - m->start;
	return t > 0 ? done / t : 0;
}

void format_duration(char *s, size_t n, double sec)
{
	if (!(sec >= 0) || sec > 1e8)
		snprintf(s, n, "?");
	else if (sec >= 3600)
		snprintf(s, n, "%dh%02dm", (int)(sec / 3600), (int)(fmod(sec, 3600) / 60));
	else if (sec >= 60)
		snprintf(s, n, "%dm%02ds", (int)(sec / 60), (int)fmod(sec, 60));
	else
		snprintf(s, n, "%ds", (int)ceil(sec));
}

const char *meter_eta(meter *m, double done)
{
	double rate = meter_rate(m, done);
	if (m->total > 0 && done > 0 && rate > 0)
		format_duration(m->eta, sizeof m->eta, fmax(0, m->total - done) / rate);
	else
		snprintf(m->eta, sizeof m->eta, "?");
	return m->eta;
}

double files_size(char *const *paths, int n)
{
	double sum = 0;
	for (int i = 0; i < n; i++) {
		struct stat st;
		int bad = !paths[i] || !strcmp(paths[i], "-") ? fstat(STDIN_FILENO, &st) : stat(paths[i], &st);
		if (bad || !S_ISREG(st.st_mode))
			return 0;
		sum += (double)st.st_size;
	}
	return sum;
}
