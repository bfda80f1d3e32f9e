/* gpu_kernels.cuh - the hand-written CUDA kernels of the GPU trainer (the
 * matrix products go through cuBLASLt in gpu_trainer.cu). Included by
 * gpu_trainer.cu and by the kernel checks in tests/cuda/.
 *
 * Conventions: a "row" is one token (or one token's head); bf16 storage,
 * fp32 arithmetic; every reduction has a fixed order (no float atomics), so
 * results are bitwise reproducible. */
#ifndef BONSAI_GPU_KERNELS_CUH
#define BONSAI_GPU_KERNELS_CUH

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

typedef __nv_bfloat16 bf16;

#define LOG2E_F 1.4426950408889634f

__device__ __forceinline__ float warp_sum(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

/* ------------------------------------------------------------------ */
/* Embedding: x[n] = E[tok[n]] * scale (fp32 master weights, fp32 out). */
__global__ void embed_fwd_kernel(int N, int d, const int32_t *tok, const float *E, float scale,
				 float *x)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (size_t)N * d)
		return;
	int n = (int)(i / d), j = (int)(i % d);
	x[i] = E[(size_t)tok[n] * d + j] * scale;
}

/* Embedding backward without atomics: the host sorts the positions by
 * token; block u sums the rows of unique token uniq[u] in position order.
 * dE[tok] += scale * sum. */
__global__ void embed_bwd_kernel(int d, const int32_t *uniq, const int32_t *start,
				 const int32_t *pos, const float *dx, float scale, float *dE)
{
	int u = blockIdx.x;
	int s = start[u], e = start[u + 1];
	float *row = dE + (size_t)uniq[u] * d;
	for (int j = threadIdx.x; j < d; j += blockDim.x) {
		float acc = 0.f;
		for (int i = s; i < e; i++)
			acc += dx[(size_t)pos[i] * d + j];
		row[j] += scale * acc;
	}
}

/* ------------------------------------------------------------------ */
/* grad[j] += sum_c partial[c][j] in a fixed order: warp w of the block sums
 * rows w, w+32, ... of its 32 columns, then warp 0 adds the 32 sums in
 * order. 1024 threads, grid ceil(d / 32). */
__global__ void __launch_bounds__(1024) reduce_partial_kernel(int nchunks, int d,
							       const float *partial, float *grad)
{
	__shared__ float sm[32][33];
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5, j = blockIdx.x * 32 + lane;
	float acc = 0.f;
	if (j < d)
		for (int c = w; c < nchunks; c += 32)
			acc += partial[(size_t)c * d + j];
	sm[w][lane] = acc;
	__syncthreads();
	if (w == 0) {
		float s = 0.f;
		for (int i = 0; i < 32; i++)
			s += sm[i][lane];
		if (j < d)
			grad[j] += s;
	}
}

/* GeGLU: gu rows are [gate(ff) | up(ff)]; g = gelu_tanh(gate) * up. */
__device__ __forceinline__ float tanh_fast(float x)
{
	float y;
	asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
	return y;
}

/* tanh.approx has a relative error of about 2^-11, under bf16's 2^-9. */
__device__ __forceinline__ float gelu_tanh(float x, float *dgelu)
{
	const float k0 = 0.7978845608028654f, k1 = 0.044715f;
	float u = k0 * (x + k1 * x * x * x);
	float t = tanh_fast(u);
	if (dgelu)
		*dgelu = 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * k0 * (1.f + 3.f * k1 * x * x);
	return 0.5f * x * (1.f + t);
}

/* ------------------------------------------------------------------ */
/* Vectorised versions (v2): a warp per row, the row held in registers,
 * lane L owning columns [8(32c + L), +8) of chunk c; 16-byte accesses.
 * NCH = ceil(d / 256). */
