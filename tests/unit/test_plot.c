/* bonsai-plot's parts: round axis ticks, tick labels, the metrics reader
 * (torn last line, resumed runs, errors with file:line), the smoothing. */
#include "tap.h"

#include "../../plot/axis.h"
#include "../../plot/figure.h"
#include "../../plot/metrics.h"
#include "cli.h"

#include <math.h>
#include <stdint.h>

/* Is d 1, 2 or 5 times a power of ten? */
static int round_step(double d)
{
	double m = d / pow(10, floor(log10(d) + 1e-9));
	return fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9;
}

static void check_linear_axes(void)
{
	uint64_t s = 42;
	int bad = 0, n = 0;
	for (int i = 0; i < 20000; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		double a = ldexp((double)(s >> 11), -53);
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		double b = ldexp((double)(s >> 11), -53);
		double scale = pow(10, (int)(a * 24) - 12);
		double lo = (a - 0.5) * scale * 10, hi = lo + b * scale;
		axis ax;
		axis_fit(&ax, lo, hi, 5, 0, 0);
		double step = ax.ticks[1] - ax.ticks[0];
		int good = ax.n_ticks >= 2 && ax.n_ticks <= 12 && round_step(ax.step) &&
			   fabs(step - ax.step) < 1e-6 * ax.step && ax.lo == ax.ticks[0] &&
			   ax.hi == ax.ticks[ax.n_ticks - 1] && ax.lo <= lo && lo < ax.lo + ax.step * (1 + 1e-9) &&
			   ax.hi >= hi && hi > ax.hi - ax.step * (1 + 1e-9) && axis_frac(&ax, ax.lo) == 0 &&
			   fabs(axis_frac(&ax, ax.hi) - 1) < 1e-12;
		if (!good && bad++ < 3)
			printf("#   [%g, %g]: %d ticks from %g to %g, step %g\n", lo, hi, ax.n_ticks, ax.lo, ax.hi, ax.step);
		n++;
	}
	ok(!bad, "%d random ranges: 2-12 ticks, 1/2/5 x 10^k apart, bounds within a step of the data (%d bad)", n, bad);

	axis ax;
	axis_fit(&ax, 3.17, 10.9, 5, 0, 0);
	ok(ax.lo == 2 && ax.hi == 12 && ax.step == 2, "[3.17, 10.9] -> 2..12 by 2 (got %g..%g by %g)", ax.lo, ax.hi, ax.step);
	axis_fit(&ax, 0.0004, 0.0006, 5, 1, 0);
	ok(ax.lo == 0 && fabs(ax.hi - 6e-4) < 1e-15, "with zero: [4e-4, 6e-4] -> 0..6e-4 (got %g..%g)", ax.lo, ax.hi);
	axis_fit(&ax, 5, 5, 5, 0, 0);
	ok(ax.n_ticks >= 2 && ax.lo < 5 && ax.hi > 5, "a single value gets a range around it (%g..%g)", ax.lo, ax.hi);
}

static void check_log_axes(void)
{
	axis ax;
	axis_fit(&ax, 0.03, 40, 5, 0, 1);
	int round = 1;
	for (int i = 0; i < ax.n_ticks; i++)
		round &= round_step(ax.ticks[i]);
	ok(ax.log && ax.lo == 0.02 && ax.hi == 50 && round,
	   "log [0.03, 40]: bounds 0.02 and 50, ticks at 1/2/5 x 10^k (%d ticks)", ax.n_ticks);
	ok(fabs(axis_frac(&ax, sqrt(0.02 * 50)) - 0.5) < 1e-12, "log axis: the geometric middle is half-way");
	axis_fit(&ax, 3.1, 11, 5, 0, 1);
	ok(ax.log && ax.lo > 0 && ax.lo <= 3.1 && ax.hi >= 11 && ax.n_ticks >= 3,
	   "log under a decade: round ticks from %g to %g", ax.lo, ax.hi);
	axis_fit(&ax, 1e-6, 1e6, 5, 0, 1);
	ok(ax.n_ticks == 13, "log over 12 decades: only the powers of ten (%d ticks)", ax.n_ticks);
}

static void check_labels(void)
{
	axis ax;
	char s[64];
	axis_fit(&ax, 0, 7.5e5, 8, 1, 0);
	axis_label(&ax, 2e5, LABEL_SI, s, sizeof s);
	is_str(s, "200k", "SI label");
	axis_fit(&ax, 0, 2.6e9, 8, 1, 0);
	axis_label(&ax, 1.5e9, LABEL_SI, s, sizeof s);
	is_str(s, "1.5B", "SI label with a decimal where the step needs one");
	axis_fit(&ax, 3.2, 4.1, 5, 0, 0);
	axis_label(&ax, 3.4, LABEL_PLAIN, s, sizeof s);
	is_str(s, "3.4", "plain label");
	axis_label(&ax, 4, LABEL_PLAIN, s, sizeof s);
	is_str(s, "4.0", "the same digits on every tick");
	axis_fit(&ax, 0, 6e-4, 5, 1, 0);
	axis_label(&ax, 3e-4, LABEL_PLAIN, s, sizeof s);
	is_str(s, "3e-4", "small values in e notation");
}

