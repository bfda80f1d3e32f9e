/* adamw.cuh - the optimizer step and what it needs: AdamW on the fp32
 * master weights with their bf16 copy, the copy itself, and the gradient's
 * squared norm in a fixed order. */
#ifndef BONSAI_CUDA_ADAMW_CUH
#define BONSAI_CUDA_ADAMW_CUH

#include "common.cuh"

/* AdamW, 4 elements per thread (n and the offsets multiples of 4). */
__global__ void adamw_kernel(size_t n4, float4 *p, uint2 *pb, const float4 *g, float4 *m, float4 *v,
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

__global__ void f32_to_bf16_kernel(size_t n, const float *x, bf16 *y)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	size_t stride = (size_t)gridDim.x * blockDim.x;
	for (; i < n; i += stride)
		y[i] = __float2bfloat16(x[i]);
}

/* Sum of squares: fixed grid, per-block partials (then one block sums them). */
/* partial[block] = the block's sum of x^2: thread t adds x[t], x[t + stride],
 * ... in order, AHEAD loads issued before their adds (the order, so the
 * bits, of one at a time), then the warps' sums in order. */
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
