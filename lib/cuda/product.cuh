/* product.cuh - row-major bf16 matrix products by cuBLASLt, with the
 * descriptors and algorithm of each shape made once and kept:
 *     C = alpha op(A) op(B) + beta C      (M x N, reduction K)
 * for `batch` products at once, A, B, C strided by sa, sb, sc elements.
 * C is bf16 or fp32 (cf32). Used by the trainer (gemma3_gpu.cu) and by the
 * attention backward's dQ (attention_dq_product.cuh). */
#ifndef BONSAI_CUDA_PRODUCT_CUH
#define BONSAI_CUDA_PRODUCT_CUH

#include <cublasLt.h>
#include <stdint.h>

#include <vector>

#include "common.cuh"

struct ProductShape {
	int ta, tb, M, N, K, lda, ldb, ldc, cf32;
	int batch;
	long long sa, sb, sc;
	int al;	  /* the byte alignment every A, B, C pointer has */
	size_t ws; /* workspace bytes the algorithm may use; 0: none, and no split reduction */
};

struct ProductPlan {
	ProductShape s;
	cublasLtMatmulDesc_t desc;
	cublasLtMatrixLayout_t la, lb, lc;
	cublasLtMatmulAlgo_t algo;
};

/* The plans of the shapes asked for so far. */
typedef std::vector<ProductPlan> ProductPlans;

static inline bool product_shape_eq(const ProductShape &x, const ProductShape &y)
{
	return x.ta == y.ta && x.tb == y.tb && x.M == y.M && x.N == y.N && x.K == y.K &&
	       x.lda == y.lda && x.ldb == y.ldb && x.ldc == y.ldc && x.cf32 == y.cf32 &&
	       x.batch == y.batch && x.sa == y.sa && x.sb == y.sb && x.sc == y.sc && x.al == y.al &&
	       x.ws == y.ws;
}

/* the largest power of two up to 256 dividing the address */
static inline int product_align_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	int al = 256;
	while (al > 2 && (a % al))
		al >>= 1;
	return al;
}

static void product_plan_free(ProductPlan &p)
{
	if (p.desc)
		cublasLtMatmulDescDestroy(p.desc);
	if (p.la)
		cublasLtMatrixLayoutDestroy(p.la);
	if (p.lb)
		cublasLtMatrixLayoutDestroy(p.lb);
	if (p.lc)
		cublasLtMatrixLayoutDestroy(p.lc);
	p.desc = nullptr, p.la = p.lb = p.lc = nullptr;
}

static void product_plans_free(ProductPlans &v)
{
	for (auto &p : v)
		product_plan_free(p);
	v.clear();
}

static cublasStatus_t product_layout(cublasLtMatrixLayout_t *l, cudaDataType t, int rows,
				     int cols, int ld, int batch, long long stride)
{
	cublasStatus_t s = cublasLtMatrixLayoutCreate(l, t, rows, cols, ld);
	if (s != CUBLAS_STATUS_SUCCESS || batch == 1)
		return s;
	s = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch,
					     sizeof batch);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
						     &stride, sizeof stride);
	return s;
}

/* Column-major, as cuBLASLt sees row-major memory: C^T (N x M) =
 * op(B)^T op(A)^T, so B is cuBLASLt's first operand. On failure p holds
 * nothing to free. */
static cublasStatus_t product_plan_make(cublasLtHandle_t lt, const ProductShape &s, ProductPlan &p)
{
	p = ProductPlan{};
	p.s = s;
	cublasOperation_t o1 = s.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
	cublasOperation_t o2 = s.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
	cublasStatus_t st = cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
	if (st == CUBLAS_STATUS_SUCCESS)
		st = cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &o1, sizeof o1);
	if (st == CUBLAS_STATUS_SUCCESS)
		st = cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &o2, sizeof o2);
	if (st == CUBLAS_STATUS_SUCCESS)
		st = product_layout(&p.la, CUDA_R_16BF, s.tb ? s.K : s.N, s.tb ? s.N : s.K, s.ldb,
				    s.batch, s.sb);
	if (st == CUBLAS_STATUS_SUCCESS)
		st = product_layout(&p.lb, CUDA_R_16BF, s.ta ? s.M : s.K, s.ta ? s.K : s.M, s.lda,
				    s.batch, s.sa);
	if (st == CUBLAS_STATUS_SUCCESS)
		st = product_layout(&p.lc, s.cf32 ? CUDA_R_32F : CUDA_R_16BF, s.N, s.M, s.ldc,
				    s.batch, s.sc);
	cublasLtMatmulPreference_t pref = nullptr;
	if (st == CUBLAS_STATUS_SUCCESS)
		st = cublasLtMatmulPreferenceCreate(&pref);
	if (st == CUBLAS_STATUS_SUCCESS)
		st = cublasLtMatmulPreferenceSetAttribute(
			pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &s.ws, sizeof s.ws);
	/* without workspace an in-place split reduction could still be
	 * picked; none keeps the bits the same run to run */
	uint32_t none = CUBLASLT_REDUCTION_SCHEME_NONE;
	if (st == CUBLAS_STATUS_SUCCESS && s.ws == 0)
		st = cublasLtMatmulPreferenceSetAttribute(
			pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &none, sizeof none);
	uint32_t a32 = (uint32_t)s.al;
	const cublasLtMatmulPreferenceAttributes_t aligns[] = {
		CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
		CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
	for (auto at : aligns)
		if (st == CUBLAS_STATUS_SUCCESS)
			st = cublasLtMatmulPreferenceSetAttribute(pref, at, &a32, sizeof a32);
	cublasLtMatmulHeuristicResult_t res;
	int nres = 0;
	if (st == CUBLAS_STATUS_SUCCESS)
		st = cublasLtMatmulAlgoGetHeuristic(lt, p.desc, p.la, p.lb, p.lc, p.lc, pref, 1, &res,
						    &nres);
	if (pref)
		cublasLtMatmulPreferenceDestroy(pref);
	if (st == CUBLAS_STATUS_SUCCESS && nres < 1)
		st = CUBLAS_STATUS_NOT_SUPPORTED; /* no algorithm for the shape */
	if (st != CUBLAS_STATUS_SUCCESS) {
		product_plan_free(p);
		return st;
	}
	p.algo = res.algo;
	return CUBLAS_STATUS_SUCCESS;
}

/* C = alpha op(A) op(B) + beta C on stream st, the plan of s from plans
 * (made there the first time). ws: s.ws bytes of device memory, or null
 * when s.ws is 0. */
static cublasStatus_t product(cublasLtHandle_t lt, ProductPlans &plans, const ProductShape &s,
			      float alpha, const bf16 *A, const bf16 *B, float beta, void *C,
			      void *ws, cudaStream_t st)
{
	const ProductPlan *pl = nullptr;
	for (const auto &q : plans)
		if (product_shape_eq(q.s, s)) {
			pl = &q;
			break;
		}
	if (!pl) {
		ProductPlan q;
		cublasStatus_t e = product_plan_make(lt, s, q);
		if (e != CUBLAS_STATUS_SUCCESS)
			return e;
		plans.push_back(q);
		pl = &plans.back();
	}
	return cublasLtMatmul(lt, pl->desc, &alpha, B, pl->la, A, pl->lb, &beta, C, pl->lc, C, pl->lc,
			      &pl->algo, ws, s.ws, st);
}

#endif
