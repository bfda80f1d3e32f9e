/* figure.c - the SVG: a legend, then one framed panel per quantity, all
 * over the same x axis so that a step lines up across panels. */
#include "figure.h"

#include "axis.h"
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Distinguishable colours (Tableau 10, as in matplotlib's default cycle). */
static const char *const palette[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
#define N_COLORS (sizeof palette / sizeof palette[0])

enum { MARGIN_L = 78, MARGIN_R = 24, PLOT_H = 170 };

typedef enum { S_RAW, S_SMOOTH, S_VAL, S_LR, S_TPS } series_kind;

typedef struct {
	double left, top, w, h;
	axis ax, ay;
} frame;

typedef struct {
	double *x, *y;
	size_t n;
} series;

static void xml_text(buf_t *b, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		default:
			/* XML 1.0 allows no other C0 control characters */
			buf_putc(b, (unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' ? '?' : *s);
		}
}

void ema_smooth(const step_point *p, size_t n, double span, double *out)
{
	double a = 2 / (fmax(span, 1) + 1), s = 0;
	for (size_t i = 0; i < n; i++) {
		s = i ? s + (p[i].loss - s) * a : p[i].loss;
		out[i] = s;
	}
}

static double xval(const figure_opts *o, double step, double tokens)
{
	return o->x_steps ? step : tokens;
}

/* The (x, y) values of one curve of one run; points a log axis cannot show
 * and missing values are left out. */
static series get_series(const run_metrics *r, series_kind k, const figure_opts *o, int log)
{
	size_t cap = (k == S_VAL ? r->n_vals : r->n_steps) + 1;
	series s = {xmalloc(cap * sizeof(double)), xmalloc(cap * sizeof(double)), 0};
	double *sm = NULL;
	if (k == S_SMOOTH) {
		sm = xmalloc(cap * sizeof *sm);
		ema_smooth(r->steps, r->n_steps, o->smooth, sm);
	}
	size_t n = k == S_VAL ? r->n_vals : r->n_steps;
	for (size_t i = 0; i < n; i++) {
		double x, y;
		if (k == S_VAL) {
			x = xval(o, r->vals[i].step, r->vals[i].tokens);
			y = r->vals[i].val_loss;
		} else {
			const step_point *p = &r->steps[i];
			x = xval(o, p->step, p->tokens);
			y = k == S_RAW ? p->loss : k == S_SMOOTH ? sm[i] : k == S_LR ? p->lr : p->tokens_per_s;
		}
		if (isnan(y) || (log && !(y > 0)))
			continue;
		s.x[s.n] = x;
		s.y[s.n] = y;
		s.n++;
	}
	free(sm);
	return s;
}

static void series_free(series *s)
{
	free(s->x);
	free(s->y);
}

static double fx(const frame *f, double v) { return f->left + axis_frac(&f->ax, v) * f->w; }
static double fy(const frame *f, double v) { return f->top + (1 - axis_frac(&f->ay, v)) * f->h; }

static void put_point(buf_t *b, const frame *f, const series *s, size_t i, int *first)
{
	buf_printf(b, "%s%.2f,%.2f", *first ? "" : " ", fx(f, s->x[i]), fy(f, s->y[i]));
	*first = 0;
}

/* A curve with more points than the panel has pixels keeps, per pixel
 * column, its first, lowest, highest and last point: the same picture,
 * a bounded file. */
static void polyline(buf_t *b, const frame *f, const series *s, const char *cls, const char *color,
		     double width, double opacity, const char *dash)
{
	if (!s->n)
		return;
	buf_printf(b, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"", cls,
		   color, width);
	if (opacity < 1)
		buf_printf(b, " stroke-opacity=\"%.2f\"", opacity);
	if (dash)
		buf_printf(b, " stroke-dasharray=\"%s\"", dash);
	buf_puts(b, " stroke-linejoin=\"round\" points=\"");
	int first = 1;
	if (s->n <= 4 * (size_t)f->w) {
		for (size_t i = 0; i < s->n; i++)
			put_point(b, f, s, i, &first);
	} else {
		size_t i = 0;
		while (i < s->n) {
			long col = lround(fx(f, s->x[i]));
			size_t j = i, lo = i, hi = i;
			while (j < s->n && lround(fx(f, s->x[j])) == col) {
				if (s->y[j] < s->y[lo])
					lo = j;
				if (s->y[j] > s->y[hi])
					hi = j;
				j++;
			}
			size_t keep[4] = {i, lo < hi ? lo : hi, lo < hi ? hi : lo, j - 1};
			for (int k = 0; k < 4; k++)
				if (k == 0 || keep[k] != keep[k - 1])
					put_point(b, f, s, keep[k], &first);
			i = j;
		}
	}
	buf_puts(b, "\"/>\n");
}

static void markers(buf_t *b, const frame *f, const series *s, const char *color)
{
	if ((double)s->n > f->w / 8)
		return; /* so many that they would hide the curve: the line alone */
	for (size_t i = 0; i < s->n; i++)
		buf_printf(b, "<circle class=\"val-point\" cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\""
			   " stroke=\"white\" stroke-width=\"1\"/>\n",
			   fx(f, s->x[i]), fy(f, s->y[i]), color);
}

static const char *panel_name[PANEL_KINDS] = {"loss", "val", "lr", "tps"};

static int panel_has_log(const figure_opts *o, int kind)
{
	return o->log_loss && (kind == PANEL_LOSS || kind == PANEL_VAL);
}

/* The y range of a panel over every run; 0 when it has no point. */
static int panel_range(const run_metrics *runs, size_t n_runs, int kind, const figure_opts *o,
		       double *lo, double *hi)
{
	static const series_kind loss_kinds[] = {S_RAW, S_VAL};
	const series_kind *kinds = loss_kinds;
	size_t nk = kind == PANEL_LOSS ? 2 : 1;
	series_kind one = kind == PANEL_VAL ? S_VAL : kind == PANEL_LR ? S_LR : S_TPS;
	if (kind != PANEL_LOSS)
		kinds = &one;
	int any = 0;
	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t r = 0; r < n_runs; r++)
		for (size_t k = 0; k < nk; k++) {
			series s = get_series(&runs[r], kinds[k], o, panel_has_log(o, kind));
			for (size_t i = 0; i < s.n; i++) {
				*lo = fmin(*lo, s.y[i]);
				*hi = fmax(*hi, s.y[i]);
				any = 1;
			}
			series_free(&s);
		}
	return any;
}

static void panel_title(buf_t *b, int kind, const figure_opts *o, int any_val, double y)
{
	buf_printf(b, "<text class=\"panel-title\" x=\"%d\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\">",
		   MARGIN_L, y);
	switch (kind) {
	case PANEL_LOSS:
		buf_puts(b, "training loss");
		buf_puts(b, "</text>\n");
		buf_printf(b, "<text class=\"panel-key\" x=\"%d\" y=\"%.1f\" fill=\"#555\">", MARGIN_L + 100, y);
		if (o->smooth > 1)
			buf_printf(b, "thin: each step, thick: exponential moving average (span %g steps)",
				   o->smooth);
		else
			buf_puts(b, "each step");
		if (any_val)
			buf_puts(b, "; dashed: validation loss");
		if (panel_has_log(o, kind))
			buf_puts(b, "; log scale");
		break;
	case PANEL_VAL:
		buf_puts(b, panel_has_log(o, kind) ? "validation loss (log scale)" : "validation loss");
		break;
	case PANEL_LR: buf_puts(b, "learning rate"); break;
	default: buf_puts(b, "throughput, tokens/s"); break;
	}
	buf_puts(b, "</text>\n");
}

static void grid_and_labels(buf_t *b, const frame *f, int kind, int have_y)
{
	char s[64];
	for (int i = 0; i < f->ax.n_ticks; i++) {
		double x = fx(f, f->ax.ticks[i]);
		buf_printf(b, "<line class=\"xtick\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\""
			   " stroke=\"#e4e4e4\"/>\n", x, f->top, x, f->top + f->h);
		axis_label(&f->ax, f->ax.ticks[i], LABEL_SI, s, sizeof s);
		buf_printf(b, "<text class=\"xlabel\" x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
			   x, f->top + f->h + 16, s);
	}
	for (int i = 0; have_y && i < f->ay.n_ticks; i++) {
		double y = fy(f, f->ay.ticks[i]);
		buf_printf(b, "<line class=\"ytick\" x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\""
			   " stroke=\"#e4e4e4\"/>\n", f->left, y, f->left + f->w, y);
		axis_label(&f->ay, f->ay.ticks[i], kind == PANEL_TPS ? LABEL_SI : LABEL_PLAIN, s, sizeof s);
		buf_printf(b, "<text class=\"ylabel\" x=\"%.1f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
			   f->left - 6, y + 4, s);
	}
}

static void draw_panel(buf_t *b, const run_metrics *runs, size_t n_runs, int kind, const figure_opts *o,
		       frame *f, int idx)
{
	double lo, hi;
	int log = panel_has_log(o, kind);
	int have = panel_range(runs, n_runs, kind, o, &lo, &hi);
	int fixed = (kind == PANEL_LOSS || kind == PANEL_VAL) && o->loss_hi > o->loss_lo;
	if (fixed)
		axis_fit(&f->ay, o->loss_lo, o->loss_hi, 5, 0, log);
	else if (have)
		axis_fit(&f->ay, lo, hi, 5, kind == PANEL_LR || kind == PANEL_TPS, log);
	else
		axis_fit(&f->ay, 0, 1, 5, 1, 0);
	buf_printf(b, "<g id=\"panel-%s\" class=\"panel\">\n", panel_name[kind]);
	buf_printf(b, "<clipPath id=\"clip-%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
		   "</clipPath>\n", idx, f->left - 4, f->top - 4, f->w + 8, f->h + 8);
	grid_and_labels(b, f, kind, have || fixed);
	buf_printf(b, "<g clip-path=\"url(#clip-%d)\">\n", idx);
	for (size_t r = 0; r < n_runs; r++) {
		const char *c = palette[r % N_COLORS];
		buf_printf(b, "<g class=\"run\" id=\"%s-run-%zu\">\n", panel_name[kind], r);
		series s;
		switch (kind) {
		case PANEL_LOSS:
			s = get_series(&runs[r], S_RAW, o, log);
			polyline(b, f, &s, "loss-raw", c, 1, o->smooth > 1 ? 0.3 : 1, NULL);
			series_free(&s);
			if (o->smooth > 1) {
				s = get_series(&runs[r], S_SMOOTH, o, log);
				polyline(b, f, &s, "loss-smooth", c, 2, 1, NULL);
				series_free(&s);
			}
			/* validation points over the training curve */
			__attribute__((fallthrough));
		case PANEL_VAL:
			s = get_series(&runs[r], S_VAL, o, log);
			polyline(b, f, &s, "val", c, kind == PANEL_LOSS ? 1 : 1.5, 1, kind == PANEL_LOSS ? "5,3" : NULL);
			markers(b, f, &s, c);
			series_free(&s);
			break;
		default:
			s = get_series(&runs[r], kind == PANEL_LR ? S_LR : S_TPS, o, 0);
			polyline(b, f, &s, panel_name[kind], c, 1.5, 1, NULL);
			series_free(&s);
		}
		buf_puts(b, "</g>\n");
	}
	buf_puts(b, "</g>\n");
	if (!have)
		buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#777\">%s</text>\n",
			   f->left + f->w / 2, f->top + f->h / 2,
			   kind == PANEL_VAL || kind == PANEL_LOSS ? "no validation lines yet (bonsai-train --eval-every)"
								   : "no values in the metrics");
	buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n",
		   f->left, f->top, f->w, f->h);
	buf_puts(b, "</g>\n");
}

