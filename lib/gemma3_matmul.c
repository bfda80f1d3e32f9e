/* gemma3_matmul.c - see gemma3_matmul.h. Written with GCC vector extensions
 * (8 floats, one AVX register) rather than intrinsics, so that the same code
 * compiles to AVX2 and to SSE2 (the "default" clone) with the same
 * arithmetic. The OpenMP loops stay outside the multiversioned functions:
 * each thread calls a cloned function on a block of the output. */
#include "gemma3_matmul.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef gemma3_v8 v8;

#define LOADV(v, p) memcpy(&(v), (p), sizeof(v8))
#define STOREV(p, v) memcpy((p), &(v), sizeof(v8))
#define INLINE static inline __attribute__((always_inline))

#define CLONES GEMMA3_CLONES

/* ---- forward: dot products of rows of inp with rows of W ---- */

/* The eight partial sums of a dot product, reduced as the scalar dot does. */
#define HSUM(s) ((((s)[0] + (s)[1]) + ((s)[2] + (s)[3])) + (((s)[4] + (s)[5]) + ((s)[6] + (s)[7])))

/* The end of one output: the eight partial sums reduced as the scalar dot
 * does, then the tail. */
INLINE float fwd_finish(const v8 *acc, const float *a, const float *w, int c8, int C)
{
	float s = HSUM(*acc);
	for (int i = c8; i < C; i++)
		s += a[i] * w[i];
	return s;
}

/* A 4x3 tile: out[r*ldo+q] = dot(A + r*C, W + q*C), twelve accumulators
 * in registers. */
INLINE void fwd_tile43(float *out, size_t ldo, const float *A, const float *W, int C)
{
	const float *a0 = A, *a1 = A + C, *a2 = A + 2 * (size_t)C, *a3 = A + 3 * (size_t)C;
	const float *w0 = W, *w1 = W + C, *w2 = W + 2 * (size_t)C;
	v8 c00 = { 0 }, c01 = { 0 }, c02 = { 0 }, c10 = { 0 }, c11 = { 0 }, c12 = { 0 };
	v8 c20 = { 0 }, c21 = { 0 }, c22 = { 0 }, c30 = { 0 }, c31 = { 0 }, c32 = { 0 };
	int c8 = C & ~7;
	for (int i = 0; i < c8; i += 8) {
		v8 x0, x1, x2, x3, y;
		LOADV(x0, a0 + i);
		LOADV(x1, a1 + i);
		LOADV(x2, a2 + i);
		LOADV(x3, a3 + i);
		LOADV(y, w0 + i);
		c00 += x0 * y; c10 += x1 * y; c20 += x2 * y; c30 += x3 * y;
		LOADV(y, w1 + i);
		c01 += x0 * y; c11 += x1 * y; c21 += x2 * y; c31 += x3 * y;
		LOADV(y, w2 + i);
		c02 += x0 * y; c12 += x1 * y; c22 += x2 * y; c32 += x3 * y;
	}
	out[0] = fwd_finish(&c00, a0, w0, c8, C);
	out[1] = fwd_finish(&c01, a0, w1, c8, C);
	out[2] = fwd_finish(&c02, a0, w2, c8, C);
	out[ldo] = fwd_finish(&c10, a1, w0, c8, C);
	out[ldo + 1] = fwd_finish(&c11, a1, w1, c8, C);
	out[ldo + 2] = fwd_finish(&c12, a1, w2, c8, C);
	out[2 * ldo] = fwd_finish(&c20, a2, w0, c8, C);
	out[2 * ldo + 1] = fwd_finish(&c21, a2, w1, c8, C);
	out[2 * ldo + 2] = fwd_finish(&c22, a2, w2, c8, C);
	out[3 * ldo] = fwd_finish(&c30, a3, w0, c8, C);
	out[3 * ldo + 1] = fwd_finish(&c31, a3, w1, c8, C);
	out[3 * ldo + 2] = fwd_finish(&c32, a3, w2, c8, C);
}

/* One row against four columns (decoding, and the rows left over). */
INLINE void fwd_tile14(float *out, const float *a, const float *W, int C)
{
	const float *w0 = W, *w1 = W + C, *w2 = W + 2 * (size_t)C, *w3 = W + 3 * (size_t)C;
	v8 c0 = { 0 }, c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
	int c8 = C & ~7;
	for (int i = 0; i < c8; i += 8) {
		v8 x, y;
		LOADV(x, a + i);
		LOADV(y, w0 + i);
		c0 += x * y;
		LOADV(y, w1 + i);
		c1 += x * y;
		LOADV(y, w2 + i);
		c2 += x * y;
		LOADV(y, w3 + i);
		c3 += x * y;
	}
	out[0] = fwd_finish(&c0, a, w0, c8, C);
	out[1] = fwd_finish(&c1, a, w1, c8, C);
	out[2] = fwd_finish(&c2, a, w2, c8, C);
	out[3] = fwd_finish(&c3, a, w3, c8, C);
}

