/* qk_norm_rope.cuh - the per-head RMSNorm of q and k followed by RoPE,
 * forward and backward (with the norm weight's gradient), and launchers. */
#ifndef BONSAI_CUDA_QK_NORM_ROPE_CUH
#define BONSAI_CUDA_QK_NORM_ROPE_CUH

#include "common.cuh"

/* ---------------- QK-norm + RoPE ----------------
 * HD/16 threads per (token, head), each owning 8 adjacent RoPE pairs
 * (columns j..j+7 and half+j..half+j+7), so the rotation stays in the
 * thread, a warp covers 32/(HD/16) rows and every access is a 16-byte
 * vector. Needs HD in 16..512 (a power of two) and leading dimensions that
 * are multiples of 8. */
#define QK_BWD_BLOCKS 1056
#define QK_BWD_WARPS (QK_BWD_BLOCKS * 8)

template <int HD>
__global__ void __launch_bounds__(256) qk_norm_rope_fwd_kernel(int N, int T, int nh, float eps, const bf16 *raw,
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
		ld8(x + j, a);
		ld8(x + HALF + j, b);
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
	ld8(w + j, wa);
	ld8(w + HALF + j, wb);
	ld8(cos_t + (size_t)p * HALF + j, c);
	ld8(sin_t + (size_t)p * HALF + j, sn);
#pragma unroll
	for (int i = 0; i < 8; i++) {
		float ya = a[i] * rs * (1.f + wa[i]), yb = b[i] * rs * (1.f + wb[i]);
		oa[i] = ya * c[i] - yb * sn[i];
		ob[i] = yb * c[i] + ya * sn[i];
	}
	bf16 *o = out + (size_t)n * out_ld + (size_t)(h0 + h) * HD;
	st8(o + j, oa);
	st8(o + HALF + j, ob);
	if (j == 0)
		rstd[(size_t)n * rstd_ld + h0 + h] = rs;
}

/* Backward: dout (after RoPE) -> d raw (bf16). The norm weight gradient is
 * summed per thread over its rows (fixed grid, warp W takes row groups W,
 * W+nw, ...), then over the warp's row slots in a fixed butterfly order, into
 * partial[W][HD]. */
template <int HD>
__global__ void __launch_bounds__(256) qk_norm_rope_bwd_kernel(int N, int T, int nh, const bf16 *raw,
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
	ld8(w + j, wa);
	ld8(w + HALF + j, wb);
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
			ld8(x + j, xa);
			ld8(x + HALF + j, xb);
			ld8(g + j, ga);
			ld8(g + HALF + j, gb);
			ld8(cos_t + (size_t)p * HALF + j, c);
			ld8(sin_t + (size_t)p * HALF + j, sn);
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
		st8(d + j, da);
		st8(d + HALF + j, db);
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
static inline bool qk_norm_rope_fits(int hd, int ld_a, int ld_b)
{
	return (hd == 16 || hd == 32 || hd == 64 || hd == 128 || hd == 256 || hd == 512) &&
	       ld_a % 8 == 0 && ld_b % 8 == 0;
}
#define QK_HD_SWITCH(hd, F)                                                                    \
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
	if (!qk_norm_rope_fits(hd, raw_ld, out_ld))
		return cudaErrorInvalidValue;
	unsigned grid = (unsigned)(((long)N * nh * (hd / 16) + 255) / 256);
#define V_(K) qk_norm_rope_fwd_kernel<K><<<grid, 256, 0, st>>>(N, T, nh, eps, raw, raw_ld, h0, w, cos_t, sin_t, out, out_ld, rstd, rstd_ld)
	QK_HD_SWITCH(hd, V_)
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
	if (!qk_norm_rope_fits(hd, raw_ld, dout_ld) || dx_ld % 8)
		return cudaErrorInvalidValue;
#define V_(K) qk_norm_rope_bwd_kernel<K><<<QK_BWD_BLOCKS, 256, 0, st>>>(N, T, nh, raw, raw_ld, h0, w, cos_t, sin_t, dout, dout_ld, rstd, rstd_ld, dx, dx_ld, partial)
	QK_HD_SWITCH(hd, V_)
#undef V_
	cudaError_t e = cudaGetLastError();
	if (e != cudaSuccess)
		return e;
	reduce_partial_kernel<<<(hd + 31) / 32, 1024, 0, st>>>(QK_BWD_WARPS, hd, partial, grad_w);
	return cudaGetLastError();
}

#endif
