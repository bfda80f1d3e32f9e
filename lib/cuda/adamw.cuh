/* adamw.cuh - the optimizer step and what it needs: AdamW on the fp32
 * master weights with their bf16 copy, the copy itself, and the gradient's
 * squared norm in a fixed order. */
#ifndef BONSAI_CUDA_ADAMW_CUH
#define BONSAI_CUDA_ADAMW_CUH

#include "common.cuh"

/* AdamW on 4 elements: p, m, v at i of the optimizer's slice, pb and g at
 * i of the whole layout (the callers offset the pointers). */
__device__ __forceinline__ void adamw_step4(float4 *p, uint2 *pb, const float4 *g, float4 *m,
					    float4 *v, size_t i, float lr, float b1, float b2,
					    float eps, float wd, float clip, float bc1, float bc2_sqrt)
{
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

/* A run of tensors with the same weight decay, as far as it lies in the
 * optimizer's slice: n4 float4s from at4 of the whole layout, slice4 of the
 * slice; its blocks of adamw_runs_kernel start at block0. */
struct AdamwRun {
	size_t at4, slice4, n4;
	unsigned block0;
	float wd;
};
#define ADAMW_THREADS 256
#define ADAMW_ITEMS 8 /* float4s a thread: a block takes 2048 of its run */

/* Every run's AdamW in one launch (one launch a run left the GPU waiting on
 * the host's launches: with bonsai-train's mask, norms undecayed, four runs
 * a layer, most of them a few norm weights); each block finds its run by
 * its index. */
__global__ void __launch_bounds__(ADAMW_THREADS) adamw_runs_kernel(
	const AdamwRun *runs, int nruns, float4 *p, uint2 *pb, const float4 *g, float4 *m, float4 *v,
	float lr, float b1, float b2, float eps, float clip, float bc1, float bc2_sqrt)
{
	int lo = 0, hi = nruns - 1;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (runs[mid].block0 <= blockIdx.x)
			lo = mid;
		else
			hi = mid - 1;
	}
	const AdamwRun &r = runs[lo];
	size_t at = r.at4, sl = r.slice4, n4 = r.n4;
	float wd = r.wd;
	size_t i = (size_t)(blockIdx.x - r.block0) * ADAMW_THREADS * ADAMW_ITEMS + threadIdx.x;
#pragma unroll 1
	for (int k = 0; k < ADAMW_ITEMS; k++, i += ADAMW_THREADS)
		if (i < n4)
			adamw_step4(p + sl, pb + at, g + at, m + sl, v + sl, i, lr, b1, b2, eps, wd,
				    clip, bc1, bc2_sqrt);
}

/* The runs of nt tensors starting at toff[0..nt) (toff[nt]: the end), decay[t]
 * saying whether tensor t decays by wd, clipped to the optimizer's slice
 * [lo, hi) (tensors and slices start at multiples of 64 values); returns
 * their number (at most nt) and the blocks adamw_runs_kernel needs. */
static int adamw_build_runs(const size_t *toff, const unsigned char *decay, size_t nt, size_t lo,
			    size_t hi, float wd, AdamwRun *out, unsigned *blocks)
{
	int nr = 0;
	unsigned nb = 0;
	for (size_t i = 0, j; i < nt; i = j) {
		for (j = i + 1; j < nt && decay[j] == decay[i]; j++)
			;
		size_t a = toff[i] > lo ? toff[i] : lo, e = toff[j] < hi ? toff[j] : hi;
		if (e <= a)
			continue;
		AdamwRun r = {a / 4, (a - lo) / 4, (e - a) / 4, nb, decay[i] ? wd : 0.f};
		out[nr++] = r;
		nb += (unsigned)cdiv(r.n4, (size_t)ADAMW_THREADS * ADAMW_ITEMS);
	}
	*blocks = nb;
	return nr;
}

__global__ void f32_to_bf16_kernel(size_t n, const float *x, bf16 *y)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	size_t stride = (size_t)gridDim.x * blockDim.x;
	for (; i < n; i += stride)
		y[i] = __float2bfloat16(x[i]);
}

/* Sum of squares over a fixed grid (then one block sums the partials):
 * partial[block] = the block's sum of x^2, thread t adding x[t], x[t +
 * stride], ... in order, AHEAD loads issued before their adds (the order,
 * so the bits, of one at a time), then the warps' sums in order. */
template <int AHEAD = 8>
__global__ void sumsq_partial_kernel(size_t n, const float *x, float *partial)
{
	__shared__ float sm[32];
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	size_t stride = (size_t)gridDim.x * blockDim.x;
	float acc = 0.f;
	for (; i + (AHEAD - 1) * stride < n; i += AHEAD * stride) {
		float v[AHEAD];
#pragma unroll
		for (int u = 0; u < AHEAD; u++)
			v[u] = x[i + u * stride];
#pragma unroll
		for (int u = 0; u < AHEAD; u++)
			acc += v[u] * v[u];
	}
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

#endif
