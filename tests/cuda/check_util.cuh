/* check_util.cuh - what the GPU checks of tests/cuda/ share: a CUDA call
 * that must succeed (else "Bail out!" for TAP), the TAP lines of the checks
 * and a seeded random source, so that every run checks the same inputs. */
#ifndef BONSAI_CHECK_UTIL_CUH
#define BONSAI_CHECK_UTIL_CUH

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime.h>

#define CK(...)                                                                                \
	do {                                                                                   \
		cudaError_t e_ = (__VA_ARGS__);                                                \
		if (e_ != cudaSuccess) {                                                       \
			printf("Bail out! CUDA %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, \
			       __LINE__);                                                      \
			exit(1);                                                               \
		}                                                                              \
	} while (0)

static int ntest, nfail; /* checks so far, failed ones */
/* a TAP line: ok or not ok, then the description */
__attribute__((format(printf, 2, 3))) static inline void tap(int c, const char *fmt, ...)
{
	ntest++;
	nfail += !c;
	printf("%sok %d - ", c ? "" : "not ", ntest);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* xorshift64: uniform in [0, 1) */
static uint64_t rs = 0x9E3779B97F4A7C15ull;
static inline double urand()
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (rs >> 11) * (1.0 / 9007199254740992.0);
}
/* standard normal (Box-Muller) */
static inline double nrand()
{
	return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand());
}

#endif
