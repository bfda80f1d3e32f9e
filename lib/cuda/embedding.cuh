/* embedding.cuh - the token embedding, forward and backward. */
#ifndef BONSAI_CUDA_EMBEDDING_CUH
#define BONSAI_CUDA_EMBEDDING_CUH

#include "common.cuh"

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

#endif
