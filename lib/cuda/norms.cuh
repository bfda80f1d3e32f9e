/* norms.cuh - RMSNorm with Gemma's (1 + w) weight: the forward pass fused
 * with the residual add before it (add_norm_fwd), the backward pass
 * (norm_bwd) and two backward steps fused in one pass (norm_bwd_pair), each
 * with its launcher. A warp per row, the row held in registers, lane L
 * owning columns [8(32c + L), +8) of chunk c; 16-byte accesses; NCH =
 * ceil(d / 256) chunks. */
#ifndef BONSAI_CUDA_NORMS_CUH
#define BONSAI_CUDA_NORMS_CUH

#include "common.cuh"

template <int NCH>
__global__ void __launch_bounds__(256) add_norm_fwd_kernel(int N, int d, float eps, const bf16 *u,
						      const float *wa, const float *res_in,
						      float *res_out, float *rstd_a,
						      const float *wb, bf16 *h, float *rstd_b)
{
	int row = blockIdx.x * 8 + threadIdx.x / 32, lane = threadIdx.x & 31;
	if (row >= N)
		return;
	float x[NCH][8];
	const float *xin = res_in + (size_t)row * d;
#pragma unroll
	for (int c = 0; c < NCH; c++) {
		int col = (c * 32 + lane) * 8;
		if (col < d)
			ld8(xin + col, x[c]);
		else
#pragma unroll
			for (int e = 0; e < 8; e++)
				x[c][e] = 0.f;
	}
	if (u) {
		float uu[NCH][8], ss = 0.f;
#pragma unroll
		for (int c = 0; c < NCH; c++) {
			int col = (c * 32 + lane) * 8;
			if (col < d)
				ld8(u + (size_t)row * d + col, uu[c]);
			else
#pragma unroll
				for (int e = 0; e < 8; e++)
					uu[c][e] = 0.f;
#pragma unroll
			for (int e = 0; e < 8; e++)
				ss += uu[c][e] * uu[c][e];
		}
		float rs = rsqrtf(warp_sum(ss) / d + eps);
		if (lane == 0)
			rstd_a[row] = rs;
#pragma unroll
		for (int c = 0; c < NCH; c++) {
			int col = (c * 32 + lane) * 8;
			if (col >= d)
				continue;
			float w8[8];
			ld8(wa + col, w8);
#pragma unroll
			for (int e = 0; e < 8; e++)
				x[c][e] += uu[c][e] * rs * (1.f + w8[e]);
			st8(res_out + (size_t)row * d + col, x[c]);
		}
	}
	if (wb) {
		float ss = 0.f;
#pragma unroll
		for (int c = 0; c < NCH; c++)
#pragma unroll
			for (int e = 0; e < 8; e++)
				ss += x[c][e] * x[c][e];
		float rs = rsqrtf(warp_sum(ss) / d + eps);
		if (lane == 0)
			rstd_b[row] = rs;
#pragma unroll
		for (int c = 0; c < NCH; c++) {
			int col = (c * 32 + lane) * 8;
			if (col >= d)
				continue;
			float w8[8], o[8];
			ld8(wb + col, w8);
#pragma unroll
			for (int e = 0; e < 8; e++)
				o[e] = x[c][e] * rs * (1.f + w8[e]);
			st8(h + (size_t)row * d + col, o);
		}
	}
}

/* RMSNorm(1+w) backward with the weight gradient fused: a fixed grid of
 * warps, warp W taking rows W, W + nwarps, ... in order and keeping its
 * share of dw in registers; partial[W][d] is summed afterwards in warp
 * order (reduce_partial_kernel), so the result does not depend on timing. */
