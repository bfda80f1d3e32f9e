/* cross_entropy.cuh - what is made of the logits: softmax cross-entropy
 * with its gradient written over the logits (training), fp32 soft-capping
 * (gemma3_gpu_logits), and the scoring of bonsai-eval: the rows that have a
 * target gathered, then log-softmax at the target and whether it is the
 * greedy choice. */
#ifndef BONSAI_CUDA_CROSS_ENTROPY_CUH
#define BONSAI_CUDA_CROSS_ENTROPY_CUH

#include "common.cuh"

#include <cooperative_groups.h>
#include <stdlib.h>
#include <string.h>

namespace cg = cooperative_groups;

/* The row's running (max, sum of exp(x - max)) after 8 more values, which
 * the soft-capping (softcap > 0) is applied to in place. */
__device__ __forceinline__ void ce_absorb8(float *v, float softcap, float &m, float &s)
{
	float mx = -INFINITY;
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

/* (m, s) merged over the block's threads in a fixed order (warps, then
 * warp 0 .. 15); every thread gets the result. sm_m, sm_s: 16 floats each. */
__device__ __forceinline__ void ce_block_merge(float &m, float &s, float *sm_m, float *sm_s)
{
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
	m = M, s = S;
}

/* the gradient of 8 raw logits v at columns j.. of a row with target t */
__device__ __forceinline__ void ce_grad8(const float *v, int j, int t, float lse, float softcap,
					 float scale, float *o)
{
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
}

/* the soft-capped logit x */
__device__ __forceinline__ float ce_cap(float x, float softcap)
{
	return softcap > 0.f ? softcap * tanhf(x / softcap) : x;
}

/* Softmax + CE with 16-byte accesses (V and ld multiples of 8), a block of
 * 512 threads per row: reads the row twice (max and sum, then the
 * gradient over it). */
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
		float v[8];
		ld8(l + j, v);
		ce_absorb8(v, softcap, m, s);
	}
	ce_block_merge(m, s, sm_m, sm_s);
	float lse = m + logf(s);
	if (threadIdx.x == 0)
		loss[row] = t >= 0 ? lse - ce_cap(__bfloat162float(l[t]), softcap) : 0.f;
	if (!write_grad)
		return;
	__syncthreads(); /* l[t] read before it is overwritten */
	for (int j = threadIdx.x * 8; j < V; j += blockDim.x * 8) {
		float v[8], o[8];
		ld8(l + j, v);
		ce_grad8(v, j, t, lse, softcap, scale, o);
		st8(l + j, o);
	}
}

/* The same by a cluster of C blocks a row (sm_90): block r holds columns
 * [r S, r S + S) in shared memory from its one read of them, the blocks'
 * (max, sum) are merged in rank order through distributed shared memory,
 * and the gradient is written from shared memory. The logits are read
 * once instead of twice (the second read of cross_entropy_kernel misses
 * the L2 at a 262,144 vocabulary: a row is 512 KB). With C = 1 the bits
 * are cross_entropy_kernel's; with C > 1 the merge order differs. grid R C
 * blocks, cluster (C, 1, 1), S = V / C columns (a multiple of 8), 2 S bytes
 * of dynamic shared memory. */
__global__ void __launch_bounds__(512) cross_entropy_cluster_kernel(int V, int S, bf16 *logits,
							   size_t ld, const int32_t *targets,
							   float softcap, float scale,
							   float *loss, int write_grad)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
	extern __shared__ __align__(16) unsigned char ce_seg_raw[];
	uint4 *seg = (uint4 *)ce_seg_raw;
	__shared__ float sm_m[16], sm_s[16];
	__shared__ float part[3]; /* this block's max, sum, and x_t if it holds t */
	cg::cluster_group cl = cg::this_cluster();
	int C = (int)cl.num_blocks(), rank = (int)cl.block_rank();
	int row = blockIdx.x / C, c0 = rank * S;
	bf16 *l = logits + (size_t)row * ld + c0;
	int t = targets[row];
	float m = -INFINITY, s = 0.f;
	for (int j = threadIdx.x * 8; j < S; j += blockDim.x * 8) {
		uint4 raw = *(const uint4 *)(l + j);
		seg[j / 8] = raw;
		float v[8];
		ld8((const bf16 *)&raw, v);
		ce_absorb8(v, softcap, m, s);
	}
	ce_block_merge(m, s, sm_m, sm_s);
	if (threadIdx.x == 0) {
		part[0] = m, part[1] = s;
		if (t >= c0 && t < c0 + S)
			part[2] = ce_cap(__bfloat162float(((const bf16 *)seg)[t - c0]), softcap);
	}
	cl.sync(); /* every block's part written (and its segment) */
	float M = -INFINITY, Ssum = 0.f;
	for (int r = 0; r < C; r++)
		M = fmaxf(M, cl.map_shared_rank(part, r)[0]);
	for (int r = 0; r < C; r++) {
		const float *q = cl.map_shared_rank(part, r);
		Ssum += q[0] == -INFINITY ? 0.f : q[1] * __expf(q[0] - M);
	}
	float lse = M + logf(Ssum);
	if (rank == 0 && threadIdx.x == 0)
		loss[row] = t >= 0 ? lse - cl.map_shared_rank(part, t / S)[2] : 0.f;
	if (write_grad)
		for (int j = threadIdx.x * 8; j < S; j += blockDim.x * 8) {
			float v[8], o[8];
			ld8((const bf16 *)&seg[j / 8], v);
			ce_grad8(v, c0 + j, t, lse, softcap, scale, o);
			st8(l + j, o);
		}
	cl.sync(); /* no block leaves while another may read its part */
#endif
}

/* Softmax + CE of R rows (see cross_entropy_kernel): by clusters where the
 * device has them (compute capability 9.0 on) and a row fits in the
 * shared memory of 8 blocks of up to 64 KB, else a block a row. cc: the
 * device's major version. BONSAI_CE=rows forces the block a row (read
 * once), to time one against the other. */
static cudaError_t cross_entropy(cudaStream_t st, int cc, int R, int V, bf16 *logits, size_t ld,
				 const int32_t *targets, float softcap, float scale, float *loss,
				 int write_grad)
{
	static int rows_only = -1;
	if (rows_only < 0) {
		const char *e = getenv("BONSAI_CE");
		rows_only = e && !strcmp(e, "rows");
	}
	int C = 1;
	while (C <= 8 && (size_t)V * 2 / C > (64u << 10))
		C *= 2;
	if (rows_only || cc < 9 || C > 8 || V % (8 * C)) {
		cross_entropy_kernel<<<R, 512, 0, st>>>(V, logits, ld, targets, softcap, scale, loss,
						       write_grad);
		return cudaGetLastError();
	}
	int S = V / C;
	size_t smem = (size_t)S * 2;
	cudaError_t e = cudaFuncSetAttribute(cross_entropy_cluster_kernel,
					     cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
	if (e != cudaSuccess)
		return e;
	cudaLaunchConfig_t cfg = {};
	cfg.gridDim = dim3((unsigned)R * C);
	cfg.blockDim = dim3(512);
	cfg.dynamicSmemBytes = smem;
	cfg.stream = st;
	cudaLaunchAttribute at[1];
	at[0].id = cudaLaunchAttributeClusterDimension;
	at[0].val.clusterDim.x = (unsigned)C, at[0].val.clusterDim.y = 1, at[0].val.clusterDim.z = 1;
	cfg.attrs = at;
	cfg.numAttrs = 1;
	return cudaLaunchKernelEx(&cfg, cross_entropy_cluster_kernel, V, S, logits, ld, targets,
				  softcap, scale, loss, write_grad);
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
