/* test_train_microbatch.c - the micro-batch bonsai-train chooses when
 * --micro-batch is not given: divisors of the step's sequences, the GPU's
 * free memory less the margin, --recompute, nothing fitting, a given
 * value, and the CPU's rule. The estimate is a stand-in with the GPU
 * model's shape (fixed bytes plus bytes per token, fewer per token with
 * recompute), so that the limits fall where the test puts them. */
#include "tap.h"

#include "cli.h"
#include "../../train/microbatch.h"

#include <string.h>

#define GIB ((size_t)1 << 30)
enum { PER_TOKEN = 1 << 20, PER_TOKEN_RECOMPUTE = 1 << 18 };
static const size_t FIXED = 3 * GIB;
static int calls_recompute;

/* 2 GiB of FIXED are optimizer state, which the ranks of a job share. */
static size_t fake_bytes(const gemma3_config *c, int B, int T, int recompute, int ranks)
{
	(void)c;
	calls_recompute |= recompute;
	size_t fixed = ranks > 0 ? FIXED - 2 * GIB + 2 * GIB / (size_t)ranks : FIXED;
	return fixed + (size_t)B * T * (recompute ? PER_TOKEN_RECOMPUTE : PER_TOKEN);
}

/* The free memory whose usable part is exactly the estimate at B. */
static size_t free_for(int B, int T, int recompute)
{
	size_t need = fake_bytes(NULL, B, T, recompute, 0);
	/* usable = free - free/100*10 - 1 GiB, with free a multiple of 100 */
	size_t f = (need + MICROBATCH_MARGIN_BYTES) / 90 * 100;
	while (microbatch_usable(f) < need)
		f += 100;
	return f;
}

static int job_ranks; /* the request's ranks */

static int pick(long seqs, int T, int given, int gpu, int recompute, size_t free_bytes,
		microbatch_choice *ch, char *err, size_t n)
{
	gemma3_config c;
	memset(&c, 0, sizeof c);
	microbatch_request r = { .seqs = seqs, .T = T, .given = given, .gpu = gpu,
				 .recompute = recompute, .c = &c, .free_bytes = free_bytes,
				 .ranks = job_ranks, .bytes = fake_bytes };
	err[0] = 0;
	return microbatch_pick(&r, ch, err, n);
}

