/* figure.h - training curves of one or more runs as an SVG 1.1 figure:
 * panels stacked over a shared x axis (tokens seen or steps). */
#ifndef BONSAI_PLOT_FIGURE_H
#define BONSAI_PLOT_FIGURE_H

#include "buf.h"
#include "metrics.h"

enum { PANEL_LOSS, PANEL_VAL, PANEL_LR, PANEL_TPS, PANEL_KINDS };

typedef struct {
	int panels[PANEL_KINDS]; /* in drawing order */
	int n_panels;
	int log_loss;     /* log10 y axis for the loss panels */
	int x_steps;      /* x is the step, not the tokens seen */
	double smooth;    /* EMA span in steps (1 = none) */
	double loss_lo, loss_hi; /* the loss panels' y range when loss_hi > loss_lo, else the data's */
	int width;        /* pixels */
	const char *title; /* NULL: none */
} figure_opts;

/* Appends the whole SVG document to out. Every run has at least one point. */
void figure_svg(buf_t *out, const run_metrics *runs, size_t n_runs, const figure_opts *o);

/* The training loss smoothed by an exponential moving average of span N
 * steps: s[0] = x[0], s[i] = s[i-1] + (x[i] - s[i-1]) * 2 / (N + 1). */
void ema_smooth(const step_point *p, size_t n, double span, double *out);

#endif