__device__ __forceinline__ void ld8(const float *p, float *v)
{
	float4 a = *(const float4 *)p, b = *(const float4 *)(p + 4);
	v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
__device__ __forceinline__ void ld8(const bf16 *p, float *v)
{
	uint4 r = *(const uint4 *)p;
	const __nv_bfloat162 *h = (const __nv_bfloat162 *)&r;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		float2 f = __bfloat1622float2(h[i]);
		v[2 * i] = f.x, v[2 * i + 1] = f.y;
	}
}
__device__ __forceinline__ void st8(float *p, const float *v)
{
	*(float4 *)p = make_float4(v[0], v[1], v[2], v[3]);
	*(float4 *)(p + 4) = make_float4(v[4], v[5], v[6], v[7]);
}
__device__ __forceinline__ void st8(bf16 *p, const float *v)
{
	uint4 r;
	__nv_bfloat162 *h = (__nv_bfloat162 *)&r;
#pragma unroll
	for (int i = 0; i < 4; i++)
		h[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
	*(uint4 *)p = r;
}

template <int NCH>
__global__ void __launch_bounds__(256) add_norm_fwd_v(int N, int d, float eps, const bf16 *u,
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
__global__ void __launch_bounds__(256) norm_bwd_v(int N, int d, const XT *x, const float *rstd,
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

/* 1 + w on 8 columns (0 past d), as norm_bwd_v holds it */
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

/* a lane's 8 dw sums of chunk c in norm_bwd2_v's shared memory (s: the
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

/* One RMSNorm(1+w) backward step of norm_bwd2_v on a row, its first pass:
 * loads the row's x into xv (with LOADG also its dy into g; else g holds dy
 * already, 0 past d) and returns k = (sum of g (1+w) x) rs^3 / d, summed in
 * norm_bwd_v's order. */
template <bool LOADG, int NCH, typename XT>
__device__ __forceinline__ float norm2_dot(float (&xv)[NCH][8], float (&g)[NCH][8], const XT *x,
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

/* Its second pass: out = J^T g as norm_bwd_v<., MODE> writes it (MODE 0:
 * bf16 write, 1: fp32 add, 2: fp32 write), dw += g x rs (in dwr, or with DWS
 * in the warp's shared area s); with MODE 1 or 2 the new row replaces g (the
 * next step's dy; it stays 0 past d, as that kernel pads). */
template <int MODE, bool DWS, int NCH, int R, typename OT>
__device__ __forceinline__ void norm2_apply(float (&g)[NCH][8], const float (&xv)[NCH][8],
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
 * over the rows: step 1 is norm_bwd_v<float, MODE1> (MODE1 1: dx += J1^T dy1,
 * 2: dx = J1^T dy1), step 2 norm_bwd_v<bf16, 0> on that dx (dbf = J2^T dx),
 * the new dx row kept in registers: dx is written once and never read back.
 * Same warps, rows, arithmetic and partial layout as the two kernels, so
 * every output has their bits. (1 + w) is loaded again for each row (an L1
 * hit) rather than held, leaving the registers to the second step; with DWS
 * the dw sums live in shared memory rather than in 16 NCH registers, which
 * would spill from NCH 7 on: 2 x 256 NCH floats a warp, each lane touching
 * only its own (so no barrier), laid out [chunk][half][lane][4] so that the
 * 16-byte accesses of a warp do not collide in the banks. */
template <int NCH, bool DWS, int MODE1>
__global__ void __launch_bounds__(256) norm_bwd2_v(int N, int d, const float *x1,
						   const float *rstd1, const float *w1,
						   const float *dy1, float *dx, const bf16 *x2,
						   const float *rstd2, const float *w2, bf16 *dbf,
						   float *partial1, float *partial2)
{
	extern __shared__ __align__(16) unsigned char smem_raw[];
	int lane = threadIdx.x & 31;
	int wb = blockDim.x / 32; /* any block size: warp gw takes the rows norm_bwd_v's gw does */
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
		float k = norm2_dot<true>(xv, g, x1, dy1, w1, rs, row, d, lane);
		norm2_apply<MODE1, DWS>(g, xv, dw1, s1, w1, rs, k, dx, row, d, lane);
		/* step 2, its dy the new dx row in g */
		rs = rstd2[row];
		k = norm2_dot<false>(xv, g, x2, (const float *)nullptr, w2, rs, row, d, lane);
		norm2_apply<0, DWS>(g, xv, dw2, s2, w2, rs, k, dbf, row, d, lane);
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

/* GeGLU on 8 columns per thread; grid (ceil(ff/2048), rows). */
__global__ void geglu_fwd_v(int N, int ff, const bf16 *gu, bf16 *g)
{
	int j = (blockIdx.x * blockDim.x + threadIdx.x) * 8;
	if (j >= ff)
		return;
	for (int n = blockIdx.y; n < N; n += gridDim.y) {
		float a[8], b[8], o[8];
		ld8(gu + (size_t)n * 2 * ff + j, a);
		ld8(gu + (size_t)n * 2 * ff + ff + j, b);
#pragma unroll
		for (int e = 0; e < 8; e++)
			o[e] = gelu_tanh(a[e], nullptr) * b[e];
		st8(g + (size_t)n * ff + j, o);
	}
}

__global__ void geglu_bwd_v(int N, int ff, const bf16 *gu, const bf16 *dg, bf16 *dgu)
{
	int j = (blockIdx.x * blockDim.x + threadIdx.x) * 8;
	if (j >= ff)
		return;
	for (int n = blockIdx.y; n < N; n += gridDim.y) {
		float a[8], b[8], dd[8], da[8], db[8];
		ld8(gu + (size_t)n * 2 * ff + j, a);
		ld8(gu + (size_t)n * 2 * ff + ff + j, b);
		ld8(dg + (size_t)n * ff + j, dd);
#pragma unroll
		for (int e = 0; e < 8; e++) {
			float dgl, ge = gelu_tanh(a[e], &dgl);
			da[e] = dd[e] * b[e] * dgl;
			db[e] = dd[e] * ge;
		}
		st8(dgu + (size_t)n * 2 * ff + j, da);
		st8(dgu + (size_t)n * 2 * ff + ff + j, db);
	}
}

/* Softmax + CE with 16-byte accesses (V and ld multiples of 8). */
__global__ void __launch_bounds__(512) ce_kernel_v(int V, bf16 *logits, size_t ld,
						   const int32_t *targets, float softcap,
						   float scale, float *loss, int write_grad)
{
	__shared__ float sm_m[16], sm_s[16];
	int row = blockIdx.x;
	bf16 *l = logits + (size_t)row * ld;
	int t = targets[row];
	float m = -INFINITY, s = 0.f;
	for (int j = threadIdx.x * 8; j < V; j += blockDim.x * 8) {
		float v[8], mx = -INFINITY;
		ld8(l + j, v);
#pragma unroll
		for (int e = 0; e < 8; e++) {
			if (softcap > 0.f)
				v[e] = softcap * tanhf(v[e] / softcap);
			mx = fmaxf(mx, v[e]);
		}
		float mm = fmaxf(m, mx), a = 0.f;
#pragma unroll
		for (int e = 0; e < 8; e++)
			a += __expf(v[e] - mm);
		s = (m == -INFINITY ? 0.f : s * __expf(m - mm)) + a;
		m = mm;
	}
	for (int o = 16; o > 0; o >>= 1) {
		float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
		float mm = fmaxf(m, m2);
		s = (m == -INFINITY ? 0.f : s * __expf(m - mm)) +
		    (m2 == -INFINITY ? 0.f : s2 * __expf(m2 - mm));
		m = mm;
	}
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, nw = blockDim.x / 32;
	if (lane == 0) {
		sm_m[warp] = m;
		sm_s[warp] = s;
	}
	__syncthreads();
	float M = -INFINITY;
	for (int i = 0; i < nw; i++)
		M = fmaxf(M, sm_m[i]);
	float S = 0.f;
	for (int i = 0; i < nw; i++)
		S += sm_m[i] == -INFINITY ? 0.f : sm_s[i] * __expf(sm_m[i] - M);
	float lse = M + logf(S);
	if (threadIdx.x == 0) {
		if (t >= 0) {
			float v = __bfloat162float(l[t]);
			if (softcap > 0.f)
				v = softcap * tanhf(v / softcap);
			loss[row] = lse - v;
		} else {
			loss[row] = 0.f;
		}
	}
	if (!write_grad)
		return;
	__syncthreads(); /* l[t] read before it is overwritten */
	for (int j = threadIdx.x * 8; j < V; j += blockDim.x * 8) {
		float v[8], o[8];
		ld8(l + j, v);
#pragma unroll
		for (int e = 0; e < 8; e++) {
			float dcap = 1.f, x = v[e];
			if (softcap > 0.f) {
				float th = tanhf(x / softcap);
				x = softcap * th;
				dcap = 1.f - th * th;
			}
			float p = __expf(x - lse);
			o[e] = t < 0 ? 0.f : (p - (j + e == t ? 1.f : 0.f)) * scale * dcap;
		}
		st8(l + j, o);
	}
}

/* AdamW, 4 elements per thread (n and the offsets multiples of 4). */
__global__ void adamw_v(size_t n4, float4 *p, uint2 *pb, const float4 *g, float4 *m, float4 *v,
			float lr, float b1, float b2, float eps, float wd, float clip, float bc1,
			float bc2_sqrt)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	size_t stride = (size_t)gridDim.x * blockDim.x;
	for (; i < n4; i += stride) {
		float4 gg = g[i], mm = m[i], vv = v[i], pp = p[i];
		float *gf = &gg.x, *mf = &mm.x, *vf = &vv.x, *pf = &pp.x;
#pragma unroll
		for (int e = 0; e < 4; e++) {
			float gr = gf[e] * clip;
			mf[e] = b1 * mf[e] + (1.f - b1) * gr;
			vf[e] = b2 * vf[e] + (1.f - b2) * gr * gr;
			float pi = pf[e] * (1.f - lr * wd);
			pf[e] = pi - (lr / bc1) * mf[e] / (sqrtf(vf[e]) / bc2_sqrt + eps);
		}
		m[i] = mm;
		v[i] = vv;
		p[i] = pp;
		uint2 r;
		__nv_bfloat162 *h = (__nv_bfloat162 *)&r;
		h[0] = __floats2bfloat162_rn(pp.x, pp.y);
		h[1] = __floats2bfloat162_rn(pp.z, pp.w);
		pb[i] = r;
	}
}

/* ------------------------------------------------------------------ */
/* bf16 logits chunk -> fp32 (with soft-capping) for gpu_trainer_logits */
__global__ void softcap_f32_kernel(size_t n, float *x, float cap)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n && cap > 0.f)
		x[i] = cap * tanhf(x[i] / cap);
}

/* ------------------------------------------------------------------ */
__global__ void f32_to_bf16_kernel(size_t n, const float *x, bf16 *y)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	size_t stride = (size_t)gridDim.x * blockDim.x;
	for (; i < n; i += stride)
		y[i] = __float2bfloat16(x[i]);
}

/* Sum of squares: fixed grid, per-block partials (then one block sums them). */
__global__ void sumsq_partial_kernel(size_t n, const float *x, float *partial)
{
	__shared__ float sm[32];
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	size_t stride = (size_t)gridDim.x * blockDim.x;
	float acc = 0.f;
	for (; i < n; i += stride)
		acc += x[i] * x[i];
	acc = warp_sum(acc);
	if ((threadIdx.x & 31) == 0)
		sm[threadIdx.x / 32] = acc;
	__syncthreads();
	if (threadIdx.x == 0) {
		float s = 0.f;
		for (int w = 0; w < (int)blockDim.x / 32; w++)
			s += sm[w];
		partial[blockIdx.x] = s;
	}
}

__global__ void sum_partial_kernel(int n, const float *partial, double *out)
{
	if (threadIdx.x == 0 && blockIdx.x == 0) {
		double s = 0;
		for (int i = 0; i < n; i++)
			s += partial[i];
		*out = s;
	}
}

/* D[b,h,t] = sum_j dO[b,t,h,j] * O[b,t,h,j], one warp per (b,t,h) row. */
__global__ void attn_bwd_dot_kernel(int BT, int T, int H, int hd, const bf16 *o, const bf16 *dO,
				    int ld, float *D)
{
	long row = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
	int lane = threadIdx.x & 31;
	if (row >= (long)BT * H)
		return;
	int n = (int)(row / H), h = (int)(row % H);
	const bf16 *a = o + (size_t)n * ld + (size_t)h * hd, *b = dO + (size_t)n * ld + (size_t)h * hd;
	float s = 0.f;
	for (int j = lane; j < hd; j += 32)
		s += __bfloat162float(a[j]) * __bfloat162float(b[j]);
	s = warp_sum(s);
	if (lane == 0) {
		int bb = n / T, t = n % T;
		D[((size_t)bb * H + h) * T + t] = s;
	}
}

/* ------------------------------------------------------------------ */
/* Flash attention (FA2 style) with mma.sync m16n8k16 bf16 tensor cores.
 * Causal, optional sliding window (key j visible to query i when
 * j <= i and j > i - window, as transformers defines it), grouped-query
 * heads. Tiles live in shared memory with rows padded by 8 elements (16
 * bytes) so that ldmatrix hits distinct banks. No T x T matrix is stored;
 * key blocks outside the causal window are skipped. lse is kept in log2
 * units: lse2 = max + log2(sum), p = exp2(s * scale * log2e - lse2). */

__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
	return (uint32_t)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void ldsm_x4(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3,
					uint32_t addr)
{
	asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
		     : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
		     : "r"(addr));
}

__device__ __forceinline__ void ldsm_x4_t(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3,
					  uint32_t addr)
{
	asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
		     : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
		     : "r"(addr));
}

