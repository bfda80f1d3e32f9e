/* axis.c - round ticks for plot axes. */
#include "axis.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The round step (1, 2 or 5 x 10^k) nearest above raw. */
static double nice_step(double raw)
{
	double mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static void linear_ticks(axis *a, double lo, double hi, int want)
{
	double step = nice_step((hi - lo) / want);
	while ((ceil(hi / step - 1e-9) - floor(lo / step + 1e-9)) + 1 > AXIS_MAX_TICKS)
		step = nice_step(step * 1.01);
	a->step = step;
	a->lo = floor(lo / step + 1e-9) * step;
	a->hi = ceil(hi / step - 1e-9) * step;
	a->n_ticks = 0;
	for (double k = floor(lo / step + 1e-9); k * step <= a->hi + step * 1e-6; k++)
		a->ticks[a->n_ticks++] = fabs(k) < 1e-12 ? 0 : k * step;
}

/* Over a decade or more: ticks at 1, 2, 5 x 10^k, or only at the powers of
 * ten when that would be too many. */
static void decade_ticks(axis *a, double lo, double hi)
{
	static const double m[] = {1, 2, 5};
	int k0 = (int)floor(log10(lo)), k1 = (int)ceil(log10(hi));
	int all = 3 * (k1 - k0) <= 12;
	double blo = pow(10, k0), bhi = pow(10, k1);
	for (int k = k0; k <= k1; k++)
		for (int i = 0; i < 3; i++) {
			double v = m[i] * pow(10, k);
			if (v <= lo * (1 + 1e-9))
				blo = v;
			if (v >= hi * (1 - 1e-9) && v < bhi)
				bhi = v;
		}
	a->lo = blo;
	a->hi = bhi;
	a->step = 0;
	a->n_ticks = 0;
	for (int k = k0; k <= k1 && a->n_ticks < AXIS_MAX_TICKS; k++)
		for (int i = 0; i < (all ? 3 : 1); i++) {
			double v = m[i] * pow(10, k);
			if (v >= blo * (1 - 1e-9) && v <= bhi * (1 + 1e-9) && a->n_ticks < AXIS_MAX_TICKS)
				a->ticks[a->n_ticks++] = v;
		}
}

void axis_fit(axis *a, double lo, double hi, int want, int zero, int log)
{
	memset(a, 0, sizeof *a);
	a->log = log;
	if (zero && !log) {
		if (lo > 0)
			lo = 0;
		if (hi < 0)
			hi = 0;
	}
	if (!(hi > lo)) {
		double d = lo != 0 ? fabs(lo) * 0.1 : 1;
		lo = log ? lo / 2 : lo - d;
		hi = log ? hi * 2 : hi + d;
	}
	if (!log) {
		linear_ticks(a, lo, hi, want);
		return;
	}
	if (hi / lo < 10) {
		/* under a decade: evenly spaced round values, placed by their log */
		linear_ticks(a, lo, hi, want);
		if (a->lo > 0)
			return;
	}
	decade_ticks(a, lo, hi);
}

double axis_frac(const axis *a, double v)
{
	if (a->log)
		return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
	return (v - a->lo) / (a->hi - a->lo);
}

/* Decimals that show a multiple of step exactly. */
static int decimals_for(double step)
{
	int d = 0;
	while (d < 12 && fabs(step * pow(10, d) - round(step * pow(10, d))) > 1e-6 * step * pow(10, d))
		d++;
	return d;
}

void axis_label(const axis *a, double v, int style, char *s, size_t n)
{
	if (v == 0) {
		snprintf(s, n, "0");
		return;
	}
	double step = a->step > 0 ? a->step : v; /* log ticks: each value alone */
	if (style == LABEL_SI) {
		static const char *const suf[] = {"", "k", "M", "B", "T"};
		int i = 0;
		double big = fmax(fabs(a->lo), fabs(a->hi)), scale = 1;
		while (i < 4 && big / scale >= 1000)
			scale *= 1000, i++;
		if (a->step <= 0) /* each log tick on its own scale */
			for (scale = 1, i = 0; i < 4 && fabs(v) / scale >= 1000;)
				scale *= 1000, i++;
		snprintf(s, n, "%.*f%s", decimals_for(step / scale), v / scale, suf[i]);
		return;
	}
	double big = fmax(fabs(a->lo), fabs(a->hi));
	if (big >= 1e5 || big < 1e-2) {
		int e = (int)floor(log10(a->step > 0 ? big : fabs(v)));
		double scale = pow(10, e);
		snprintf(s, n, "%.*fe%d", decimals_for(step / scale), v / scale, e);
		return;
	}
	snprintf(s, n, "%.*f", decimals_for(step), v);
}
