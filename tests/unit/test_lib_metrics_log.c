/* lib/metrics_log: bonsai-train's lines read into records; a bad line is
 * an error naming the file and line; a last line cut off is told apart
 * from other bad lines; a resume's repeated steps replace the older lines;
 * the steady rate of the steps. */
#include "metrics_log.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define STEP1 "{\"step\":1,\"tokens\":128,\"loss\":5.5,\"lr\":0.001,\"grad_norm\":1.2," \
	      "\"tokens_per_s\":640.5,\"ms\":200,\"ranks\":2}\n"

/* Reads text whole: the records' count, or -1 with the error in err. */
static int read_all(const char *text, metrics_record *r, int max, int *torn, char *err, size_t errlen)
{
	metrics_log m;
	metrics_log_init(&m, "m.jsonl", text, strlen(text));
	int n = 0, rc;
	while (n < max && (rc = metrics_log_next(&m, &r[n], err, errlen)) > 0)
		n++;
	*torn = m.torn;
	metrics_log_close(&m);
	return rc < 0 ? -1 : n;
}

/* The error for a file of one line, "" when it is read. */
static const char *error_of(const char *text)
{
	static char err[256];
	metrics_record r[4];
	int torn;
	err[0] = 0;
	read_all(text, r, 4, &torn, err, sizeof err);
	return err;
}

static void good_lines(void)
{
	metrics_record r[8];
	char err[256] = "";
	int torn;
	int n = read_all(STEP1 "{\"step\":2,\"tokens\":256,\"skipped\":true}\n"
			       "{\"step\":2,\"val_loss\":5.25,\"val_tokens\":64}\n"
			       "{\"step\":3,\"tokens\":384,\"loss\":5}",
			 r, 8, &torn, err, sizeof err);
	ok(n == 4 && !torn, "four lines, the last whole without its newline (%s)", err);
	ok(r[0].kind == METRICS_STEP && r[0].step == 1 && r[0].tokens == 128 && r[0].loss == 5.5 &&
	   r[0].lr == 0.001 && r[0].tokens_per_s == 640.5 && r[0].ms == 200 && r[0].ranks == 2 &&
	   isnan(r[0].val_loss), "a step's numbers");
	ok(r[1].kind == METRICS_SKIPPED && r[1].step == 2 && r[1].tokens == 256 && isnan(r[1].loss) &&
	   isnan(r[1].ms), "a skipped step: its tokens, no loss, no time");
	ok(r[2].kind == METRICS_VAL && r[2].step == 2 && r[2].val_loss == 5.25 && isnan(r[2].tokens),
	   "a validation");
	ok(r[3].kind == METRICS_STEP && r[3].ranks == 0 && isnan(r[3].ms) && isnan(r[3].lr),
	   "what a line leaves out is NAN (ranks 0)");
}