/* 3 significant digits and a k/M/B/T suffix: 1.23B. */
static void si3(char *s, size_t n, double v)
{
	static const char *const suf[] = {"", "k", "M", "B", "T"};
	int i = 0;
	while (i < 4 && fabs(v) >= 999.5)
		v /= 1000, i++;
	snprintf(s, n, "%.3g%s", v, suf[i]);
}

/* "name (1.23B tokens, val 3.172)": which run, how far, where it stands. */
static void legend_entry(buf_t *t, const run_metrics *r, const char *color, double x, double y)
{
	char s[64];
	double tok = r->n_steps ? r->steps[r->n_steps - 1].tokens : r->vals[r->n_vals - 1].tokens;
	si3(s, sizeof s, tok);
	buf_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
		   x, y + 8, x + 24, y + 8, color);
	buf_printf(t, "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\"><tspan class=\"run-name\">", x + 30, y + 12);
	xml_text(t, r->name);
	buf_printf(t, "</tspan><tspan dx=\"6\" fill=\"#555\">(%s tokens", s);
	if (r->n_vals)
		buf_printf(t, ", val %.4g", r->vals[r->n_vals - 1].val_loss);
	buf_puts(t, ")</tspan></text>\n");
}

void figure_svg(buf_t *out, const run_metrics *runs, size_t n_runs, const figure_opts *o)
{
	int W = o->width;
	double plot_w = W - MARGIN_L - MARGIN_R;
	buf_t body = {0};
	double y = 10;
	if (o->title) {
		buf_printf(&body, "<text x=\"%d\" y=\"%.1f\" font-size=\"16\" font-weight=\"bold\">", MARGIN_L, y + 16);
		xml_text(&body, o->title);
		buf_puts(&body, "</text>\n");
		y += 28;
	}
	/* the legend: entries left to right, wrapped at the figure's width */
	double lx = MARGIN_L;
	y += 8;
	for (size_t r = 0; r < n_runs; r++) {
		double w = 34 + 6.6 * (double)(strlen(runs[r].name) + 24);
		if (lx > MARGIN_L && lx + w > W - MARGIN_R) {
			lx = MARGIN_L;
			y += 20;
		}
		legend_entry(&body, &runs[r], palette[r % N_COLORS], lx, y);
		lx += w;
	}
	y += 30;

	double xmax = 0;
	for (size_t r = 0; r < n_runs; r++) {
		if (runs[r].n_steps)
			xmax = fmax(xmax, xval(o, runs[r].steps[runs[r].n_steps - 1].step,
					       runs[r].steps[runs[r].n_steps - 1].tokens));
		if (runs[r].n_vals)
			xmax = fmax(xmax, xval(o, runs[r].vals[runs[r].n_vals - 1].step,
					       runs[r].vals[runs[r].n_vals - 1].tokens));
	}
	axis ax;
	axis_fit(&ax, 0, xmax, 8, 1, 0);
	int any_val = 0;
	for (size_t r = 0; r < n_runs; r++)
		any_val |= runs[r].n_vals > 0;
	for (int p = 0; p < o->n_panels; p++) {
		panel_title(&body, o->panels[p], o, any_val, y + 14);
		y += 24;
		frame f = {.left = MARGIN_L, .top = y, .w = plot_w, .h = PLOT_H, .ax = ax};
		draw_panel(&body, runs, n_runs, o->panels[p], o, &f, p);
		y += PLOT_H + 24;
		if (p == o->n_panels - 1) {
			buf_printf(&body, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
				   MARGIN_L + plot_w / 2, y + 8, o->x_steps ? "steps" : "tokens seen");
			y += 16;
		}
		y += 14;
	}
	int H = (int)ceil(y);
	buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
	buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" baseProfile=\"full\""
		   " width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
		   " font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\" fill=\"#222\">\n",
		   W, H, W, H);
	buf_puts(out, "<title>");
	xml_text(out, o->title ? o->title : "training curves");
	buf_puts(out, "</title>\n");
	buf_printf(out, "<desc>bonsai-plot %s from bonsai-train metrics:", BONSAI_VERSION);
	for (size_t r = 0; r < n_runs; r++) {
		buf_puts(out, " ");
		xml_text(out, runs[r].path);
	}
	buf_puts(out, "</desc>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
	buf_append(out, body.data, body.len);
	buf_puts(out, "</svg>\n");
	buf_free(&body);
}