__device__ __forceinline__ void mma16816(float *c, const uint32_t *a, uint32_t b0, uint32_t b1)
{
	asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
		     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
		     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi)
{
	__nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
	return *(uint32_t *)&v;
}

/* A fragment (16 x 16 at rows m0.., cols k0..) of a row-major smem tile. */
__device__ __forceinline__ void load_a(uint32_t *a, const bf16 *s, int ld, int m0, int k0)
{
	int i = threadIdx.x & 31, j = i >> 3;
	const bf16 *p = s + (size_t)(m0 + (i & 7) + (j & 1) * 8) * ld + k0 + (j >> 1) * 8;
	ldsm_x4(a[0], a[1], a[2], a[3], smem_u32(p));
}

/* B fragments of two n-tiles (n0, n0+8) for k0..k0+15 where B[k][n] = S[n][k]
 * (S row-major: e.g. K for Q K^T). b[0],b[1]: n-tile 0; b[2],b[3]: n-tile 1. */
__device__ __forceinline__ void load_bt(uint32_t *b, const bf16 *s, int ld, int n0, int k0)
{
	int i = threadIdx.x & 31;
	const bf16 *p = s + (size_t)(n0 + (i & 7) + (i >> 4) * 8) * ld + k0 + ((i >> 3) & 1) * 8;
	ldsm_x4(b[0], b[1], b[2], b[3], smem_u32(p));
}

/* B fragments where B[k][n] = S[k][n] (S row-major: e.g. V for P V). */
__device__ __forceinline__ void load_b(uint32_t *b, const bf16 *s, int ld, int n0, int k0)
{
	int i = threadIdx.x & 31, j = i >> 3;
	const bf16 *p = s + (size_t)(k0 + (i & 7) + (j & 1) * 8) * ld + n0 + (j >> 1) * 8;
	ldsm_x4_t(b[0], b[1], b[2], b[3], smem_u32(p));
}

/* Copies rows [r0, r0+R) of a strided bf16 matrix (row t at src + t*ld)
 * into smem (row stride HD+8) with cp.async (16 bytes, zero-filled past T),
 * for double buffering: the next tile streams in while this one is
 * computed. */
template <int HD>
__device__ __forceinline__ void load_tile_async(bf16 *dst, const bf16 *src, size_t ld, int r0,
						int R, int T)
{
	constexpr int VPR = HD / 8;
	for (int i = threadIdx.x; i < R * VPR; i += blockDim.x) {
		int r = i / VPR, c = (i % VPR) * 8;
		bool ok = r0 + r < T;
		const bf16 *g = src + (size_t)(ok ? r0 + r : 0) * ld + c;
		uint32_t sa = smem_u32(dst + r * (HD + 8) + c);
		int sz = ok ? 16 : 0;
		asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(sa), "l"(g),
			     "r"(sz));
	}
}
__device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_wait1() { asm volatile("cp.async.wait_group 1;\n" ::); }

__device__ __forceinline__ bool attn_visible(int qi, int kj, int T, int window)
{
	return kj <= qi && qi < T && (window <= 0 || kj > qi - window);
}

/* Forward. grid (ceil(T/64), Hq, B), 128 threads; warp w owns query rows
 * q0 + 16w .. +15. q/k/v/o: row (b*T+t) at base + (b*T+t)*ld + head*HD. */