static void bad_lines(void)
{
	metrics_record r[8];
	char err[256] = "";
	int torn;
	int n = read_all(STEP1 STEP1 "{\"step\":3,\"tokens\":384,\"loss\":5,}\n" STEP1, r, 8, &torn, err,
			 sizeof err);
	ok(n < 0 && !strncmp(err, "m.jsonl:3: ", 11) && !torn, "a bad line names its line: %s", err);
	n = read_all(STEP1 "{\"step\":2,\"tokens\":25", r, 8, &torn, err, sizeof err);
	ok(n < 0 && torn && strstr(err, "m.jsonl:2: the last line is cut off"),
	   "a last line cut off is told apart: %s", err);
	n = read_all(STEP1 "{\"step\":2,\"tokens\":25\n", r, 8, &torn, err, sizeof err);
	ok(n < 0 && !torn && !strncmp(err, "m.jsonl:2: ", 11), "with its newline it is a bad line: %s", err);
	n = read_all("", r, 8, &torn, err, sizeof err);
	ok(n == 0 && !torn, "an empty file: no record");

	is_str(error_of("[1,2]\n"), "m.jsonl:1: not a line of bonsai-train's metrics (not a JSON object)",
	       "an array");
	is_str(error_of("{\"step\":1e300,\"tokens\":1,\"loss\":1}\n"),
	       "m.jsonl:1: not a line of bonsai-train's metrics (no \"step\" that is a step number)",
	       "a step beyond a long's range");
	is_str(error_of("{\"step\":1.5,\"tokens\":1,\"loss\":1}\n"),
	       "m.jsonl:1: not a line of bonsai-train's metrics (no \"step\" that is a step number)",
	       "a step that is not whole");
	is_str(error_of("{\"tokens\":1,\"loss\":1}\n"),
	       "m.jsonl:1: not a line of bonsai-train's metrics (no \"step\" that is a step number)",
	       "no step");
	is_str(error_of("{\"step\":1,\"tokens\":1,\"loss\":\"4.5\"}\n"), "m.jsonl:1: \"loss\" is not a finite number",
	       "a loss that is a string");
	is_str(error_of("{\"step\":1,\"tokens\":1,\"loss\":1,\"ms\":1e999}\n"),
	       "m.jsonl:1: \"ms\" is not a finite number", "a time beyond a double's range");
	is_str(error_of("{\"step\":1,\"val_loss\":null}\n"), "m.jsonl:1: \"val_loss\" is not a finite number",
	       "a null validation loss");
	is_str(error_of("{\"step\":1,\"tokens\":1,\"loss\":1,\"ranks\":0}\n"),
	       "m.jsonl:1: \"ranks\": 0 is not a number of processes", "ranks 0");
	is_str(error_of("{\"step\":1,\"tokens\":1,\"loss\":1,\"ranks\":1.5}\n"),
	       "m.jsonl:1: \"ranks\": 1.5 is not a number of processes", "ranks not whole");
	is_str(error_of("{\"step\":1,\"loss\":9}\n"), "m.jsonl:1: a step with no \"tokens\"",
	       "a loss without tokens");
	is_str(error_of("{\"step\":1,\"tokens\":9}\n"), "m.jsonl:1: a step with no \"loss\" (and not \"skipped\")",
	       "tokens without a loss");
	is_str(error_of("{\"step\":1,\"tokens\":9,\"skipped\":false}\n"),
	       "m.jsonl:1: a step with no \"loss\" (and not \"skipped\")", "\"skipped\": false is not a skip");
	/* the cumulative count going back without a resume (its rate would be
	 * negative); a resume's lines, a validation between and a skipped
	 * step are not that */
	is_str(error_of("{\"step\":1,\"tokens\":128,\"loss\":1,\"ms\":9}\n"
			"{\"step\":1,\"val_loss\":5}\n"
			"{\"step\":2,\"tokens\":118,\"loss\":1,\"ms\":9}\n"),
	       "m.jsonl:3: \"tokens\": 118 at step 2, fewer than the 128 of step 1 before it (the count "
	       "only grows)", "tokens going back after a step");
	is_str(error_of("{\"step\":1,\"tokens\":128,\"loss\":1}\n{\"step\":2,\"tokens\":100,\"skipped\":true}\n"),
	       "m.jsonl:2: \"tokens\": 100 at step 2, fewer than the 128 of step 1 before it (the count "
	       "only grows)", "tokens going back at a skipped step");
	is_str(error_of("{\"step\":1,\"tokens\":128,\"loss\":1}\n{\"step\":2,\"tokens\":256,\"loss\":1}\n"
			"{\"step\":2,\"tokens\":256,\"loss\":1}\n{\"step\":3,\"tokens\":384,\"loss\":1}\n"),
	       "", "a resume at step 2: read");
	/* bonsai-train writes a validation right after its step's line: one
	 * elsewhere would be drawn at another step's tokens */
	is_str(error_of("{\"step\":2,\"val_loss\":5}\n{\"step\":2,\"tokens\":256,\"loss\":1}\n"),
	       "m.jsonl:1: a validation at step 2 before any step's line", "a validation before any step");
	is_str(error_of("{\"step\":1,\"tokens\":128,\"loss\":1}\n{\"step\":2,\"tokens\":256,\"loss\":1}\n"
			"{\"step\":1,\"val_loss\":5}\n"),
	       "m.jsonl:3: a validation at step 1 after step 2's line (bonsai-train writes it right after "
	       "its step's)", "a validation after a later step's line");
	is_str(error_of("{\"step\":1,\"tokens\":128,\"loss\":1}\n{\"step\":3,\"val_loss\":5}\n"),
	       "m.jsonl:2: a validation at step 3 after step 1's line (bonsai-train writes it right after "
	       "its step's)", "a validation of a step with no line");
	is_str(error_of("{\"step\":1,\"tokens\":128,\"loss\":1}\n{\"step\":1,\"val_loss\":5}\n"
			"{\"step\":1,\"val_loss\":5.5}\n{\"step\":2,\"tokens\":256,\"loss\":1}\n"),
	       "", "validations right after their step: read");
}

