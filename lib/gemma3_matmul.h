/* gemma3_matmul.h - the matrix products of the Gemma 3 forward and
 * backward passes (fp32, OpenMP), blocked for the cache and vectorised, with
 * an AVX2 version chosen at run time (GCC function multiversioning) so that
 * the binary stays portable.
 *
 * Exactness: every output element is computed by one thread with its terms
 * in a fixed order that does not depend on the blocking, the thread count,
 * the number of rows, or the AVX2/plain version (no FMA contraction: a
 * multiply then an add, as the scalar code does). The results are the same
 * bits as the straightforward loops they replace:
 *   forward:         out[n,o] = dot8(inp[n,:], W[o,:]), eight partial sums
 *                    over the index mod 8 added as ((0+1)+(2+3))+((4+5)+(6+7)),
 *                    then the tail (C mod 8) in order;
 *   backward input:  dinp[n,i] = (0 or dinp[n,i]) + dout[n,0]*W[0,i] + ...
 *                    in ascending o;
 *   backward weight: dW[o,i] = dW[o,i] + dout[0,o]*inp[0,i] + ... in
 *                    ascending n. */
#ifndef BONSAI_GEMMA3_MATMUL_H
#define BONSAI_GEMMA3_MATMUL_H

#include <stddef.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* out[N,OC] = inp[N,C] @ W[OC,C]^T */
void gemma3_matmul_forward(float *out, const float *inp, const float *W, int N, int C, int OC);
/* The backward products pack their operands into the caller's workspace ws
 * of gemma3_matmul_workspace(C, threads) floats, so that a training step
 * allocates nothing; they run on at most that many threads. */
size_t gemma3_matmul_workspace(int C, int threads);
/* dinp[N,C] = dout[N,OC] @ W[OC,C], or += when accumulate */
void gemma3_matmul_backward_input(float *dinp, const float *dout, const float *W, int N, int C,
				  int OC, int accumulate, float *ws, int threads);
/* dW[OC,C] += dout[N,OC]^T @ inp[N,C] */
void gemma3_matmul_backward_weight(float *dW, const float *dout, const float *inp, int N, int C,
				   int OC, float *ws, int threads);
/* The dot product of the forward's outputs, to be inlined into a
 * multiversioned function (GEMMA3_CLONES) - attention uses it: eight partial sums over the index mod 8, reduced as
 * ((0+1)+(2+3))+((4+5)+(6+7)), then the tail in order. */
typedef float gemma3_v8 __attribute__((vector_size(32)));
static inline __attribute__((always_inline)) float gemma3_dot_inline(const float *a,
								      const float *b, int n)
{
	gemma3_v8 s = { 0 }, x, y;
	int n8 = n & ~7;
	for (int i = 0; i < n8; i += 8) {
		__builtin_memcpy(&x, a + i, sizeof x);
		__builtin_memcpy(&y, b + i, sizeof y);
		s += x * y;
	}
	float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
	for (int i = n8; i < n; i++)
		r += a[i] * b[i];
	return r;
}

/* The calling thread's number in an OpenMP team (0 outside one): the
 * index of its part of a per-thread buffer. */
static inline int gemma3_thread_num(void)
{
#ifdef _OPENMP
	return omp_get_thread_num();
#else
	return 0;
#endif
}

/* An AVX2 and a plain version of a function, chosen at run time. Put it on
 * functions called from inside OpenMP loops (not on functions that contain
 * them: the outlined loop bodies would not be cloned). */
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__)) && \
	!defined(__SANITIZE_ADDRESS__)
#define GEMMA3_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GEMMA3_CLONES
#endif

#endif