template <int HD, int BK>
__global__ void __launch_bounds__(128) flash_fwd_kernel(const bf16 *q, int q_ld, const bf16 *k,
							int k_ld, const bf16 *v, int v_ld,
							bf16 *o, int o_ld, float *lse2, int T,
							int Hq, int Hkv, int window,
							float sl2)
{
	constexpr int BQ = 64, LD = HD + 8, NT = BK / 8, NO = HD / 8;
	extern __shared__ __align__(16) unsigned char smem_raw[];
	bf16 *sQ = (bf16 *)smem_raw, *sK2 = sQ + BQ * LD, *sV2 = sK2 + 2 * BK * LD;
	int qb = blockIdx.x, h = blockIdx.y, b = blockIdx.z, hk = h / (Hq / Hkv);
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int q0 = qb * BQ;
	const bf16 *qb_ = q + (size_t)b * T * q_ld + (size_t)h * HD;
	const bf16 *kb_ = k + (size_t)b * T * k_ld + (size_t)hk * HD;
	const bf16 *vb_ = v + (size_t)b * T * v_ld + (size_t)hk * HD;
	load_tile_async<HD>(sQ, qb_, q_ld, q0, BQ, T);

	float acc[NO][4];
#pragma unroll
	for (int i = 0; i < NO; i++)
		acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
	float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};
	int r_lo = q0 + warp * 16 + gq; /* this thread's rows: r_lo, r_lo + 8 */

	int kv_hi = min(T, q0 + BQ);
	int kv_lo = window > 0 ? max(0, q0 - window + 1) : 0;
	int kstart = (kv_lo / BK) * BK, ntile = (kv_hi - kstart + BK - 1) / BK;
	load_tile_async<HD>(sK2, kb_, k_ld, kstart, BK, T);
	load_tile_async<HD>(sV2, vb_, v_ld, kstart, BK, T);
	cp_commit();
	for (int it = 0; it < ntile; it++) {
		int k0 = kstart + it * BK;
		bf16 *sK = sK2 + (it & 1) * BK * LD, *sV = sV2 + (it & 1) * BK * LD;
		if (it + 1 < ntile) {
			load_tile_async<HD>(sK2 + ((it + 1) & 1) * BK * LD, kb_, k_ld, k0 + BK, BK, T);
			load_tile_async<HD>(sV2 + ((it + 1) & 1) * BK * LD, vb_, v_ld, k0 + BK, BK, T);
		}
		cp_commit();
		cp_wait1();
		__syncthreads();
		float s[NT][4];
#pragma unroll
		for (int i = 0; i < NT; i++)
			s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
		for (int kk = 0; kk < HD; kk += 16) {
			uint32_t a[4];
			load_a(a, sQ, LD, warp * 16, kk);
#pragma unroll
			for (int nt = 0; nt < NT; nt += 2) {
				uint32_t bb[4];
				load_bt(bb, sK, LD, nt * 8, kk);
				mma16816(s[nt], a, bb[0], bb[1]);
				mma16816(s[nt + 1], a, bb[2], bb[3]);
			}
		}
		/* mask (only blocks that cross the diagonal, the window's edge or T),
		 * scale, online softmax */
		bool full = k0 + BK - 1 <= q0 && (window <= 0 || k0 > q0 + BQ - 1 - window) &&
			    q0 + BQ <= T && k0 + BK <= T;
		float mnew[2] = {mrow[0], mrow[1]};
#pragma unroll
		for (int nt = 0; nt < NT; nt++)
#pragma unroll
			for (int e = 0; e < 4; e++) {
				int r = r_lo + (e >> 1) * 8, c = k0 + nt * 8 + tq * 2 + (e & 1);
				float x = (full || attn_visible(r, c, T, window)) ? s[nt][e] * sl2 : -INFINITY;
				s[nt][e] = x;
				mnew[e >> 1] = fmaxf(mnew[e >> 1], x);
			}
		float corr[2], muse[2];
#pragma unroll
		for (int i = 0; i < 2; i++) {
			mnew[i] = fmaxf(mnew[i], __shfl_xor_sync(0xffffffffu, mnew[i], 1));
			mnew[i] = fmaxf(mnew[i], __shfl_xor_sync(0xffffffffu, mnew[i], 2));
			muse[i] = mnew[i] == -INFINITY ? 0.f : mnew[i];
			corr[i] = exp2f(mrow[i] - muse[i]);
			mrow[i] = mnew[i];
		}
		float ls[2] = {0.f, 0.f};
		uint32_t pa[NT / 2][4];
#pragma unroll
		for (int nt = 0; nt < NT; nt++) {
			float p0 = exp2f(s[nt][0] - muse[0]), p1 = exp2f(s[nt][1] - muse[0]);
			float p2 = exp2f(s[nt][2] - muse[1]), p3 = exp2f(s[nt][3] - muse[1]);
			ls[0] += p0 + p1;
			ls[1] += p2 + p3;
			pa[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(p0, p1);
			pa[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(p2, p3);
		}
#pragma unroll
		for (int i = 0; i < 2; i++) {
			ls[i] += __shfl_xor_sync(0xffffffffu, ls[i], 1);
			ls[i] += __shfl_xor_sync(0xffffffffu, ls[i], 2);
			lrow[i] = lrow[i] * corr[i] + ls[i];
		}
#pragma unroll
		for (int i = 0; i < NO; i++) {
			acc[i][0] *= corr[0];
			acc[i][1] *= corr[0];
			acc[i][2] *= corr[1];
			acc[i][3] *= corr[1];
		}
		/* pa[kk] holds A for P columns kk*16..: a0a1 = (row g, ntile 2kk),
		 * a2a3 = (row g+8, ntile 2kk), a4a5 = (row g, ntile 2kk+1) ... */
#pragma unroll
		for (int kk = 0; kk < NT / 2; kk++) {
			uint32_t a[4] = {pa[kk][0], pa[kk][1], pa[kk][2], pa[kk][3]};
#pragma unroll
			for (int nt = 0; nt < NO; nt += 2) {
				uint32_t bb[4];
				load_b(bb, sV, LD, nt * 8, kk * 16);
				mma16816(acc[nt], a, bb[0], bb[1]);
				mma16816(acc[nt + 1], a, bb[2], bb[3]);
			}
		}
		__syncthreads(); /* the next prefetch overwrites this buffer */
	}
	/* normalise and write */
#pragma unroll
	for (int i = 0; i < 2; i++) {
		int r = r_lo + i * 8;
		if (r >= T)
			continue;
		float inv = lrow[i] > 0.f ? 1.f / lrow[i] : 0.f;
		bf16 *orow = o + ((size_t)b * T + r) * o_ld + (size_t)h * HD;
#pragma unroll
		for (int nt = 0; nt < NO; nt++)
			*(__nv_bfloat162 *)(orow + nt * 8 + tq * 2) =
				__floats2bfloat162_rn(acc[nt][i * 2] * inv, acc[nt][i * 2 + 1] * inv);
		if (tq == 0)
			lse2[((size_t)b * Hq + h) * T + r] =
				(mrow[i] == -INFINITY ? 0.f : mrow[i]) + log2f(lrow[i]);
	}
}

/* dQ. grid (ceil(T/64), Hq, B), 128 threads; warp w owns query rows. */
template <int HD, int BK>
__global__ void __launch_bounds__(128) flash_bwd_dq_kernel(
	const bf16 *q, int q_ld, const bf16 *k, int k_ld, const bf16 *v, int v_ld, const bf16 *dO,
	int do_ld, const float *lse2, const float *D, bf16 *dq, int dq_ld, int T, int Hq, int Hkv,
	int window, float sl2, float scale)
{
	constexpr int BQ = 64, LD = HD + 8, NT = BK / 8, NO = HD / 8;
	extern __shared__ __align__(16) unsigned char smem_raw[];
	bf16 *sQ = (bf16 *)smem_raw, *sdO = sQ + BQ * LD, *sK2 = sdO + BQ * LD,
	     *sV2 = sK2 + 2 * BK * LD;
	int qb = blockIdx.x, h = blockIdx.y, b = blockIdx.z, hk = h / (Hq / Hkv);
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int q0 = qb * BQ;
	load_tile_async<HD>(sQ, q + (size_t)b * T * q_ld + (size_t)h * HD, q_ld, q0, BQ, T);
	load_tile_async<HD>(sdO, dO + (size_t)b * T * do_ld + (size_t)h * HD, do_ld, q0, BQ, T);
	const bf16 *kb_ = k + (size_t)b * T * k_ld + (size_t)hk * HD;
	const bf16 *vb_ = v + (size_t)b * T * v_ld + (size_t)hk * HD;
	int r_lo = q0 + warp * 16 + gq;
	float L[2], Dr[2];
#pragma unroll
	for (int i = 0; i < 2; i++) {
		int r = r_lo + i * 8;
		L[i] = r < T ? lse2[((size_t)b * Hq + h) * T + r] : 0.f;
		Dr[i] = r < T ? D[((size_t)b * Hq + h) * T + r] : 0.f;
	}
	float acc[NO][4];
#pragma unroll
	for (int i = 0; i < NO; i++)
		acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
	int kv_hi = min(T, q0 + BQ);
	int kv_lo = window > 0 ? max(0, q0 - window + 1) : 0;
	int kstart = (kv_lo / BK) * BK, ntile = (kv_hi - kstart + BK - 1) / BK;
	load_tile_async<HD>(sK2, kb_, k_ld, kstart, BK, T);
	load_tile_async<HD>(sV2, vb_, v_ld, kstart, BK, T);
	cp_commit();
	for (int it = 0; it < ntile; it++) {
		int k0 = kstart + it * BK;
		bf16 *sK = sK2 + (it & 1) * BK * LD, *sV = sV2 + (it & 1) * BK * LD;
		if (it + 1 < ntile) {
			load_tile_async<HD>(sK2 + ((it + 1) & 1) * BK * LD, kb_, k_ld, k0 + BK, BK, T);
			load_tile_async<HD>(sV2 + ((it + 1) & 1) * BK * LD, vb_, v_ld, k0 + BK, BK, T);
		}
		cp_commit();
		cp_wait1();
		__syncthreads();
		float s[NT][4], dp[NT][4];
#pragma unroll
		for (int i = 0; i < NT; i++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				s[i][e] = dp[i][e] = 0.f;
#pragma unroll
		for (int kk = 0; kk < HD; kk += 16) {
			uint32_t a[4], a2[4];
			load_a(a, sQ, LD, warp * 16, kk);
			load_a(a2, sdO, LD, warp * 16, kk);
#pragma unroll
			for (int nt = 0; nt < NT; nt += 2) {
				uint32_t bb[4];
				load_bt(bb, sK, LD, nt * 8, kk);
				mma16816(s[nt], a, bb[0], bb[1]);
				mma16816(s[nt + 1], a, bb[2], bb[3]);
				load_bt(bb, sV, LD, nt * 8, kk);
				mma16816(dp[nt], a2, bb[0], bb[1]);
				mma16816(dp[nt + 1], a2, bb[2], bb[3]);
			}
		}
		bool full = k0 + BK - 1 <= q0 && (window <= 0 || k0 > q0 + BQ - 1 - window) &&
			    q0 + BQ <= T && k0 + BK <= T;
		uint32_t da[NT / 2][4];
#pragma unroll
		for (int nt = 0; nt < NT; nt++) {
			float ds[4];
#pragma unroll
			for (int e = 0; e < 4; e++) {
				int r = r_lo + (e >> 1) * 8, c = k0 + nt * 8 + tq * 2 + (e & 1);
				float p = (full || attn_visible(r, c, T, window))
						  ? exp2f(s[nt][e] * sl2 - L[e >> 1])
						  : 0.f;
				ds[e] = p * (dp[nt][e] - Dr[e >> 1]);
			}
			da[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(ds[0], ds[1]);
			da[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(ds[2], ds[3]);
		}
#pragma unroll
		for (int kk = 0; kk < NT / 2; kk++) {
			uint32_t a[4] = {da[kk][0], da[kk][1], da[kk][2], da[kk][3]};
#pragma unroll
			for (int nt = 0; nt < NO; nt += 2) {
				uint32_t bb[4];
				load_b(bb, sK, LD, nt * 8, kk * 16);
				mma16816(acc[nt], a, bb[0], bb[1]);
				mma16816(acc[nt + 1], a, bb[2], bb[3]);
			}
		}
		__syncthreads();
	}
#pragma unroll
	for (int i = 0; i < 2; i++) {
		int r = r_lo + i * 8;
		if (r >= T)
			continue;
		bf16 *row = dq + ((size_t)b * T + r) * dq_ld + (size_t)h * HD;
#pragma unroll
		for (int nt = 0; nt < NO; nt++)
			*(__nv_bfloat162 *)(row + nt * 8 + tq * 2) = __floats2bfloat162_rn(
				acc[nt][i * 2] * scale, acc[nt][i * 2 + 1] * scale);
	}
}

/* The query tiles a dK/dV block of the keys k0 .. k0 + bkv - 1 visits, in
 * order: every query head of the group (G of them), every query block of bq
 * rows that sees one of the keys; returns their count, qstart the first
 * block's row, nq the blocks a head. */
__device__ __forceinline__ int flash_dkdv_tiles(int k0, int bkv, int bq, int T, int window, int G,
						int &qstart, int &nq)
{
	int q_lo = k0;
	int q_hi = window > 0 ? min(T, k0 + bkv - 1 + window) : T;
	qstart = (q_lo / bq) * bq, nq = (q_hi - qstart + bq - 1) / bq;
	return G * nq;
}

/* The fetch of that list's tile it into buffer it & 1 of shared memory:
 * its Q and dO rows (cp.async, not committed) and its lse, D values (0 past
 * T), for the kv head hk of batch b. */
template <int HD, int BQ>
__device__ __forceinline__ void flash_dkdv_fetch(int it, int qstart, int nq, bf16 *sQ2, bf16 *sdO2,
						 float *sL2, float *sD2, const bf16 *q, int q_ld,
						 const bf16 *dO, int do_ld, const float *lse2,
						 const float *D, int b, int hk, int G, int Hq, int T)
{
	constexpr int LD = HD + 8;
	int h = hk * G + it / nq, qs = qstart + (it % nq) * BQ, buf = it & 1;
	load_tile_async<HD>(sQ2 + buf * BQ * LD, q + (size_t)b * T * q_ld + (size_t)h * HD, q_ld, qs,
			    BQ, T);
	load_tile_async<HD>(sdO2 + buf * BQ * LD, dO + (size_t)b * T * do_ld + (size_t)h * HD, do_ld,
			    qs, BQ, T);
	const float *Lh = lse2 + ((size_t)b * Hq + h) * T, *Dh = D + ((size_t)b * Hq + h) * T;
	for (int i = threadIdx.x; i < BQ; i += blockDim.x) {
		sL2[buf * BQ + i] = qs + i < T ? Lh[qs + i] : 0.f;
		sD2[buf * BQ + i] = qs + i < T ? Dh[qs + i] : 0.f;
	}
}

/* dK = scale accK and dV = accV of one m-tile: a thread's key rows r_lo and
 * r_lo + 8 (those below T), columns c0 + 8 nt + 2 tq, +1 of kv head hk. */
template <int HD, int NO>
__device__ __forceinline__ void flash_dkdv_store(const float (&accK)[NO][4],
						 const float (&accV)[NO][4], bf16 *dk, int dk_ld,
						 bf16 *dv, int dv_ld, int b, int T, int hk, int c0,
						 int r_lo, int tq, float scale)
{
#pragma unroll
	for (int i = 0; i < 2; i++) {
		int r = r_lo + i * 8;
		if (r >= T)
			continue;
		bf16 *krow = dk + ((size_t)b * T + r) * dk_ld + (size_t)hk * HD + c0;
		bf16 *vrow = dv + ((size_t)b * T + r) * dv_ld + (size_t)hk * HD + c0;
#pragma unroll
		for (int nt = 0; nt < NO; nt++) {
			*(__nv_bfloat162 *)(krow + nt * 8 + tq * 2) = __floats2bfloat162_rn(
				accK[nt][i * 2] * scale, accK[nt][i * 2 + 1] * scale);
			*(__nv_bfloat162 *)(vrow + nt * 8 + tq * 2) =
				__floats2bfloat162_rn(accV[nt][i * 2], accV[nt][i * 2 + 1]);
		}
	}
}

/* dK, dV. grid (ceil(T/64), Hkv * HD/HDP, B), 128 threads; warp w owns key
 * rows k0 + 16w..; the CTA accumulates columns [part*HDP, +HDP) of dK and
 * dV over every query head of the group and every query block that sees
 * the key block (no atomics: one CTA owns its outputs). */
template <int HD, int HDP>
__global__ void __launch_bounds__(128) flash_bwd_dkdv_kernel(
	const bf16 *q, int q_ld, const bf16 *k, int k_ld, const bf16 *v, int v_ld, const bf16 *dO,
	int do_ld, const float *lse2, const float *D, bf16 *dk, int dk_ld, bf16 *dv, int dv_ld,
	int T, int Hq, int Hkv, int window, float sl2, float scale)
{
	constexpr int BKV = 64, BQ = HD <= 64 ? 64 : 32, LD = HD + 8, NT = BQ / 8, NO = HDP / 8;
	constexpr int NPART = HD / HDP;
	extern __shared__ __align__(16) unsigned char smem_raw[];
	bf16 *sK = (bf16 *)smem_raw, *sV = sK + BKV * LD, *sQ2 = sV + BKV * LD,
	     *sdO2 = sQ2 + 2 * BQ * LD;
	float *sL2 = (float *)(sdO2 + 2 * BQ * LD), *sD2 = sL2 + 2 * BQ;
	int kb = blockIdx.x, hk = blockIdx.y / NPART, part = blockIdx.y % NPART, b = blockIdx.z;
	int G = Hq / Hkv;
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int k0 = kb * BKV, c0 = part * HDP;
	load_tile_async<HD>(sK, k + (size_t)b * T * k_ld + (size_t)hk * HD, k_ld, k0, BKV, T);
	load_tile_async<HD>(sV, v + (size_t)b * T * v_ld + (size_t)hk * HD, v_ld, k0, BKV, T);
	int kr_lo = k0 + warp * 16 + gq; /* this thread's key rows: kr_lo, +8 */
	float accK[NO][4], accV[NO][4];
#pragma unroll
	for (int i = 0; i < NO; i++)
#pragma unroll
		for (int e = 0; e < 4; e++)
			accK[i][e] = accV[i][e] = 0.f;
	int qstart, nq, ntile = flash_dkdv_tiles(k0, BKV, BQ, T, window, G, qstart, nq);
	auto fetch = [&](int it) {
		flash_dkdv_fetch<HD, BQ>(it, qstart, nq, sQ2, sdO2, sL2, sD2, q, q_ld, dO, do_ld,
					 lse2, D, b, hk, G, Hq, T);
	};
	fetch(0);
	cp_commit();
	for (int it = 0; it < ntile; it++) {
		int qs = qstart + (it % nq) * BQ, buf = it & 1;
		bf16 *sQ = sQ2 + buf * BQ * LD, *sdO = sdO2 + buf * BQ * LD;
		float *sL = sL2 + buf * BQ, *sD = sD2 + buf * BQ;
		if (it + 1 < ntile)
			fetch(it + 1);
		cp_commit();
		cp_wait1();
		__syncthreads();
		{
			/* S^T = K Q^T and dP^T = V dO^T for this warp's 16 keys */
			float s[NT][4], dp[NT][4];
#pragma unroll
			for (int i = 0; i < NT; i++)
#pragma unroll
				for (int e = 0; e < 4; e++)
					s[i][e] = dp[i][e] = 0.f;
#pragma unroll
			for (int kk = 0; kk < HD; kk += 16) {
				uint32_t a[4], a2[4];
				load_a(a, sK, LD, warp * 16, kk);
				load_a(a2, sV, LD, warp * 16, kk);
#pragma unroll
				for (int nt = 0; nt < NT; nt += 2) {
					uint32_t bb[4];
					load_bt(bb, sQ, LD, nt * 8, kk);
					mma16816(s[nt], a, bb[0], bb[1]);
					mma16816(s[nt + 1], a, bb[2], bb[3]);
					load_bt(bb, sdO, LD, nt * 8, kk);
					mma16816(dp[nt], a2, bb[0], bb[1]);
					mma16816(dp[nt + 1], a2, bb[2], bb[3]);
				}
			}
			bool full = k0 + BKV - 1 <= qs && (window <= 0 || k0 > qs + BQ - 1 - window) &&
				    qs + BQ <= T && k0 + BKV <= T;
			uint32_t pa[NT / 2][4], da[NT / 2][4];
#pragma unroll
			for (int nt = 0; nt < NT; nt++) {
				float p[4], ds[4];
#pragma unroll
				for (int e = 0; e < 4; e++) {
					int kr = kr_lo + (e >> 1) * 8, qc = nt * 8 + tq * 2 + (e & 1);
					float pv = full || (attn_visible(qs + qc, kr, T, window) && kr < T)
							   ? exp2f(s[nt][e] * sl2 - sL[qc])
							   : 0.f;
					p[e] = pv;
					ds[e] = pv * (dp[nt][e] - sD[qc]);
				}
				pa[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(p[0], p[1]);
				pa[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(p[2], p[3]);
				da[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(ds[0], ds[1]);
				da[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(ds[2], ds[3]);
			}
			/* dV += P^T dO, dK += dS^T Q (columns c0..c0+HDP) */
#pragma unroll
			for (int kk = 0; kk < NT / 2; kk++) {
#pragma unroll
				for (int nt = 0; nt < NO; nt += 2) {
					uint32_t bb[4];
					load_b(bb, sdO, LD, c0 + nt * 8, kk * 16);
					mma16816(accV[nt], pa[kk], bb[0], bb[1]);
					mma16816(accV[nt + 1], pa[kk], bb[2], bb[3]);
					load_b(bb, sQ, LD, c0 + nt * 8, kk * 16);
					mma16816(accK[nt], da[kk], bb[0], bb[1]);
					mma16816(accK[nt + 1], da[kk], bb[2], bb[3]);
				}
			}
		}
		__syncthreads();
	}
	flash_dkdv_store<HD>(accK, accV, dk, dk_ld, dv, dv_ld, b, T, hk, c0, kr_lo, tq, scale);
}

/* Shared-memory bytes of the attention kernels. */
static inline size_t flash_fwd_smem(int hd, int bk) { return (size_t)(64 + 4 * bk) * (hd + 8) * 2; }
static inline size_t flash_dq_smem(int hd, int bk) { return (size_t)(128 + 4 * bk) * (hd + 8) * 2; }
static inline size_t flash_dkdv_smem(int hd)
{
	int bq = hd <= 64 ? 64 : 32;
	return (size_t)(128 + 4 * bq) * (hd + 8) * 2 + 4 * bq * 4;
}

/* Host launchers. Strides are in elements; window 0 = full causal;
 * scale = the softmax scale (query_pre_attn_scalar^-1/2). */
template <int HD>
static cudaError_t flash_fwd_t(cudaStream_t st, const bf16 *q, int q_ld, const bf16 *k, int k_ld,
			       const bf16 *v, int v_ld, bf16 *o, int o_ld, float *lse2, int B,
			       int T, int Hq, int Hkv, int window, float scale)
{
	constexpr int BK = HD >= 256 ? 32 : 64;
	size_t sm = flash_fwd_smem(HD, BK);
	auto kern = flash_fwd_kernel<HD, BK>;
	cudaError_t e = cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm);
	if (e != cudaSuccess)
		return e;
	dim3 grid((T + 63) / 64, Hq, B);
	kern<<<grid, 128, sm, st>>>(q, q_ld, k, k_ld, v, v_ld, o, o_ld, lse2, T, Hq, Hkv, window,
				    scale * LOG2E_F);
	return cudaGetLastError();
}

template <int HD>
static cudaError_t flash_bwd_t(cudaStream_t st, const bf16 *q, int q_ld, const bf16 *k, int k_ld,
			       const bf16 *v, int v_ld, const bf16 *dO, int do_ld,
			       const float *lse2, const float *D, bf16 *dq, int dq_ld, bf16 *dk,
			       int dk_ld, bf16 *dv, int dv_ld, int B, int T, int Hq, int Hkv,
			       int window, float scale)
{
	constexpr int BK = HD >= 256 ? 32 : 64;
	constexpr int HDP = HD > 128 ? 128 : HD;
	size_t sm = flash_dq_smem(HD, BK);
	auto kq = flash_bwd_dq_kernel<HD, BK>;
	cudaError_t e = cudaFuncSetAttribute(kq, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm);
	if (e != cudaSuccess)
		return e;
	dim3 grid((T + 63) / 64, Hq, B);
	kq<<<grid, 128, sm, st>>>(q, q_ld, k, k_ld, v, v_ld, dO, do_ld, lse2, D, dq, dq_ld, T, Hq,
				  Hkv, window, scale * LOG2E_F, scale);
	if ((e = cudaGetLastError()) != cudaSuccess)
		return e;
	size_t sm2 = flash_dkdv_smem(HD);
	auto kk = flash_bwd_dkdv_kernel<HD, HDP>;
	e = cudaFuncSetAttribute(kk, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm2);
	if (e != cudaSuccess)
		return e;
	dim3 grid2((T + 63) / 64, Hkv * (HD / HDP), B);
	kk<<<grid2, 128, sm2, st>>>(q, q_ld, k, k_ld, v, v_ld, dO, do_ld, lse2, D, dk, dk_ld, dv,
				    dv_ld, T, Hq, Hkv, window, scale * LOG2E_F, scale);
	return cudaGetLastError();
}

#define FLASH_DISPATCH(hd, call)                                                               \
	((hd) == 16 ? call<16> : (hd) == 32 ? call<32> : (hd) == 64 ? call<64> :               \
	 (hd) == 128 ? call<128> : (hd) == 256 ? call<256> : nullptr)

typedef cudaError_t (*flash_fwd_fn)(cudaStream_t, const bf16 *, int, const bf16 *, int,
				    const bf16 *, int, bf16 *, int, float *, int, int, int, int,
				    int, float);
typedef cudaError_t (*flash_bwd_fn)(cudaStream_t, const bf16 *, int, const bf16 *, int,
				    const bf16 *, int, const bf16 *, int, const float *,
				    const float *, bf16 *, int, bf16 *, int, bf16 *, int, int, int,
				    int, int, int, float);
static inline flash_fwd_fn flash_fwd_for(int hd) { return FLASH_DISPATCH(hd, flash_fwd_t); }
static inline flash_bwd_fn flash_bwd_for(int hd) { return FLASH_DISPATCH(hd, flash_bwd_t); }


/* ---------------- QK-norm + RoPE ----------------
 * HD/16 threads per (token, head), each owning 8 adjacent RoPE pairs
 * (columns j..j+7 and half+j..half+j+7), so the rotation stays in the
 * thread, a warp covers 32/(HD/16) rows and every access is a 16-byte
 * vector. Needs HD in 16..512 (a power of two) and leading dimensions that
 * are multiples of 8. */
#define QK_BWD_BLOCKS 1056
#define QK_BWD_WARPS (QK_BWD_BLOCKS * 8)
__device__ __forceinline__ void ld_bf8(const bf16 *p, float *f)
{
	uint4 u = *reinterpret_cast<const uint4 *>(p);
	const __nv_bfloat162 *h = reinterpret_cast<const __nv_bfloat162 *>(&u);
#pragma unroll
	for (int i = 0; i < 4; i++) {
		float2 v = __bfloat1622float2(h[i]);
		f[2 * i] = v.x;
		f[2 * i + 1] = v.y;
	}
}
__device__ __forceinline__ void st_bf8(bf16 *p, const float *f)
{
	uint4 u;
	__nv_bfloat162 *h = reinterpret_cast<__nv_bfloat162 *>(&u);
#pragma unroll
	for (int i = 0; i < 4; i++)
		h[i] = __floats2bfloat162_rn(f[2 * i], f[2 * i + 1]);
	*reinterpret_cast<uint4 *>(p) = u;
}
__device__ __forceinline__ void ld_f8(const float *p, float *f)
{
	float4 a = *reinterpret_cast<const float4 *>(p), b = *reinterpret_cast<const float4 *>(p + 4);
	f[0] = a.x, f[1] = a.y, f[2] = a.z, f[3] = a.w, f[4] = b.x, f[5] = b.y, f[6] = b.z, f[7] = b.w;
}

template <int HD>
__global__ void __launch_bounds__(256) qk_fwd_v8(int N, int T, int nh, float eps, const bf16 *raw,
						 int raw_ld, int h0, const float *w,
						 const float *cos_t, const float *sin_t, bf16 *out,
						 int out_ld, float *rstd, int rstd_ld)
{
	constexpr int HALF = HD / 2, TPR = HALF / 8;
	long t = (long)blockIdx.x * blockDim.x + threadIdx.x, row = t / TPR;
	int j = (int)(t % TPR) * 8;
	bool ok = row < (long)N * nh; /* no early return: the lanes of a row shuffle */
	int n = ok ? (int)(row / nh) : 0, h = ok ? (int)(row % nh) : 0, p = n % T;
	float a[8] = {}, b[8] = {}, ss = 0.f;
	if (ok) {
		const bf16 *x = raw + (size_t)n * raw_ld + (size_t)(h0 + h) * HD;
		ld_bf8(x + j, a);
		ld_bf8(x + HALF + j, b);
	}
#pragma unroll
	for (int i = 0; i < 8; i++)
		ss += a[i] * a[i] + b[i] * b[i];
#pragma unroll
	for (int o = TPR / 2; o > 0; o >>= 1)
		ss += __shfl_xor_sync(0xffffffffu, ss, o);
	if (!ok)
		return;
	float rs = rsqrtf(ss / HD + eps), wa[8], wb[8], c[8], sn[8], oa[8], ob[8];
	ld_f8(w + j, wa);
	ld_f8(w + HALF + j, wb);
	ld_f8(cos_t + (size_t)p * HALF + j, c);
	ld_f8(sin_t + (size_t)p * HALF + j, sn);
#pragma unroll
	for (int i = 0; i < 8; i++) {
		float ya = a[i] * rs * (1.f + wa[i]), yb = b[i] * rs * (1.f + wb[i]);
		oa[i] = ya * c[i] - yb * sn[i];
		ob[i] = yb * c[i] + ya * sn[i];
	}
	bf16 *o = out + (size_t)n * out_ld + (size_t)(h0 + h) * HD;
	st_bf8(o + j, oa);
	st_bf8(o + HALF + j, ob);
	if (j == 0)
		rstd[(size_t)n * rstd_ld + h0 + h] = rs;
}

/* Backward: dout (after RoPE) -> d raw (bf16). The norm weight gradient is
 * summed per thread over its rows (fixed grid, warp W takes row groups W,
 * W+nw, ...), then over the warp's row slots in a fixed butterfly order, into
 * partial[W][HD]. */
template <int HD>
__global__ void __launch_bounds__(256) qk_bwd_v8(int N, int T, int nh, const bf16 *raw,
						 int raw_ld, int h0, const float *w,
						 const float *cos_t, const float *sin_t,
						 const bf16 *dout, int dout_ld, const float *rstd,
						 int rstd_ld, bf16 *dx, int dx_ld, float *partial)
{
	constexpr int HALF = HD / 2, TPR = HALF / 8, RPW = 32 / TPR;
	int lane = threadIdx.x & 31, j = (lane % TPR) * 8, slot = lane / TPR;
	int gw = blockIdx.x * 8 + threadIdx.x / 32, nw = gridDim.x * 8;
	long rows = (long)N * nh;
	float wa[8], wb[8], dwa[8] = {}, dwb[8] = {};
	ld_f8(w + j, wa);
	ld_f8(w + HALF + j, wb);
#pragma unroll
	for (int i = 0; i < 8; i++)
		wa[i] += 1.f, wb[i] += 1.f;
	for (long r0 = (long)gw * RPW; r0 < rows; r0 += (long)nw * RPW) {
		long row = r0 + slot;
		bool ok = row < rows;
		int n = ok ? (int)(row / nh) : 0, h = ok ? (int)(row % nh) : 0, p = n % T;
		float xa[8] = {}, xb[8] = {}, ga[8] = {}, gb[8] = {}, c[8] = {}, sn[8] = {}, rs = 0.f;
		if (ok) {
			const bf16 *x = raw + (size_t)n * raw_ld + (size_t)(h0 + h) * HD;
			const bf16 *g = dout + (size_t)n * dout_ld + (size_t)(h0 + h) * HD;
			ld_bf8(x + j, xa);
			ld_bf8(x + HALF + j, xb);
			ld_bf8(g + j, ga);
			ld_bf8(g + HALF + j, gb);
			ld_f8(cos_t + (size_t)p * HALF + j, c);
			ld_f8(sin_t + (size_t)p * HALF + j, sn);
			rs = rstd[(size_t)n * rstd_ld + h0 + h];
		}
		float dot = 0.f;
#pragma unroll
		for (int i = 0; i < 8; i++) {
			/* out_a = ya c - yb s, out_b = yb c + ya s */
			float dya = ga[i] * c[i] + gb[i] * sn[i], dyb = gb[i] * c[i] - ga[i] * sn[i];
			ga[i] = dya;
			gb[i] = dyb;
			dot += dya * wa[i] * xa[i] + dyb * wb[i] * xb[i];
		}
#pragma unroll
		for (int o = TPR / 2; o > 0; o >>= 1)
			dot += __shfl_xor_sync(0xffffffffu, dot, o);
		if (!ok)
			continue;
		float k = dot * rs * rs * rs / HD, da[8], db[8];
#pragma unroll
		for (int i = 0; i < 8; i++) {
			da[i] = rs * wa[i] * ga[i] - xa[i] * k;
			db[i] = rs * wb[i] * gb[i] - xb[i] * k;
			dwa[i] += ga[i] * xa[i] * rs;
			dwb[i] += gb[i] * xb[i] * rs;
		}
		bf16 *d = dx + (size_t)n * dx_ld + (size_t)(h0 + h) * HD;
		st_bf8(d + j, da);
		st_bf8(d + HALF + j, db);
	}
#pragma unroll
	for (int o = TPR; o < 32; o <<= 1)
#pragma unroll
		for (int i = 0; i < 8; i++) {
			dwa[i] += __shfl_xor_sync(0xffffffffu, dwa[i], o);
			dwb[i] += __shfl_xor_sync(0xffffffffu, dwb[i], o);
		}
	if (slot == 0)
#pragma unroll
		for (int i = 0; i < 8; i++) {
			partial[(size_t)gw * HD + j + i] = dwa[i];
			partial[(size_t)gw * HD + HALF + j + i] = dwb[i];
		}
}

/* Whether the 16-byte kernels apply: head sizes 16..512 in steps the
 * vectors tile, and 16-byte aligned rows. */
static inline bool qk_v8_ok(int hd, int ld_a, int ld_b)
{
	return (hd == 16 || hd == 32 || hd == 64 || hd == 128 || hd == 256 || hd == 512) &&
	       ld_a % 8 == 0 && ld_b % 8 == 0;
}
#define QK_V8_SWITCH(hd, F)                                                                    \
	switch (hd) {                                                                          \
	case 16: F(16); break;                                                                 \
	case 32: F(32); break;                                                                 \
	case 64: F(64); break;                                                                 \
	case 128: F(128); break;                                                               \
	case 256: F(256); break;                                                               \
	default: F(512); break;                                                                \
	}

static cudaError_t qk_norm_rope_fwd(cudaStream_t st, int N, int T, int nh, int hd, float eps,
				    const bf16 *raw, int raw_ld, int h0, const float *w,
				    const float *cos_t, const float *sin_t, bf16 *out, int out_ld,
				    float *rstd, int rstd_ld)
{
	if (!qk_v8_ok(hd, raw_ld, out_ld))
		return cudaErrorInvalidValue;
	unsigned grid = (unsigned)(((long)N * nh * (hd / 16) + 255) / 256);
#define V_(K) qk_fwd_v8<K><<<grid, 256, 0, st>>>(N, T, nh, eps, raw, raw_ld, h0, w, cos_t, sin_t, out, out_ld, rstd, rstd_ld)
	QK_V8_SWITCH(hd, V_)
#undef V_
	return cudaGetLastError();
}

/* grad_w += the norm weight gradient; partial holds QK_BWD_WARPS * hd floats */
static cudaError_t qk_norm_rope_bwd(cudaStream_t st, int N, int T, int nh, int hd,
				    const bf16 *raw, int raw_ld, int h0, const float *w,
				    const float *cos_t, const float *sin_t, const bf16 *dout,
				    int dout_ld, const float *rstd, int rstd_ld, bf16 *dx, int dx_ld,
				    float *partial, float *grad_w)
{
	if (!qk_v8_ok(hd, raw_ld, dout_ld) || dx_ld % 8)
		return cudaErrorInvalidValue;
#define V_(K) qk_bwd_v8<K><<<QK_BWD_BLOCKS, 256, 0, st>>>(N, T, nh, raw, raw_ld, h0, w, cos_t, sin_t, dout, dout_ld, rstd, rstd_ld, dx, dx_ld, partial)
	QK_V8_SWITCH(hd, V_)
#undef V_
	cudaError_t e = cudaGetLastError();
	if (e != cudaSuccess)
		return e;
	reduce_partial_kernel<<<(hd + 31) / 32, 1024, 0, st>>>(QK_BWD_WARPS, hd, partial, grad_w);
	return cudaGetLastError();
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
#define F_(K) add_norm_fwd_v<K><<<grid, 256, 0, st>>>(N, d, eps, u, wa, res_in, res_out, rstd_a, wb, h, rstd_b)
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
#define F_(K) norm_bwd_v<XT, MODE, K><<<NORM_BWD_BLOCKS, 256, 0, st>>>(N, d, x, rstd, w, dy, dx, partial)
	NCH_SWITCH(d, F_)
#undef F_
	cudaError_t e = cudaGetLastError();
	if (e != cudaSuccess)
		return e;
	reduce_partial_kernel<<<(d + 31) / 32, 1024, 0, st>>>(NORM_BWD_WARPS, d, partial, grad_w);
	return cudaGetLastError();
}

/* The fused pair (norm_bwd2_v): step 1 on x1 (fp32) with dy1 into dx
 * (mode1 1: dx += J1^T dy1 as norm_bwd<float, 1>; 2: dx = J1^T dy1 as
 * norm_bwd<float, 2>), then dbf = J2^T dx on x2 (bf16) as norm_bwd<bf16, 0>;
 * grad_w1 += dw1, grad_w2 += dw2. partial1 and partial2: NORM_BWD_WARPS * d
 * floats each, not overlapping. dws: 1 keeps the dw sums in shared memory,
 * 0 in registers (d <= 1280 only: above, they spill), -1 picks (registers up
 * to d 768). Blocks of 4 warps, so that the shared memory (8 KiB a warp
 * and NCH) stays at 96 KiB a block up to d 3072 (under sm_80's 163). */
#define NORM_BWD2_THREADS 128
#define NORM_BWD2_REG_NCH 5 /* the register version is built up to this NCH */
template <int K, int MODE1>
static cudaError_t norm_bwd2_k(cudaStream_t st, int N, int d, const float *x1, const float *rstd1,
			       const float *w1, const float *dy1, float *dx, const bf16 *x2,
			       const float *rstd2, const float *w2, bf16 *dbf, float *partial1,
			       float *partial2, int dws)
{
	unsigned grid = NORM_BWD_WARPS / (NORM_BWD2_THREADS / 32);
	if (dws < 0)
		dws = K > 3;
	if constexpr (K <= NORM_BWD2_REG_NCH) {
		if (!dws) {
			norm_bwd2_v<K, false, MODE1><<<grid, NORM_BWD2_THREADS, 0, st>>>(
				N, d, x1, rstd1, w1, dy1, dx, x2, rstd2, w2, dbf, partial1, partial2);
			return cudaGetLastError();
		}
	}
	size_t sm = (size_t)(NORM_BWD2_THREADS / 32) * 2 * K * 256 * sizeof(float);
	if (sm > 48 * 1024) {
		cudaError_t e = cudaFuncSetAttribute(norm_bwd2_v<K, true, MODE1>,
						     cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm);
		if (e != cudaSuccess)
			return e;
	}
	norm_bwd2_v<K, true, MODE1><<<grid, NORM_BWD2_THREADS, sm, st>>>(
		N, d, x1, rstd1, w1, dy1, dx, x2, rstd2, w2, dbf, partial1, partial2);
	return cudaGetLastError();
}

static cudaError_t norm_bwd2(cudaStream_t st, int N, int d, const float *x1, const float *rstd1,
			     const float *w1, const float *dy1, float *dx, const bf16 *x2,
			     const float *rstd2, const float *w2, bf16 *dbf, float *partial1,
			     float *grad_w1, float *partial2, float *grad_w2, int mode1 = 1,
			     int dws = -1)
{
	if (d % 8 || (mode1 != 1 && mode1 != 2) || (!dws && d > 256 * NORM_BWD2_REG_NCH))
		return cudaErrorInvalidValue;
	cudaError_t e;
#define F_(K)                                                                                  \
	e = mode1 == 1 ? norm_bwd2_k<K, 1>(st, N, d, x1, rstd1, w1, dy1, dx, x2, rstd2, w2, dbf, \
					 partial1, partial2, dws)                                \
		       : norm_bwd2_k<K, 2>(st, N, d, x1, rstd1, w1, dy1, dx, x2, rstd2, w2, dbf, \
					 partial1, partial2, dws)
	NCH_SWITCH(d, F_)
#undef F_
	if (e != cudaSuccess)
		return e;
	reduce_partial_kernel<<<(d + 31) / 32, 1024, 0, st>>>(NORM_BWD_WARPS, d, partial1, grad_w1);
	reduce_partial_kernel<<<(d + 31) / 32, 1024, 0, st>>>(NORM_BWD_WARPS, d, partial2, grad_w2);
	return cudaGetLastError();
}

static cudaError_t geglu_fwd(cudaStream_t st, int N, int ff, const bf16 *gu, bf16 *g)
{
	dim3 grid((ff / 8 + 127) / 128, N < 65535 ? N : 65535);
	geglu_fwd_v<<<grid, 128, 0, st>>>(N, ff, gu, g);
	return cudaGetLastError();
}

static cudaError_t geglu_bwd(cudaStream_t st, int N, int ff, const bf16 *gu, const bf16 *dg,
			     bf16 *dgu)
{
	dim3 grid((ff / 8 + 127) / 128, N < 65535 ? N : 65535);
	geglu_bwd_v<<<grid, 128, 0, st>>>(N, ff, gu, dg, dgu);
	return cudaGetLastError();
}

/* flash attention version 2 (the default) */
#include "gpu_attention.cuh"

#endif