static void open_file(void)
{
	metrics_log m;
	memset(&m, 0xA5, sizeof m); /* as a stack variable may hold */
	char err[256] = "";
	ok(metrics_log_open(&m, "/nonexistent/metrics.jsonl", err, sizeof err) < 0 &&
	   !strncmp(err, "/nonexistent/metrics.jsonl: ", 28),
	   "a file that cannot be read: named (%s)", err);
	/* bonsai-report reads torn after any failure */
	ok(m.torn == 0 && m.text == NULL, "a failed open leaves an empty log (torn %d)", m.torn);
}

/* Lines of bonsai-train: a step N of loss L, a skipped step, a validation. */
#define S(n, l) "{\"step\":" #n ",\"tokens\":" #n "00,\"loss\":" #l "}\n"
#define K(n) "{\"step\":" #n ",\"tokens\":" #n "00,\"skipped\":true}\n"
#define V(n, l) "{\"step\":" #n ",\"val_loss\":" #l "}\n"

/* The records read_all keeps of text, as "step:loss" (a validation
 * "vstep:loss", a skipped step "step:skipped"), or the error. */
static const char *kept(const char *text)
{
	static char out[512];
	metrics_log m;
	metrics_record *v;
	size_t n, at = 0;
	char err[256] = "";
	metrics_log_init(&m, "m.jsonl", text, strlen(text));
	int rc = metrics_log_read_all(&m, &v, &n, err, sizeof err);
	out[0] = 0;
	if (rc < 0)
		at += snprintf(out, sizeof out, "%s%s;", m.torn ? "torn" : "error: ", m.torn ? "" : err);
	for (size_t i = 0; i < n && at < sizeof out; i++) {
		const metrics_record *r = &v[i];
		if (r->kind == METRICS_VAL)
			at += snprintf(out + at, sizeof out - at, " v%ld:%g", r->step, r->val_loss);
		else if (r->kind == METRICS_SKIPPED)
			at += snprintf(out + at, sizeof out - at, " %ld:skipped", r->step);
		else
			at += snprintf(out + at, sizeof out - at, " %ld:%g", r->step, r->loss);
	}
	free(v);
	metrics_log_close(&m);
	return out;
}

/* bonsai-train --resume >> metrics.jsonl: the newer lines win, for
 * bonsai-plot and bonsai-report alike */
