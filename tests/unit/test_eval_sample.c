/* test_eval_sample.c - next-token sampling (temperature, top-k, top-p,
 * seeds) and UTF-8 that arrives split across tokens. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../../eval/sample.h"

static void check_utf8(const char *const *pieces, int n, const char *want, const char *name)
{
	utf8_stream u = {0};
	buf_t out = {0};
	for (int i = 0; i < n; i++)
		utf8_stream_feed(&u, pieces[i], strlen(pieces[i]), &out);
	utf8_stream_finish(&u, &out);
	is_str(buf_cstr(&out), want, "%s", name);
	buf_free(&out);
}

int main(void)
{
	rng_t r1, r2;
	rng_seed(&r1, 42);
	rng_seed(&r2, 42);
	int same = 1;
	for (int i = 0; i < 100; i++)
		same &= rng_next(&r1) == rng_next(&r2);
	ok(same, "one seed, one sequence");
	rng_seed(&r2, 43);
	ok(rng_next(&r1) != rng_next(&r2), "another seed, another sequence");
	double lo = 1, hi = 0;
	for (int i = 0; i < 10000; i++) {
		double u = rng_uniform(&r1);
		lo = fmin(lo, u);
		hi = fmax(hi, u);
	}
	ok(lo >= 0 && lo < 0.01 && hi < 1 && hi > 0.99, "uniform in [0, 1)");

	/* probabilities 0.5, 0.3, 0.2, 0 (a tiny logit) at temperature 1 */
	float logits[4] = {(float)log(0.5), (float)log(0.3), (float)log(0.2), -1e30f};
	sampler s = {0};
	sampler_opts greedy = {0, 0, 1};
	rng_seed(&r1, 1);
	is_int(sample_token(&s, logits, 4, &greedy, &r1), 0, "temperature 0 is the argmax");
	sampler_opts k1 = {1, 1, 1};
	is_int(sample_token(&s, logits, 4, &k1, &r1), 0, "top-k 1 is the argmax");

	struct { sampler_opts o; double p[4]; const char *name; } cases[] = {
		{{1, 0, 1}, {0.5, 0.3, 0.2, 0}, "temperature 1: the model's probabilities"},
		{{1, 2, 1}, {0.625, 0.375, 0, 0}, "top-k 2 renormalises the two best"},
		{{1, 0, 0.6f}, {0.625, 0.375, 0, 0}, "top-p 0.6 keeps 0.5 + 0.3"},
		{{1, 0, 0.5f}, {1, 0, 0, 0}, "top-p 0.5 keeps only 0.5"},
		{{1, 0, 0.85f}, {0.5, 0.3, 0.2, 0}, "top-p 0.85 keeps all three"},
		{{0.5f, 0, 1}, {25 / 38.0, 9 / 38.0, 4 / 38.0, 0}, "temperature 0.5 squares them"},
		{{0.5f, 0, 0.6f}, {1, 0, 0, 0}, "temperature before top-p: 0.66 alone reaches 0.6"},
		{{0.5f, 0, 0.7f}, {25 / 34.0, 9 / 34.0, 0, 0}, "temperature 0.5, top-p 0.7: two"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		int count[4] = {0};
		const int n = 40000;
		rng_seed(&r1, 100 + c);
		for (int i = 0; i < n; i++)
			count[sample_token(&s, logits, 4, &cases[c].o, &r1)]++;
		double worst = 0;
		for (int v = 0; v < 4; v++) {
			double sd = sqrt(cases[c].p[v] * (1 - cases[c].p[v]) / n) + 1e-12;
			double z = fabs(count[v] / (double)n - cases[c].p[v]) / sd;
			if (cases[c].p[v] == 0)
				z = count[v] ? 1e9 : 0;
			worst = fmax(worst, z);
		}
		ok(worst < 5, "%s (worst z %.2f)", cases[c].name, worst);
	}
	/* the same seed gives the same draws */
	sampler_opts o = {0.8f, 3, 0.95f};
	rng_seed(&r1, 9);
	rng_seed(&r2, 9);
	same = 1;
	for (int i = 0; i < 200; i++)
		same &= sample_token(&s, logits, 4, &o, &r1) == sample_token(&s, logits, 4, &o, &r2);
	ok(same, "sampling is reproducible from the seed");
	sampler_free(&s);

	/* UTF-8 across token boundaries */
	const char *e1[] = {"caf\xc3", "\xa9 ok"};
	check_utf8(e1, 2, "caf\xc3\xa9 ok", "a 2-byte character split over two tokens");
	const char *e2[] = {"\xf0\x9f", "\x98", "\x80!"};
	check_utf8(e2, 3, "\xf0\x9f\x98\x80!", "a 4-byte character split over three tokens");
	const char *e3[] = {"a\xff", "b"};
	check_utf8(e3, 2, "a\xef\xbf\xbd" "b", "an invalid byte becomes U+FFFD");
	const char *e4[] = {"\xe2\x82", "A"};
	check_utf8(e4, 2, "\xef\xbf\xbd" "A", "a sequence cut short: one U+FFFD, then the byte");
	const char *e5[] = {"x\xe2\x82"};
	check_utf8(e5, 1, "x\xef\xbf\xbd", "an incomplete sequence at the end: U+FFFD");
	const char *e6[] = {"\xed\xa0\x80"};
	check_utf8(e6, 1, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "a surrogate is ill-formed");
	const char *e7[] = {"\xc0\xaf"};
	check_utf8(e7, 1, "\xef\xbf\xbd\xef\xbf\xbd", "an overlong form is ill-formed");
	/* Unicode Standard 15, section 3.9, Table 3-8, one byte a token */
	const char *e8[] = {"a", "\xf1", "\x80", "\x80", "\xe1", "\x80", "\xc2", "b", "\x80", "c",
		"\x80", "\xbf", "d"};
	check_utf8(e8, 13, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd" "d",
		"Table 3-8 split into single bytes");
	const char *e9[] = {"\xf0\x90", "\xe2\x82\xac"};
	check_utf8(e9, 2, "\xef\xbf\xbd\xe2\x82\xac", "a held-back start broken by a new character: one U+FFFD, then it");
	const char *e10[] = {"\xf0", "\x8f"};
	check_utf8(e10, 2, "\xef\xbf\xbd\xef\xbf\xbd", "F0 then 8F (overlong) across tokens: two U+FFFD");
	return done_testing();
}
