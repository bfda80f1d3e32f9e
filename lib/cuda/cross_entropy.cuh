/* cross_entropy.cuh - what is made of the logits: softmax cross-entropy
 * with its gradient written over the logits (training), fp32 soft-capping
 * (gemma3_gpu_logits), and the scoring of bonsai-eval: the rows that have a
 * target gathered, then log-softmax at the target and whether it is the
 * greedy choice. */
#ifndef BONSAI_CUDA_CROSS_ENTROPY_CUH
#define BONSAI_CUDA_CROSS_ENTROPY_CUH

#include "common.cuh"

/* Softmax + CE with 16-byte accesses (V and ld multiples of 8). */
__global__ void __launch_bounds__(512) cross_entropy_kernel(int V, bf16 *logits, size_t ld,
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

/* bf16 logits chunk -> fp32 (with soft-capping) for gemma3_gpu_logits */
__global__ void softcap_f32_kernel(size_t n, float *x, float cap)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n && cap > 0.f)
		x[i] = cap * tanhf(x[i] / cap);
}


/* dst[i] = src[sel[i]], rows of d bf16 (d a multiple of 8, 16-byte aligned rows). */
__global__ void gather_rows_kernel(int n, int d, const int32_t *sel, const bf16 *src, bf16 *dst)
{
	size_t per = (size_t)d / 8, i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (size_t)n * per)
		return;
	size_t r = i / per, c = i % per;
	const uint4 *s = (const uint4 *)(src + (size_t)sel[r] * d) + c;
	uint4 *o = (uint4 *)(dst + r * d) + c;
	*o = *s;
}

/* Running (max, sum of exp(x - max), first index of the max). */
struct LpState {
	float m, s;
	int arg;
};

__device__ __forceinline__ void lp_merge(LpState &a, float m2, float s2, int arg2)
{
	if (m2 > a.m || (m2 == a.m && arg2 < a.arg))
		a.arg = arg2;
	float mm = fmaxf(a.m, m2);
	if (mm == -INFINITY) /* nothing but -inf yet: exp(-inf - -inf) would be NaN */
		return;
	a.s = (a.m == -INFINITY ? 0.f : a.s * expf(a.m - mm)) +
	      (m2 == -INFINITY ? 0.f : s2 * expf(m2 - mm));
	a.m = mm;
}

__device__ __forceinline__ float lp_cap(float v, float cap)
{
	return cap > 0.f ? cap * tanhf(v / cap) : v;
}

/* One block per row r of logits (row at logits + r*ld, V <= ld columns
 * counted; ld a multiple of 4): logp[r] = log_softmax(row)[tgt[r]] with a
 * max-subtracted log-sum-exp in fp32 (expf, not the fast __expf), after
 * soft-capping; greedy[r] = tgt[r] is the first index of the maximum (the
 * CPU's log_softmax_at rule). blockDim.x a multiple of 32, at most 1024. */
__global__ void __launch_bounds__(512) logprob_rows_kernel(int V, size_t ld, const float *logits,
							   const int32_t *tgt, float softcap,
							   float *logp, unsigned char *greedy)
{
	__shared__ float sm_m[32], sm_s[32];
	__shared__ int sm_a[32];
	const float *l = logits + (size_t)blockIdx.x * ld;
	LpState st = {-INFINITY, 0.f, 0x7fffffff};
	int V4 = V & ~3;
	for (int j = threadIdx.x * 4; j < V4; j += blockDim.x * 4) {
		float4 q = *(const float4 *)(l + j);
		float v[4] = {lp_cap(q.x, softcap), lp_cap(q.y, softcap), lp_cap(q.z, softcap),
			      lp_cap(q.w, softcap)};
		float mx = v[0];
		int ax = 0;
#pragma unroll
		for (int e = 1; e < 4; e++)
			if (v[e] > mx) {
				mx = v[e];
				ax = e;
			}
		float sum = 0.f;
		if (mx != -INFINITY) {
#pragma unroll
			for (int e = 0; e < 4; e++)
				sum += expf(v[e] - mx);
		}
		/* a NaN never wins the maximum (as in the CPU's v > max) */
		lp_merge(st, mx == mx ? mx : -INFINITY, mx == mx ? sum : 0.f, j + ax);
	}
	for (int j = V4 + threadIdx.x; j < V; j += blockDim.x) {
		float v = lp_cap(l[j], softcap);
		if (v == v)
			lp_merge(st, v, 1.f, j);
	}
	for (int o = 16; o > 0; o >>= 1) {
		float m2 = __shfl_xor_sync(0xffffffffu, st.m, o);
		float s2 = __shfl_xor_sync(0xffffffffu, st.s, o);
		int a2 = __shfl_xor_sync(0xffffffffu, st.arg, o);
		lp_merge(st, m2, s2, a2);
	}
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, nw = blockDim.x / 32;
	if (lane == 0) {
		sm_m[warp] = st.m;
		sm_s[warp] = st.s;
		sm_a[warp] = st.arg;
	}
	__syncthreads();
	if (threadIdx.x != 0)
		return;
	LpState all = {sm_m[0], sm_s[0], sm_a[0]};
	for (int i = 1; i < nw; i++)
		lp_merge(all, sm_m[i], sm_s[i], sm_a[i]);
	int t = tgt[blockIdx.x];
	if (t < 0 || t >= V) {
		logp[blockIdx.x] = 0.f;
		greedy[blockIdx.x] = 0;
		return;
	}
	float vt = lp_cap(l[t], softcap);
	logp[blockIdx.x] = (vt - all.m) - logf(all.s);
	greedy[blockIdx.x] = all.arg == t;
}

#endif
