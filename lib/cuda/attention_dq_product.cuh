/* attention_dq_product.cuh - dQ of the attention backward as a matrix
 * product of the dS^T the dK/dV kernel wrote (flash_tile128_ds_bwd):
 * per query head h, for every batch b at once (strided),
 *     dq[b, :, h] = scale * dS_{b,h} K_{b, h / G}      (T x hd)
 * with dS_{b,h}^T stored key by key (a.ds, flash_ds_ld). cuBLASLt without
 * workspace or split reductions: the same bits every run. */
#ifndef BONSAI_CUDA_ATTENTION_DQ_PRODUCT_CUH
#define BONSAI_CUDA_ATTENTION_DQ_PRODUCT_CUH

#include "attention_common.cuh"
#include "product.cuh"

/* dq of every head from a.ds (ld ds_ld): row-major dq_h (T x hd) =
 * (dS^T)^T K, B strided products a head. The handle and plans are kept for
 * the process (the trainer asks for one shape). cudaErrorUnknown when
 * cuBLASLt fails (no handle, no algorithm for the shape). */
static cudaError_t attn_dq_product(cudaStream_t st, const FlashArgs &a, int hd, int ds_ld)
{
	static cublasLtHandle_t lt;
	static ProductPlans plans;
	if (!lt && cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS) {
		lt = nullptr;
		return cudaErrorUnknown;
	}
	int G = a.Hq / a.Hkv;
	/* the alignment every head's and batch's pointers share, for the
	 * algorithm's choice */
	uintptr_t bits = (uintptr_t)a.T * a.k_ld * 2 | (uintptr_t)a.T * a.dq_ld * 2 |
			 (uintptr_t)a.Hq * a.T * ds_ld * 2;
	for (int h = 0; h < a.Hq; h++)
		bits |= (uintptr_t)(a.k + (size_t)(h / G) * hd) | (uintptr_t)(a.dq + (size_t)h * hd) |
			(uintptr_t)(a.ds + (size_t)h * a.T * ds_ld);
	int al = product_align_of((const void *)bits);
	/* A = dS^T (keys x queries, transposed), B = K (keys x hd) */
	ProductShape s = {};
	s.ta = 1, s.tb = 0, s.M = a.T, s.N = hd, s.K = a.T;
	s.lda = ds_ld, s.ldb = a.k_ld, s.ldc = a.dq_ld, s.cf32 = 0;
	s.batch = a.B, s.sa = (long long)a.Hq * a.T * ds_ld, s.sb = (long long)a.T * a.k_ld;
	s.sc = (long long)a.T * a.dq_ld, s.al = al, s.ws = 0;
	for (int h = 0; h < a.Hq; h++) {
		const bf16 *kh = a.k + (size_t)(h / G) * hd;
		const bf16 *dsh = a.ds + (size_t)h * a.T * ds_ld;
		if (product(lt, plans, s, a.scale, dsh, kh, 0.f, a.dq + (size_t)h * hd, nullptr, st) !=
		    CUBLAS_STATUS_SUCCESS)
			return cudaErrorUnknown;
	}
	return cudaSuccess;
}

#endif