template <typename XT, int MODE, int NCH>
__global__ void __launch_bounds__(256) norm_bwd_kernel(int N, int d, const XT *x, const float *rstd,
						  const float *w, const float *dy, void *dxv,
						  float *partial)
{
	int lane = threadIdx.x & 31;
	int gw = blockIdx.x * 8 + threadIdx.x / 32, nw = gridDim.x * 8;
	float w1[NCH][8], dw[NCH][8];
#pragma unroll
	for (int c = 0; c < NCH; c++) {
		int col = (c * 32 + lane) * 8;
#pragma unroll
		for (int e = 0; e < 8; e++)
			dw[c][e] = 0.f, w1[c][e] = 0.f;
		if (col < d) {
			ld8(w + col, w1[c]);
#pragma unroll
			for (int e = 0; e < 8; e++)
				w1[c][e] += 1.f;
		}
	}
	for (int row = gw; row < N; row += nw) {
		float xv[NCH][8], g[NCH][8], dot = 0.f;
		float rs = rstd[row];
#pragma unroll
		for (int c = 0; c < NCH; c++) {
			int col = (c * 32 + lane) * 8;
			if (col < d) {
				ld8(x + (size_t)row * d + col, xv[c]);
				ld8(dy + (size_t)row * d + col, g[c]);
			} else {
#pragma unroll
				for (int e = 0; e < 8; e++)
					xv[c][e] = g[c][e] = 0.f;
			}
#pragma unroll
			for (int e = 0; e < 8; e++)
				dot += g[c][e] * w1[c][e] * xv[c][e];
		}
		dot = warp_sum(dot);
		float k = dot * rs * rs * rs / d;
#pragma unroll
		for (int c = 0; c < NCH; c++) {
			int col = (c * 32 + lane) * 8;
			if (col >= d)
				continue;
			float o[8];
#pragma unroll
			for (int e = 0; e < 8; e++) {
				o[e] = rs * w1[c][e] * g[c][e] - xv[c][e] * k;
				dw[c][e] += g[c][e] * xv[c][e] * rs;
			}
			size_t at = (size_t)row * d + col;
			if (MODE == 0) {
				st8((bf16 *)dxv + at, o);
			} else if (MODE == 1) {
				float prev[8];
				ld8((float *)dxv + at, prev);
#pragma unroll
				for (int e = 0; e < 8; e++)
					o[e] += prev[e];
				st8((float *)dxv + at, o);
			} else {
				st8((float *)dxv + at, o);
			}
		}
	}
#pragma unroll
	for (int c = 0; c < NCH; c++) {
		int col = (c * 32 + lane) * 8;
		if (col < d)
			st8(partial + (size_t)gw * d + col, dw[c]);
	}
}

/* 1 + w on 8 columns (0 past d), as norm_bwd_kernel holds it */
__device__ __forceinline__ void norm_w1p(const float *w, int col, int d, float *v)
{
#pragma unroll
	for (int e = 0; e < 8; e++)
		v[e] = 0.f;
	if (col < d) {
		ld8(w + col, v);
#pragma unroll
		for (int e = 0; e < 8; e++)
			v[e] += 1.f;
	}
}

/* a lane's 8 dw sums of chunk c in norm_bwd_pair_kernel's shared memory (s: the
 * warp's area + 4 lane) */
