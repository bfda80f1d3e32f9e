/* attention_dq_product.cuh - dQ of the attention backward as a matrix
 * product of the dS^T the dK/dV kernel wrote (flash_tile128_ds_bwd):
 * per query head h, for every batch b at once (strided),
 *     dq[b, :, h] = scale * dS_{b,h} K_{b, h / G}      (T x hd)
 * with dS_{b,h}^T stored key by key (a.ds, flash_ds_ld). cuBLASLt without
 * workspace or split reductions: the same bits every run. */
#ifndef BONSAI_CUDA_ATTENTION_DQ_PRODUCT_CUH
#define BONSAI_CUDA_ATTENTION_DQ_PRODUCT_CUH

#include "attention_common.cuh"

#include <cublasLt.h>

/* The descriptors and algorithm of the last shape asked for: the trainer
 * asks for one shape every layer. Kept for the process. */
struct AttnDqPlan {
	int hd, T, B, k_ld, dq_ld, ds_ld, Hq, al;
	cublasLtMatmulDesc_t desc;
	cublasLtMatrixLayout_t lk, lds, ldq;
	cublasLtMatmulAlgo_t algo;
	bool ready;
};

static cublasStatus_t attn_dq_layout(cublasLtMatrixLayout_t *l, int rows, int cols, int ld,
				     int batch, long long stride)
{
	cublasStatus_t s = cublasLtMatrixLayoutCreate(l, CUDA_R_16BF, rows, cols, ld);
	if (s != CUBLAS_STATUS_SUCCESS)
		return s;
	s = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch,
					     sizeof batch);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
						     &stride, sizeof stride);
	return s;
}

static void attn_dq_plan_free(AttnDqPlan &p)
{
	if (p.desc)
		cublasLtMatmulDescDestroy(p.desc);
	if (p.lk)
		cublasLtMatrixLayoutDestroy(p.lk);
	if (p.lds)
		cublasLtMatrixLayoutDestroy(p.lds);
	if (p.ldq)
		cublasLtMatrixLayoutDestroy(p.ldq);
	p = AttnDqPlan{};
}

/* Column-major, as cuBLASLt sees row-major memory: dq_h^T (hd x T, ld
 * dq_ld) = K^T (hd x T keys, ld k_ld) times (dS^T as T queries x T keys,
 * ld ds_ld, transposed). */
static cublasStatus_t attn_dq_plan_make(cublasLtHandle_t lt, AttnDqPlan &p, const FlashArgs &a,
					int hd, int ds_ld, int al)
{
	attn_dq_plan_free(p);
	p.hd = hd, p.T = a.T, p.B = a.B, p.k_ld = a.k_ld, p.dq_ld = a.dq_ld, p.ds_ld = ds_ld;
	p.Hq = a.Hq, p.al = al;
	cublasStatus_t s = cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
	cublasOperation_t n = CUBLAS_OP_N, t = CUBLAS_OP_T;
	if (s == CUBLAS_STATUS_SUCCESS)
		s = cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &n, sizeof n);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &t, sizeof t);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = attn_dq_layout(&p.lk, hd, a.T, a.k_ld, a.B, (long long)a.T * a.k_ld);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = attn_dq_layout(&p.lds, a.T, a.T, ds_ld, a.B, (long long)a.Hq * a.T * ds_ld);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = attn_dq_layout(&p.ldq, hd, a.T, a.dq_ld, a.B, (long long)a.T * a.dq_ld);
	if (s != CUBLAS_STATUS_SUCCESS)
		return s;
	cublasLtMatmulPreference_t pref;
	if ((s = cublasLtMatmulPreferenceCreate(&pref)) != CUBLAS_STATUS_SUCCESS)
		return s;
	size_t ws = 0;
	uint32_t none = CUBLASLT_REDUCTION_SCHEME_NONE;
	s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
						 sizeof ws);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = cublasLtMatmulPreferenceSetAttribute(
			pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &none, sizeof none);
	uint32_t a32 = (uint32_t)al;
	cublasLtMatmulPreferenceAttributes_t aligns[] = {
		CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
		CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
	for (auto at : aligns)
		if (s == CUBLAS_STATUS_SUCCESS)
			s = cublasLtMatmulPreferenceSetAttribute(pref, at, &a32, sizeof a32);
	cublasLtMatmulHeuristicResult_t res;
	int nres = 0;
	if (s == CUBLAS_STATUS_SUCCESS)
		s = cublasLtMatmulAlgoGetHeuristic(lt, p.desc, p.lk, p.lds, p.ldq, p.ldq, pref, 1,
						   &res, &nres);
	cublasLtMatmulPreferenceDestroy(pref);
	if (s != CUBLAS_STATUS_SUCCESS)
		return s;
	if (nres < 1)
		return CUBLAS_STATUS_NOT_SUPPORTED;
	p.algo = res.algo;
	p.ready = true;
	return CUBLAS_STATUS_SUCCESS;
}

/* dq of every head from a.ds (ld ds_ld). cudaErrorUnknown when cuBLASLt
 * fails (no handle, no algorithm for the shape). */
static cudaError_t attn_dq_product(cudaStream_t st, const FlashArgs &a, int hd, int ds_ld)
{
	static cublasLtHandle_t lt;
	static AttnDqPlan plan;
	if (!lt && cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS) {
		lt = nullptr;
		return cudaErrorUnknown;
	}
	AttnDqPlan &p = plan;
	int G = a.Hq / a.Hkv;
	/* the alignment every head's and batch's pointers share, for the
	 * algorithm's choice */
	uintptr_t bits = 256 | (uintptr_t)a.T * a.k_ld * 2 | (uintptr_t)a.T * a.dq_ld * 2 |
			 (uintptr_t)a.Hq * a.T * ds_ld * 2;
	for (int h = 0; h < a.Hq; h++)
		bits |= (uintptr_t)(a.k + (size_t)(h / G) * hd) | (uintptr_t)(a.dq + (size_t)h * hd) |
			(uintptr_t)(a.ds + (size_t)h * a.T * ds_ld);
	int al = (int)(bits & (~bits + 1));
	if (!p.ready || p.hd != hd || p.T != a.T || p.B != a.B || p.k_ld != a.k_ld ||
	    p.dq_ld != a.dq_ld || p.ds_ld != ds_ld || p.Hq != a.Hq || p.al != al)
		if (attn_dq_plan_make(lt, p, a, hd, ds_ld, al) != CUBLAS_STATUS_SUCCESS) {
			attn_dq_plan_free(p);
			return cudaErrorUnknown;
		}
	float alpha = a.scale, beta = 0.f;
	for (int h = 0; h < a.Hq; h++) {
		const bf16 *kh = a.k + (size_t)(h / G) * hd;
		const bf16 *dsh = a.ds + (size_t)h * a.T * ds_ld;
		bf16 *dqh = a.dq + (size_t)h * hd;
		if (cublasLtMatmul(lt, p.desc, &alpha, kh, p.lk, dsh, p.lds, &beta, dqh, p.ldq, dqh,
				   p.ldq, &p.algo, nullptr, 0, st) != CUBLAS_STATUS_SUCCESS)
			return cudaErrorUnknown;
	}
	return cudaSuccess;
}

#endif
