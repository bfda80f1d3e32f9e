/* axis.h - axis ranges with round ticks (1, 2 or 5 times a power of ten),
 * linear or logarithmic, and their labels. */
#ifndef BONSAI_PLOT_AXIS_H
#define BONSAI_PLOT_AXIS_H

#include <stddef.h>

enum { AXIS_MAX_TICKS = 32 };
enum { LABEL_PLAIN, LABEL_SI }; /* 0.5, 12 / 200k, 1.5M, 2B */

typedef struct {
	double lo, hi;   /* the axis bounds: both are ticks */
	int log;         /* positions by log10 */
	double step;     /* distance between linear ticks (for the labels' digits) */
	double ticks[AXIS_MAX_TICKS];
	int n_ticks;
} axis;

/* Bounds and ticks for data in [lo, hi] (lo <= hi), about `want` ticks.
 * zero: also include 0. log: a log10 axis; needs lo > 0. */
void axis_fit(axis *a, double lo, double hi, int want, int zero, int log);
/* Where v falls on the axis, 0 at lo and 1 at hi. */
double axis_frac(const axis *a, double v);
/* A tick's label: digits from the tick step, never more than they need. */
void axis_label(const axis *a, double v, int style, char *s, size_t n);

#endif