static void resumes(void)
{
	is_str(kept(S(1, 9) V(1, 9.5) S(2, 8) S(3, 7)), " 1:9 v1:9.5 2:8 3:7", "no resume: every line");
	is_str(kept(S(1, 9) S(2, 8) S(3, 7) S(4, 6) S(3, 5) S(4, 4) S(5, 3)), " 1:9 2:8 3:5 4:4 5:3",
	       "a resume at step 3: steps 3 and 4 repeated, the newer lines kept");
	is_str(kept(S(1, 9) S(2, 8) V(2, 8.5) S(3, 7) S(4, 6) V(4, 6.5) S(5, 5) S(3, 4)),
	       " 1:9 2:8 v2:8.5 3:4",
	       "a resume at a step before the last validation: that validation goes, the one before stays");
	is_str(kept(S(1, 9) S(2, 8) S(3, 7) S(4, 6) S(2, 5) S(3, 4) S(4, 3) S(5, 2) S(4, 1) S(5, 0.5)),
	       " 1:9 2:5 3:4 4:1 5:0.5", "two resumes: each replaces what came before it from its step on");
	is_str(kept(S(1, 9) S(2, 8) V(2, 8.5) S(3, 7) S(4, 6) V(4, 6.5) S(3, 5) S(4, 5) V(4, 5.5) S(2, 4)),
	       " 1:9 2:4", "a second resume before the first one's start: both older runs go from there");
	is_str(kept(S(1, 9) S(2, 8) S(3, 7) K(2) S(3, 4)), " 1:9 2:skipped 3:4",
	       "a resume whose first step is skipped replaces the older step all the same");
	is_str(kept(S(1, 9) S(2, 8) S(1, 7)), " 1:7", "a restart from step 1: only the newer run");
	is_str(kept(S(1, 9) S(2, 8) V(2, 8.5) V(2, 8.25) S(3, 7)), " 1:9 2:8 v2:8.5 v2:8.25 3:7",
	       "a validation alone starts no resume (bonsai-train's resume starts with a step)");
	is_str(kept(S(1, 9) S(2, 8) S(2, 7) "{\"step\":3,\"tok"), "torn; 1:9 2:7",
	       "a last line cut off: the whole lines before it, resumed");
}

/* bonsai-report's steady rate and make run's burst estimate */
static void steady_rates(void)
{
	metrics_record v[4] = {
		{ .kind = METRICS_STEP, .step = 1, .tokens = 1000, .ms = 10000, .ranks = 2 },
		{ .kind = METRICS_STEP, .step = 2, .tokens = 2000, .ms = 500, .ranks = 2 },
		{ .kind = METRICS_SKIPPED, .step = 3, .tokens = 3000, .ms = NAN },
		{ .kind = METRICS_STEP, .step = 4, .tokens = 4000, .ms = 250 },
	};
	double rate, per_rank;
	/* after the first: 1,000 tokens in 0.5 s on 2 processes (2,000/s,
	 * 1,000 a process), the skipped step untimed, then 1,000 tokens in
	 * 0.25 s on 1 (ranks 0; 4,000/s) */
	int rc = metrics_steady_rates(v, 4, &rate, &per_rank);
	ok(rc == 0 && rate == 3000 && per_rank == 2500,
	   "the medians of the timed steps after the first: %g tokens/s, %g a process", rate, per_rank);
	ok(metrics_steady_rates(v, 3, &rate, &per_rank) == 0 && rate == 2000 && per_rank == 1000,
	   "one step after the first: its own rate");
	ok(metrics_steady_rates(v, 1, &rate, &per_rank) == 0 && isnan(rate) && isnan(per_rank),
	   "a single timed step: no steady rate");
	v[0].ms = NAN;
	ok(metrics_steady_rates(v, 4, &rate, &per_rank) == 0 && rate == 4000,
	   "the first timed step is the one left out, not the first line");
	/* a validation between two steps (read_all's records keep it) leaves
	 * the step after it timed */
	metrics_record w[4] = {
		{ .kind = METRICS_STEP, .step = 1, .tokens = 1000, .ms = 10000 },
		{ .kind = METRICS_STEP, .step = 2, .tokens = 2000, .ms = 500 },
		{ .kind = METRICS_VAL, .step = 2, .tokens = NAN, .ms = NAN, .val_loss = 5 },
		{ .kind = METRICS_STEP, .step = 3, .tokens = 3000, .ms = 250 },
	};
	rc = metrics_steady_rates(w, 4, &rate, &per_rank);
	ok(rc == 0 && rate == 3000, "a validation between steps is passed over (%g tokens/s)", rate);
	/* a count below the step before (a spliced file) is not a negative rate */
	v[0].ms = 10000, v[1].tokens = 900, v[2].tokens = 1900, v[3].tokens = 2900;
	rc = metrics_steady_rates(v, 4, &rate, &per_rank);
	ok(rc == 0 && rate == 4000, "a step whose count fell is not timed (%g tokens/s)", rate);
}

int main(void)
{
	steady_rates();
	good_lines();
	bad_lines();
	open_file();
	resumes();
	return done_testing();
}