int main(void)
{
	cli_init("test_train_microbatch");
	microbatch_choice ch;
	char err[512];
	const size_t LOTS = (size_t)1 << 50;

	/* The margin. */
	is_int((long long)microbatch_usable(100 * GIB), (long long)(89 * GIB),
	       "100 GiB free: 89 GiB usable (10%% + 1 GiB held back)");
	is_int((long long)microbatch_usable(GIB), 0, "1 GiB free: nothing usable");
	is_int((long long)microbatch_usable(0), 0, "0 free: nothing usable");

	/* Divisibility, with memory to spare: the cap, then the divisors. */
	ok(pick(32, 1024, 0, 1, 0, LOTS, &ch, err, sizeof err) == 0 && ch.B == 32 && ch.accum == 1 &&
	   ch.chosen, "32 sequences a step, memory to spare: B 32, 1 pass (got %d x %ld)", ch.B, ch.accum);
	ok(pick(512, 1024, 0, 1, 0, LOTS, &ch, err, sizeof err) == 0 && ch.B == MICROBATCH_MAX &&
	   ch.accum == 512 / MICROBATCH_MAX, "512 sequences: capped at %d (got %d)", MICROBATCH_MAX, ch.B);
	ok(pick(96, 1024, 0, 1, 0, LOTS, &ch, err, sizeof err) == 0 && ch.B == 48 && ch.accum == 2,
	   "96 sequences: 48, the largest divisor under the cap (got %d)", ch.B);
	ok(pick(67, 1024, 0, 1, 0, LOTS, &ch, err, sizeof err) == 0 && ch.B == 1 && ch.accum == 67,
	   "67 sequences (prime, over the cap): 1 (got %d)", ch.B);
	ok(pick(5, 1024, 0, 1, 0, LOTS, &ch, err, sizeof err) == 0 && ch.B == 5,
	   "5 sequences: all 5 in one pass (got %d)", ch.B);

	/* The memory limit, at its edge. */
	ok(pick(32, 1024, 0, 1, 0, free_for(16, 1024, 0), &ch, err, sizeof err) == 0 && ch.B == 16 &&
	   ch.need == fake_bytes(NULL, 16, 1024, 0, 0) && ch.need <= ch.usable,
	   "free memory for exactly 16: B 16, estimate within the usable part (got %d)", ch.B);
	ok(pick(32, 1024, 0, 1, 0, free_for(16, 1024, 0) - 100, &ch, err, sizeof err) == 0 && ch.B == 8,
	   "a little less: B 8, the next divisor (got %d)", ch.B);
	ok(pick(32, 1024, 0, 1, 0, free_for(31, 1024, 0), &ch, err, sizeof err) == 0 && ch.B == 16,
	   "memory for 31: B 16, since 31 does not divide 32 (got %d)", ch.B);
	ok(pick(32, 1024, 0, 1, 0, fake_bytes(NULL, 32, 1024, 0, 0), &ch, err, sizeof err) == 0 &&
	   ch.B < 32, "free memory equal to the estimate at 32 is not enough: the margin (got %d)", ch.B);
	ok(pick(32, 4096, 0, 1, 0, free_for(16, 1024, 0), &ch, err, sizeof err) == 0 && ch.B == 4,
	   "the same memory at 4x the sequence length: B 4 (got %d)", ch.B);

	/* --recompute goes to the estimate and lets more fit. */
	calls_recompute = 0;
	ok(pick(32, 1024, 0, 1, 0, free_for(8, 1024, 0), &ch, err, sizeof err) == 0 && ch.B == 8 &&
	   !calls_recompute, "without --recompute: B 8 (got %d)", ch.B);
	ok(pick(32, 1024, 0, 1, 1, free_for(8, 1024, 0), &ch, err, sizeof err) == 0 && ch.B == 32 &&
	   calls_recompute && ch.need == fake_bytes(NULL, 32, 1024, 1, 0),
	   "the same memory with --recompute: B 32, the recompute estimate (got %d)", ch.B);

	/* A rank of a job shares the optimizer state (ZeRO-1): the estimate
	 * is asked for the job's ranks, and more fits. */
	ok(pick(64, 64, 0, 1, 0, free_for(16, 64, 0), &ch, err, sizeof err) == 0 && ch.B == 16,
	   "no job, memory for 16 of 64 tokens: B 16 (got %d)", ch.B);
	job_ranks = 4;
	ok(pick(64, 64, 0, 1, 0, free_for(16, 64, 0), &ch, err, sizeof err) == 0 && ch.B == 32 &&
		   ch.need == fake_bytes(NULL, 32, 64, 0, 4),
	   "the same memory on a rank of 4: B 32, the estimate of a rank's share (got %d)", ch.B);
	job_ranks = 0;

	/* Nothing fits. */
	ok(pick(32, 1024, 0, 1, 0, free_for(1, 1024, 0) - 100, &ch, err, sizeof err) == -1 &&
	   strstr(err, "--recompute") && strstr(err, "--seq") && strstr(err, "GiB"),
	   "not even B 1: an error suggesting --recompute or a smaller --seq: %s", err);
	ok(pick(32, 1024, 0, 1, 1, free_for(1, 1024, 1) - 100, &ch, err, sizeof err) == -1 &&
	   !strstr(err, "--recompute") && strstr(err, "--seq"),
	   "with --recompute already: it suggests a smaller --seq only: %s", err);
	ok(pick(32, 1024, 0, 1, 0, 0, &ch, err, sizeof err) == -1, "no free memory: an error");

	/* A given value is kept, whatever the memory. */
	ok(pick(32, 1024, 4, 1, 0, LOTS, &ch, err, sizeof err) == 0 && ch.B == 4 && ch.accum == 8 &&
	   !ch.chosen && ch.need == fake_bytes(NULL, 4, 1024, 0, 0),
	   "--micro-batch 4 with memory for 32: 4 x 8, its estimate given (got %d x %ld)", ch.B, ch.accum);
	ok(pick(32, 1024, 32, 1, 0, free_for(1, 1024, 0), &ch, err, sizeof err) == 0 && ch.B == 32 &&
	   ch.need > ch.usable, "--micro-batch 32 with memory for 1: 32 (the GPU says if it does not fit)");
	ok(pick(32, 1024, 4, 0, 0, 0, &ch, err, sizeof err) == 0 && ch.B == 4 && !ch.chosen,
	   "--micro-batch 4 on the CPU: 4");

	/* The CPU's rule: the largest of 1 to 8 that divides; memory not read. */
	ok(pick(32, 1024, 0, 0, 0, 0, &ch, err, sizeof err) == 0 && ch.B == 8 && ch.accum == 4 &&
	   ch.chosen && ch.need == 0, "CPU, 32 sequences: 8 x 4 (got %d x %ld)", ch.B, ch.accum);
	ok(pick(12, 1024, 0, 0, 0, 0, &ch, err, sizeof err) == 0 && ch.B == 6, "CPU, 12: 6 (got %d)", ch.B);
	ok(pick(7, 1024, 0, 0, 0, 0, &ch, err, sizeof err) == 0 && ch.B == 7, "CPU, 7: 7 (got %d)", ch.B);
	ok(pick(11, 1024, 0, 0, 0, 0, &ch, err, sizeof err) == 0 && ch.B == 1, "CPU, 11: 1 (got %d)", ch.B);
	return done_testing();
}