static int parse(run_metrics *r, const char *text, char *err, size_t n)
{
	memset(r, 0, sizeof *r);
	r->path = "m.jsonl";
	return metrics_parse(r, text, strlen(text), err, n);
}

static void check_metrics(void)
{
	run_metrics r;
	char err[256] = "";
	int rc = parse(&r,
		       "{\"step\":1,\"tokens\":100,\"loss\":9,\"lr\":1e-4,\"grad_norm\":1,\"tokens_per_s\":50,\"ms\":2}\n"
		       "{\"step\":2,\"tokens\":200,\"loss\":8,\"lr\":2e-4,\"grad_norm\":1,\"tokens_per_s\":60,\"ms\":2}\n"
		       "{\"step\":2,\"val_loss\":8.5,\"val_tokens\":64}\n"
		       "{\"step\":3,\"tokens\":300,\"skipped\":true}\n"
		       "{\"step\":4,\"tokens\":400,\"loss\":7,\"lr\":3e-4,\"grad_norm\":1,\"tokens_per_s\":70,\"ms\":2}\n"
		       "{\"step\":5,\"tokens\":500,\"lo",
		       err, sizeof err);
	ok(rc == 0 && r.n_steps == 3 && r.n_vals == 1 && r.torn_tail, "3 steps, 1 validation, torn last line skipped (%s)", err);
	ok(r.n_steps == 3 && r.steps[2].tokens == 400 && r.steps[2].loss == 7 && r.steps[2].lr == 3e-4 &&
	   r.steps[2].tokens_per_s == 70, "a step's values");
	ok(r.n_vals == 1 && r.vals[0].tokens == 200 && r.vals[0].val_loss == 8.5, "validation at its step's tokens");
	metrics_free(&r);

	rc = parse(&r,
		   "{\"step\":1,\"tokens\":10,\"loss\":9}\n{\"step\":2,\"tokens\":20,\"loss\":8}\n"
		   "{\"step\":2,\"val_loss\":8.5}\n{\"step\":3,\"tokens\":30,\"loss\":7}\n"
		   "{\"step\":2,\"tokens\":20,\"loss\":6}\n{\"step\":3,\"tokens\":30,\"loss\":5}\n",
		   err, sizeof err);
	ok(rc == 0 && r.n_steps == 3 && r.steps[1].loss == 6 && r.steps[2].loss == 5 && r.n_vals == 0,
	   "a resumed run: the repeated steps (and their validations) replace the old ones");
	metrics_free(&r);

	/* the lines themselves are lib/metrics_log's (test_lib_metrics_log) */
	rc = parse(&r, "{\"step\":1,\"tokens\":10,\"loss\":9}\n{\"step\":2,\"tokens\":20,\"loss\":8\n{\"step\":3}\n",
		   err, sizeof err);
	ok(rc < 0 && strncmp(err, "m.jsonl:2: ", 11) == 0 && !r.torn_tail, "a malformed middle line: %s", err);
	metrics_free(&r);
	rc = parse(&r, "{\"step\":1,\"tokens\":10,\"loss\":9}\n{\"step\":2,\"tokens\":20,\"loss\":8\n", err, sizeof err);
	ok(rc < 0 && strncmp(err, "m.jsonl:2: ", 11) == 0, "a malformed last line with its newline is an error too");
	metrics_free(&r);
}

static void check_smoothing(void)
{
	step_point p[4] = {{.loss = 4}, {.loss = 2}, {.loss = 2}, {.loss = 6}};
	double s[4];
	ema_smooth(p, 4, 3, s); /* alpha = 2 / (3 + 1) = 0.5 */
	ok(s[0] == 4 && s[1] == 3 && s[2] == 2.5 && s[3] == 4.25, "EMA span 3: 4 3 2.5 4.25 (got %g %g %g %g)",
	   s[0], s[1], s[2], s[3]);
	ema_smooth(p, 4, 1, s);
	ok(s[0] == 4 && s[1] == 2 && s[2] == 2 && s[3] == 6, "EMA span 1 is the raw curve");
}

int main(void)
{
	cli_init("test_plot");
	check_linear_axes();
	check_log_axes();
	check_labels();
	check_metrics();
	check_smoothing();
	return done_testing();
}
