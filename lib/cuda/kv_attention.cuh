/* kv_attention.cuh - attention of new tokens to a KV cache, for generation:
 * n query rows at positions pos .. pos + n - 1 against the cached keys and
 * values of positions 0 .. pos + n - 1 (the new tokens' own already
 * appended), causal, with the sliding window of the layer (0 = global) and
 * grouped-query heads. One block per (query row, head); the scores of the
 * visible keys are held in shared memory, so a block needs 4 bytes a
 * visible key. Everything after the bf16 loads is fp32; a prompt is a few
 * hundred rows and a decode step one, so no tensor cores. */
#ifndef BONSAI_CUDA_KV_ATTENTION_CUH
#define BONSAI_CUDA_KV_ATTENTION_CUH

#include "common.cuh"

/* Reduction over the block's warps (sm: 32 floats); max when MAX, else sum.
 * Every thread gets the result. */
template <bool MAX> __device__ __forceinline__ float kv_block_reduce(float v, float *sm)
{
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
	for (int o = 16; o > 0; o >>= 1) {
		float u = __shfl_xor_sync(0xffffffffu, v, o);
		v = MAX ? fmaxf(v, u) : v + u;
	}
	__syncthreads(); /* sm may still be read from the last call */
	if (lane == 0)
		sm[w] = v;
	__syncthreads();
	v = sm[0];
	for (int i = 1; i < nw; i++)
		v = MAX ? fmaxf(v, sm[i]) : v + sm[i];
	return v;
}

/* q: [n, q_ld] (head h at column h*hd); kc, vc: the cache, position t of kv
 * head hk at (t * Hkv + hk) * hd; o: [n, o_ld]. grid (n, Hq), 128 threads,
 * dynamic shared memory (pos + n) * 4 bytes at most. */
__global__ void __launch_bounds__(128) kv_attention_kernel(const bf16 *q, int q_ld, const bf16 *kc,
							    const bf16 *vc, bf16 *o, int o_ld,
							    int pos, int Hq, int Hkv, int hd,
							    int window, float scale)
{
	extern __shared__ float kv_scores[];
	__shared__ float red[32];
	int i = blockIdx.x, h = blockIdx.y, hk = h / (Hq / Hkv), t = pos + i;
	int lo = window > 0 && t - window + 1 > 0 ? t - window + 1 : 0, nk = t - lo + 1;
	const bf16 *qi = q + (size_t)i * q_ld + (size_t)h * hd;
	float m = -INFINITY;
	for (int j = threadIdx.x; j < nk; j += blockDim.x) {
		const bf16 *kj = kc + ((size_t)(lo + j) * Hkv + hk) * hd;
		float s = 0.f;
		for (int c = 0; c < hd; c++)
			s += __bfloat162float(qi[c]) * __bfloat162float(kj[c]);
		s *= scale;
		kv_scores[j] = s;
		m = fmaxf(m, s);
	}
	m = kv_block_reduce<true>(m, red);
	float sum = 0.f;
	for (int j = threadIdx.x; j < nk; j += blockDim.x) {
		float p = __expf(kv_scores[j] - m);
		kv_scores[j] = p;
		sum += p;
	}
	sum = kv_block_reduce<false>(sum, red); /* its barriers also publish the p */
	float inv = 1.f / sum;
	for (int c = threadIdx.x; c < hd; c += blockDim.x) {
		float acc = 0.f;
		for (int j = 0; j < nk; j++)
			acc += kv_scores[j] * __bfloat162float(vc[((size_t)(lo + j) * Hkv + hk) * hd + c]);
		o[(size_t)i * o_ld + (size_t)h * hd + c] = __float2bfloat16(acc * inv);
	}
}

/* The launch for n rows at pos; max_keys: the most keys a row may see
 * (the cache's length), for the shared memory. */
static cudaError_t kv_attention(cudaStream_t st, const bf16 *q, int q_ld, const bf16 *kc,
				const bf16 *vc, bf16 *o, int o_ld, int n, int pos, int Hq, int Hkv,
				int hd, int window, float scale, int max_keys)
{
	return launch_smem(kv_attention_kernel, dim3(n, Hq), 128, (size_t)max_keys * sizeof(float), st,
			   q, q_ld, kc, vc, o, o_ld, pos, Hq, Hkv, hd, window, scale);
}

#endif