CLONES static void fwd_block(float *out, const float *inp, const float *W, int C, int OC, int n0,
			     int n1, int o0, int o1)
{
	int n = n0;
	for (; n + 4 <= n1; n += 4) {
		int o = o0;
		for (; o + 3 <= o1; o += 3)
			fwd_tile43(out + (size_t)n * OC + o, OC, inp + (size_t)n * C, W + (size_t)o * C, C);
		for (; o < o1; o++)
			for (int r = 0; r < 4; r++)
				out[(size_t)(n + r) * OC + o] =
					gemma3_dot_inline(inp + (size_t)(n + r) * C, W + (size_t)o * C, C);
	}
	for (; n < n1; n++) {
		int o = o0;
		for (; o + 4 <= o1; o += 4)
			fwd_tile14(out + (size_t)n * OC + o, inp + (size_t)n * C, W + (size_t)o * C, C);
		for (; o < o1; o++)
			out[(size_t)n * OC + o] = gemma3_dot_inline(inp + (size_t)n * C, W + (size_t)o * C, C);
	}
}

/* Blocks of rows and columns: a block of W (FWD_COLS rows of it) meets a
 * block of inputs while both are in cache. */
#define FWD_ROWS 64
#define FWD_COLS 48

void gemma3_matmul_forward(float *out, const float *inp, const float *W, int N, int C, int OC)
{
	int nb = (N + FWD_ROWS - 1) / FWD_ROWS, ob = (OC + FWD_COLS - 1) / FWD_COLS;
	if (N == 1) {
		/* Decoding: one row, split over the columns. */
		ob = (OC + 15) / 16;
#pragma omp parallel for schedule(static) if (OC >= 256)
		for (int bo = 0; bo < ob; bo++)
			fwd_block(out, inp, W, C, OC, 0, 1, bo * 16, (bo + 1) * 16 < OC ? (bo + 1) * 16 : OC);
		return;
	}
#pragma omp parallel for collapse(2) schedule(static)
	for (int bo = 0; bo < ob; bo++)
		for (int bn = 0; bn < nb; bn++) {
			int n1 = (bn + 1) * FWD_ROWS < N ? (bn + 1) * FWD_ROWS : N;
			int o1 = (bo + 1) * FWD_COLS < OC ? (bo + 1) * FWD_COLS : OC;
			fwd_block(out, inp, W, C, OC, bn * FWD_ROWS, n1, bo * FWD_COLS, o1);
		}
}

/* ---- backward: C[M,J] (+)= A[M,K] @ B[K,J], each element summed in
 * ascending k, starting from 0 (first) or from C ----
 * A(m,k) = a[m*ams + k*aks], B(k,j) = b[k*ldb + j]. Goto-style: a KC-deep
 * slice of a block of B is packed into panels of 16 columns, a block of A
 * into panels of 6 rows, and a 6x16 register tile runs over the slice. The
 * partial sums go back to C between slices: the same bits as one pass. */
#define MR 6
#define NR 16
#define KC 256
#define MCB 48  /* rows of C per block (a multiple of MR) */

INLINE void micro(int kc, const float *Ap, const float *Bp, float *Cm, size_t ldc, int mr, int nr,
		  int first)
{
	float tmp[MR * NR];
	float *c = Cm;
	size_t ld = ldc;
	int full = mr == MR && nr == NR;
	if (!full) {
		memset(tmp, 0, sizeof tmp);
		if (!first)
			for (int r = 0; r < mr; r++)
				memcpy(tmp + r * NR, Cm + r * ldc, nr * sizeof(float));
		c = tmp;
		ld = NR;
	}
	/* Twelve named accumulators so that they stay in registers. */
	v8 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
#define ACC_LOAD(r) LOADV(c##r##0, c + r * ld); LOADV(c##r##1, c + r * ld + 8)
	if (first && full) {
		c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = (v8){ 0 };
	} else {
		ACC_LOAD(0); ACC_LOAD(1); ACC_LOAD(2); ACC_LOAD(3); ACC_LOAD(4); ACC_LOAD(5);
	}
	for (int k = 0; k < kc; k++) {
		v8 b0, b1;
		LOADV(b0, Bp + (size_t)k * NR);
		LOADV(b1, Bp + (size_t)k * NR + 8);
		const float *a = Ap + (size_t)k * MR;
#define ACC_STEP(r) c##r##0 += a[r] * b0; c##r##1 += a[r] * b1
		ACC_STEP(0); ACC_STEP(1); ACC_STEP(2); ACC_STEP(3); ACC_STEP(4); ACC_STEP(5);
	}
#define ACC_STORE(r) STOREV(c + r * ld, c##r##0); STOREV(c + r * ld + 8, c##r##1)
	ACC_STORE(0); ACC_STORE(1); ACC_STORE(2); ACC_STORE(3); ACC_STORE(4); ACC_STORE(5);
#undef ACC_LOAD
#undef ACC_STEP
#undef ACC_STORE
	if (!full)
		for (int r = 0; r < mr; r++)
			memcpy(Cm + r * ldc, tmp + r * NR, nr * sizeof(float));
}

