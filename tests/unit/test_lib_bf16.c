/* test_lib_bf16.c - float32 to bfloat16 rounds to nearest, ties to even
 * (bonsai-train export --dtype bf16), and a bf16 export reads back through
 * gemma3_model_open as exactly those rounded values. */
#include "tap.h"

#include "cli.h"
#include "gemma3.h"
#include "hash.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static float bf16_value(uint16_t h) { return from_bits((uint32_t)h << 16); }

int main(void)
{
	/* 1 + 2^-8 lies half-way between 1 and 1 + 2^-7: the even one, 1 */
	is_int(gemma3_f32_to_bf16(from_bits(0x3f808000u)), 0x3f80, "a tie rounds down to even");
	is_int(gemma3_f32_to_bf16(from_bits(0x3f818000u)), 0x3f82, "a tie rounds up to even");
	is_int(gemma3_f32_to_bf16(from_bits(0x3f808001u)), 0x3f81, "above half rounds up");
	is_int(gemma3_f32_to_bf16(from_bits(0x3f807fffu)), 0x3f80, "below half rounds down");
	is_int(gemma3_f32_to_bf16(from_bits(0xbf818000u)), 0xbf82, "negative ties to even too");
	is_int(gemma3_f32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80, "FLT_MAX rounds to infinity");
	is_int(gemma3_f32_to_bf16(INFINITY), 0x7f80, "infinity stays");
	uint16_t nan = gemma3_f32_to_bf16(from_bits(0x7f800001u));
	ok((nan & 0x7f80) == 0x7f80 && (nan & 0x7f), "a NaN whose payload is in the low bits stays NaN");
	is_int(gemma3_f32_to_bf16(from_bits(0x00000001u)), 0, "the smallest subnormal rounds to 0");

	/* the nearest: no other bf16 value is closer, on random floats */
	uint64_t s = 12345;
	int worse = 0;
	for (int i = 0; i < 100000; i++) {
		float f = (float)((double)(splitmix64(&s) >> 11) * 0x1.0p-53 * 8.0 - 4.0);
		uint16_t h = gemma3_f32_to_bf16(f);
		double d = fabs((double)bf16_value(h) - f);
		if (fabs((double)bf16_value((uint16_t)(h + 1)) - f) < d ||
		    fabs((double)bf16_value((uint16_t)(h - 1)) - f) < d)
			worse++;
	}
	is_int(worse, 0, "on 100k random floats, no neighbour is nearer");

	/* a bf16 export reads back as the rounded values */
	gemma3_config c;
	char err[512];
	ok(gemma3_config_load("tiny", 320, &c, err, sizeof err) == 0, "tiny config: %s", err);
	size_t n = gemma3_num_params(&c);
	float *p = xmalloc(n * sizeof *p);
	gemma3_init_params(&c, p, 0.02f, 7);
	for (size_t i = 0; i < n; i += 97)
		p[i] += 0.5f; /* norm weights too: not all zero */
	char dir[] = "/tmp/test_lib_bf16_XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	ok(gemma3_save_dir(dir, &c, p, NULL, 1, err, sizeof err) == 0, "bf16 export written: %s", err);
	gemma3_model *m = gemma3_model_open(dir, err, sizeof err);
	ok(m != NULL, "the bf16 export opens: %s", m ? "" : err);
	size_t differ = 0, rounded = 0;
	for (size_t i = 0; m && i < n; i++) {
		float got = gemma3_model_params(m)[i];
		differ += got != bf16_value(gemma3_f32_to_bf16(p[i]));
		rounded += got != p[i];
	}
	is_int(differ, 0, "every parameter read back is the rounded value");
	ok(rounded > n / 2, "and most differ from the float32 ones (%zu of %zu)", rounded, n);
	gemma3_model_free(m);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "cleaned up");
	free(p);
	return done_testing();
}