__device__ __forceinline__ void dws_ld8(const float *s, int c, float *v)
{
	float4 a = *(const float4 *)(s + c * 256), b = *(const float4 *)(s + c * 256 + 128);
	v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
__device__ __forceinline__ void dws_st8(float *s, int c, const float *v)
{
	*(float4 *)(s + c * 256) = make_float4(v[0], v[1], v[2], v[3]);
	*(float4 *)(s + c * 256 + 128) = make_float4(v[4], v[5], v[6], v[7]);
}

/* One RMSNorm(1+w) backward step of norm_bwd_pair_kernel on a row, its first pass:
 * loads the row's x into xv (with LOADG also its dy into g; else g holds dy
 * already, 0 past d) and returns k = (sum of g (1+w) x) rs^3 / d, summed in
 * norm_bwd_kernel's order. */
template <bool LOADG, int NCH, typename XT>
__device__ __forceinline__ float norm_pair_dot(float (&xv)[NCH][8], float (&g)[NCH][8], const XT *x,
					   const float *dy, const float *w, float rs, int row,
					   int d, int lane)
{
	float dot = 0.f;
#pragma unroll
	for (int c = 0; c < NCH; c++) {
		int col = (c * 32 + lane) * 8;
		float wp[8];
		if (col < d) {
			ld8(x + (size_t)row * d + col, xv[c]);
			if (LOADG)
				ld8(dy + (size_t)row * d + col, g[c]);
		} else {
#pragma unroll
			for (int e = 0; e < 8; e++) {
				xv[c][e] = 0.f;
				if (LOADG)
					g[c][e] = 0.f;
			}
		}
		norm_w1p(w, col, d, wp);
#pragma unroll
		for (int e = 0; e < 8; e++)
			dot += g[c][e] * wp[e] * xv[c][e];
	}
	dot = warp_sum(dot);
	return dot * rs * rs * rs / d;
}

/* Its second pass: out = J^T g as norm_bwd_kernel<., MODE> writes it (MODE 0:
 * bf16 write, 1: fp32 add, 2: fp32 write), dw += g x rs (in dwr, or with DWS
 * in the warp's shared area s); with MODE 1 or 2 the new row replaces g (the
 * next step's dy; it stays 0 past d, as that kernel pads). */
template <int MODE, bool DWS, int NCH, int R, typename OT>
__device__ __forceinline__ void norm_pair_apply(float (&g)[NCH][8], const float (&xv)[NCH][8],
					    float (&dwr)[R][8], float *s, const float *w, float rs,
					    float k, OT *out, int row, int d, int lane)
{
#pragma unroll
	for (int c = 0; c < NCH; c++) {
		int col = (c * 32 + lane) * 8;
		if (col >= d)
			continue;
		float wp[8], o[8], dw[8];
		norm_w1p(w, col, d, wp);
		if (DWS)
			dws_ld8(s, c, dw);
#pragma unroll
		for (int e = 0; e < 8; e++) {
			o[e] = rs * wp[e] * g[c][e] - xv[c][e] * k;
			if (DWS)
				dw[e] += g[c][e] * xv[c][e] * rs;
			else
				dwr[DWS ? 0 : c][e] += g[c][e] * xv[c][e] * rs;
		}
		if (DWS)
			dws_st8(s, c, dw);
		size_t at = (size_t)row * d + col;
		if constexpr (MODE == 1) {
			float prev[8];
			ld8(out + at, prev);
#pragma unroll
			for (int e = 0; e < 8; e++)
				o[e] += prev[e];
		}
		st8(out + at, o);
		if constexpr (MODE != 0) {
#pragma unroll
			for (int e = 0; e < 8; e++)
				g[c][e] = o[e];
		}
	}
}

/* The two RMSNorm(1+w) backward steps that meet at the residual, in one pass
 * over the rows: step 1 is norm_bwd_kernel<float, MODE1> (MODE1 1: dx += J1^T dy1,
 * 2: dx = J1^T dy1), step 2 norm_bwd_kernel<bf16, 0> on that dx (dbf = J2^T dx),
 * the new dx row kept in registers: dx is written once and never read back.
 * Same warps, rows, arithmetic and partial layout as the two kernels, so
 * every output has their bits. (1 + w) is loaded again for each row (an L1
 * hit) rather than held, leaving the registers to the second step; with DWS
 * the dw sums live in shared memory rather than in 16 NCH registers, which
 * would spill from NCH 7 on: 2 x 256 NCH floats a warp, each lane touching
 * only its own (so no barrier), laid out [chunk][half][lane][4] so that the
 * 16-byte accesses of a warp do not collide in the banks. */
template <int NCH, bool DWS, int MODE1>
__global__ void __launch_bounds__(256) norm_bwd_pair_kernel(int N, int d, const float *x1,
						   const float *rstd1, const float *w1,
						   const float *dy1, float *dx, const bf16 *x2,
						   const float *rstd2, const float *w2, bf16 *dbf,
						   float *partial1, float *partial2)
{
	extern __shared__ __align__(16) unsigned char smem_raw[];
	int lane = threadIdx.x & 31;
	int wb = blockDim.x / 32; /* any block size: warp gw takes the rows norm_bwd_kernel's gw does */
	int gw = blockIdx.x * wb + threadIdx.x / 32, nw = gridDim.x * wb;
	float *s1 = (float *)smem_raw + (size_t)(threadIdx.x / 32) * 2 * NCH * 256 + lane * 4;
	float *s2 = s1 + NCH * 256;
	const int R = DWS ? 1 : NCH; /* dw chunks held in registers */
	float dw1[R][8], dw2[R][8];
#pragma unroll
	for (int c = 0; c < NCH; c++) {
		int col = (c * 32 + lane) * 8;
		float z[8];
#pragma unroll
		for (int e = 0; e < 8; e++)
			z[e] = dw1[DWS ? 0 : c][e] = dw2[DWS ? 0 : c][e] = 0.f;
		if (DWS && col < d)
			dws_st8(s1, c, z), dws_st8(s2, c, z);
	}
	for (int row = gw; row < N; row += nw) {
		/* step 1 */
		float xv[NCH][8], g[NCH][8];
		float rs = rstd1[row];
		float k = norm_pair_dot<true>(xv, g, x1, dy1, w1, rs, row, d, lane);
		norm_pair_apply<MODE1, DWS>(g, xv, dw1, s1, w1, rs, k, dx, row, d, lane);
		/* step 2, its dy the new dx row in g */
		rs = rstd2[row];
		k = norm_pair_dot<false>(xv, g, x2, (const float *)nullptr, w2, rs, row, d, lane);
		norm_pair_apply<0, DWS>(g, xv, dw2, s2, w2, rs, k, dbf, row, d, lane);
	}
#pragma unroll
	for (int c = 0; c < NCH; c++) {
		int col = (c * 32 + lane) * 8;
		if (col >= d)
			continue;
		if (DWS) {
			dws_ld8(s1, c, dw1[0]);
			dws_ld8(s2, c, dw2[0]);
		}
		st8(partial1 + (size_t)gw * d + col, dw1[DWS ? 0 : c]);
		st8(partial2 + (size_t)gw * d + col, dw2[DWS ? 0 : c]);
	}
}


/* ---------------- launchers of the row kernels ---------------- */
#define NCH_MAX 12 /* hidden sizes up to 3072 */
#define NCH_SWITCH(d, F)                                                                       \
	switch (((d) + 255) / 256) {                                                           \
	case 1: F(1); break;                                                                   \
	case 2: F(2); break;                                                                   \
	case 3: F(3); break;                                                                   \
	case 4: F(4); break;                                                                   \
	case 5: F(5); break;                                                                   \
	case 6: F(6); break;                                                                   \
	case 7: F(7); break;                                                                   \
	case 8: F(8); break;                                                                   \
	case 9: F(9); break;                                                                   \
	case 10: F(10); break;                                                                 \
	case 11: F(11); break;                                                                 \
	case 12: F(12); break;                                                                 \
	default: return cudaErrorInvalidValue;                                                 \
	}

static cudaError_t add_norm_fwd(cudaStream_t st, int N, int d, float eps, const bf16 *u,
				const float *wa, const float *res_in, float *res_out,
				float *rstd_a, const float *wb, bf16 *h, float *rstd_b)
{
	unsigned grid = (N + 7) / 8;
#define F_(K) add_norm_fwd_kernel<K><<<grid, 256, 0, st>>>(N, d, eps, u, wa, res_in, res_out, rstd_a, wb, h, rstd_b)
	NCH_SWITCH(d, F_)
#undef F_
	return cudaGetLastError();
}

/* Warps of the norm backward's fixed grid: partial needs NORM_BWD_WARPS * d floats. */
#define NORM_BWD_BLOCKS 264
#define NORM_BWD_WARPS (NORM_BWD_BLOCKS * 8)

/* dx from dy (MODE 0: bf16 write, 1: fp32 add, 2: fp32 write); grad_w += dw. */
template <typename XT, int MODE>
static cudaError_t norm_bwd(cudaStream_t st, int N, int d, const XT *x, const float *rstd,
			    const float *w, const float *dy, void *dx, float *partial,
			    float *grad_w)
{
#define F_(K) norm_bwd_kernel<XT, MODE, K><<<NORM_BWD_BLOCKS, 256, 0, st>>>(N, d, x, rstd, w, dy, dx, partial)
	NCH_SWITCH(d, F_)
#undef F_
	cudaError_t e = cudaGetLastError();
	if (e != cudaSuccess)
		return e;
	reduce_partial_kernel<<<(d + 31) / 32, 1024, 0, st>>>(NORM_BWD_WARPS, d, partial, grad_w);
	return cudaGetLastError();
}

/* The fused pair (norm_bwd_pair_kernel): step 1 on x1 (fp32) with dy1 into dx
 * (mode1 1: dx += J1^T dy1 as norm_bwd<float, 1>; 2: dx = J1^T dy1 as
 * norm_bwd<float, 2>), then dbf = J2^T dx on x2 (bf16) as norm_bwd<bf16, 0>;
 * grad_w1 += dw1, grad_w2 += dw2. partial1 and partial2: NORM_BWD_WARPS * d
 * floats each, not overlapping. dws: 1 keeps the dw sums in shared memory,
 * 0 in registers (d <= 1280 only: above, they spill), -1 picks (registers up
 * to d 768). Blocks of 4 warps, so that the shared memory (8 KiB a warp
 * and NCH) stays at 96 KiB a block up to d 3072 (under sm_80's 163). */
#define NORM_BWD_PAIR_THREADS 128
#define NORM_BWD_PAIR_REG_NCH 5 /* the register version is built up to this NCH */
template <int K, int MODE1>
static cudaError_t norm_bwd_pair_launch(cudaStream_t st, int N, int d, const float *x1, const float *rstd1,
			       const float *w1, const float *dy1, float *dx, const bf16 *x2,
			       const float *rstd2, const float *w2, bf16 *dbf, float *partial1,
			       float *partial2, int dws)
{
	unsigned grid = NORM_BWD_WARPS / (NORM_BWD_PAIR_THREADS / 32);
	if (dws < 0)
		dws = K > 3;
	if constexpr (K <= NORM_BWD_PAIR_REG_NCH) {
		if (!dws) {
			norm_bwd_pair_kernel<K, false, MODE1><<<grid, NORM_BWD_PAIR_THREADS, 0, st>>>(
				N, d, x1, rstd1, w1, dy1, dx, x2, rstd2, w2, dbf, partial1, partial2);
			return cudaGetLastError();
		}
	}
	size_t sm = (size_t)(NORM_BWD_PAIR_THREADS / 32) * 2 * K * 256 * sizeof(float);
	return launch_smem(norm_bwd_pair_kernel<K, true, MODE1>, grid, NORM_BWD_PAIR_THREADS, sm, st, N,
			   d, x1, rstd1, w1, dy1, dx, x2, rstd2, w2, dbf, partial1, partial2);
}

static cudaError_t norm_bwd_pair(cudaStream_t st, int N, int d, const float *x1, const float *rstd1,
			     const float *w1, const float *dy1, float *dx, const bf16 *x2,
			     const float *rstd2, const float *w2, bf16 *dbf, float *partial1,
			     float *grad_w1, float *partial2, float *grad_w2, int mode1 = 1,
			     int dws = -1)
{
	if (d % 8 || (mode1 != 1 && mode1 != 2) || (!dws && d > 256 * NORM_BWD_PAIR_REG_NCH))
		return cudaErrorInvalidValue;
	cudaError_t e;
#define F_(K)                                                                                  \
	e = mode1 == 1 ? norm_bwd_pair_launch<K, 1>(st, N, d, x1, rstd1, w1, dy1, dx, x2, rstd2, w2, dbf, \
					 partial1, partial2, dws)                                \
		       : norm_bwd_pair_launch<K, 2>(st, N, d, x1, rstd1, w1, dy1, dx, x2, rstd2, w2, dbf, \
					 partial1, partial2, dws)
	NCH_SWITCH(d, F_)
#undef F_
	if (e != cudaSuccess)
		return e;
	reduce_partial_kernel<<<(d + 31) / 32, 1024, 0, st>>>(NORM_BWD_WARPS, d, partial1, grad_w1);
	reduce_partial_kernel<<<(d + 31) / 32, 1024, 0, st>>>(NORM_BWD_WARPS, d, partial2, grad_w2);
	return cudaGetLastError();
}

#endif