/* Packs B(p0..p1, jp*NR..) into panel jp: [kc][NR], zero beyond J. */
static void pack_b(float *dst, const float *b, size_t ldb, int jp, int J, int p0, int p1)
{
	int kc = p1 - p0, jb = jp * NR, w = J - jb < NR ? J - jb : NR;
	for (int k = 0; k < kc; k++) {
		const float *src = b + (size_t)(p0 + k) * ldb + jb;
		float *d = dst + (size_t)k * NR;
		if (w == NR) {
			memcpy(d, src, NR * sizeof(float));
		} else {
			memcpy(d, src, (size_t)w * sizeof(float));
			memset(d + w, 0, (size_t)(NR - w) * sizeof(float));
		}
	}
}

/* One block of rows m0..m1 of C against all of the packed B slice: packs
 * the block of A into panels of MR rows ([kc][MR]), then the tiles. */
CLONES static void gemm_block(float *Cm, size_t ldc, const float *a, size_t ams, size_t aks,
			      const float *Bp, int J, int m0, int m1, int p0, int p1, int first,
			      float *Ap)
{
	int kc = p1 - p0, nj = (J + NR - 1) / NR, nm = (m1 - m0 + MR - 1) / MR;
	for (int ip = 0; ip < nm; ip++) {
		float *dst = Ap + (size_t)ip * kc * MR;
		int mb = m0 + ip * MR, h = m1 - mb < MR ? m1 - mb : MR;
		for (int r = 0; r < MR; r++) {
			if (r >= h) {
				for (int k = 0; k < kc; k++)
					dst[(size_t)k * MR + r] = 0.0f;
				continue;
			}
			const float *src = a + (size_t)(mb + r) * ams + (size_t)p0 * aks;
			for (int k = 0; k < kc; k++)
				dst[(size_t)k * MR + r] = src[(size_t)k * aks];
		}
	}
	for (int jp = 0; jp < nj; jp++) {
		int jb = jp * NR, w = J - jb < NR ? J - jb : NR;
		for (int ip = 0; ip < nm; ip++) {
			int mb = m0 + ip * MR, h = m1 - mb < MR ? m1 - mb : MR;
			micro(kc, Ap + (size_t)ip * kc * MR, Bp + (size_t)jp * kc * NR,
			      Cm + (size_t)mb * ldc + jb, ldc, h, w, first);
		}
	}
}

size_t gemma3_matmul_workspace(int C, int threads)
{
	/* A KC-deep slice of all of B (C columns), packed once and shared by
	 * the threads, then each thread's block of A. */
	size_t nj = ((size_t)(C > 0 ? C : 1) + NR - 1) / NR;
	return nj * NR * KC + (size_t)(threads > 0 ? threads : 1) * MCB * KC;
}

static void gemm(float *Cm, size_t ldc, const float *a, size_t ams, size_t aks, const float *b,
		 size_t ldb, int M, int J, int K, int accumulate, float *ws, int nt)
{
	if (M <= 0 || J <= 0)
		return;
	if (K <= 0) {
		if (!accumulate)
			for (int m = 0; m < M; m++)
				memset(Cm + (size_t)m * ldc, 0, (size_t)J * sizeof(float));
		return;
	}
	int mb = (M + MCB - 1) / MCB, nj = (J + NR - 1) / NR;
	float *Bp = ws;
	size_t nb = (size_t)nj * NR * KC, na = (size_t)MCB * KC;
#pragma omp parallel num_threads(nt)
	{
		float *Ap = Bp + nb + (size_t)gemma3_thread_num() * na;
		for (int p0 = 0; p0 < K; p0 += KC) {
			int p1 = p0 + KC < K ? p0 + KC : K, first = p0 == 0 && !accumulate;
#pragma omp for schedule(static)
			for (int jp = 0; jp < nj; jp++)
				pack_b(Bp + (size_t)jp * (p1 - p0) * NR, b, ldb, jp, J, p0, p1);
#pragma omp for schedule(static)
			for (int bm = 0; bm < mb; bm++) {
				int m1 = (bm + 1) * MCB < M ? (bm + 1) * MCB : M;
				gemm_block(Cm, ldc, a, ams, aks, Bp, J, bm * MCB, m1, p0, p1, first, Ap);
			}
		}
	}
}

void gemma3_matmul_backward_input(float *dinp, const float *dout, const float *W, int N, int C,
				  int OC, int accumulate, float *ws, int threads)
{
	/* dinp[n,i] = sum_o dout[n,o] W[o,i]: A = dout (rows n), B = W. */
	gemm(dinp, C, dout, OC, 1, W, C, N, C, OC, accumulate, ws, threads);
}

void gemma3_matmul_backward_weight(float *dW, const float *dout, const float *inp, int N, int C,
				   int OC, float *ws, int threads)
{
	/* dW[o,i] += sum_n dout[n,o] inp[n,i]: A = dout^T, B = inp. */
	gemm(dW, C, dout, 1, OC, inp, C, OC, C, N, 1, ws, threads);
}
