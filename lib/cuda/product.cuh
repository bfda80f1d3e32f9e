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
	long calls; /* products run with the plan (product_survey's count) */
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

/* Up to max algorithms for plan p's shape, cuBLASLt's first choice first,
 * under the plan's limits (workspace, alignment, reduction scheme);
 * CUBLAS_STATUS_NOT_SUPPORTED when there is none. */
static cublasStatus_t product_algos(cublasLtHandle_t lt, const ProductPlan &p,
				    cublasLtMatmulHeuristicResult_t *res, int max, int *n)
{
	const ProductShape &s = p.s;
	cublasLtMatmulPreference_t pref = nullptr;
	cublasStatus_t st = cublasLtMatmulPreferenceCreate(&pref);
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
	*n = 0;
	if (st == CUBLAS_STATUS_SUCCESS)
		st = cublasLtMatmulAlgoGetHeuristic(lt, p.desc, p.la, p.lb, p.lc, p.lc, pref, max, res,
						    n);
	if (pref)
		cublasLtMatmulPreferenceDestroy(pref);
	if (st == CUBLAS_STATUS_SUCCESS && *n < 1)
		st = CUBLAS_STATUS_NOT_SUPPORTED; /* no algorithm for the shape */
	return st;
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
	cublasLtMatmulHeuristicResult_t res;
	int nres = 0;
	if (st == CUBLAS_STATUS_SUCCESS)
		st = product_algos(lt, p, &res, 1, &nres);
	if (st != CUBLAS_STATUS_SUCCESS) {
		product_plan_free(p);
		return st;
	}
	p.algo = res.algo;
	return CUBLAS_STATUS_SUCCESS;
}

/* plan p's product with algorithm algo (p.algo, or one of product_algos') */
static cublasStatus_t product_run(cublasLtHandle_t lt, const ProductPlan &p,
				  const cublasLtMatmulAlgo_t &algo, float alpha, const bf16 *A,
				  const bf16 *B, float beta, void *C, void *ws, cudaStream_t st)
{
	return cublasLtMatmul(lt, p.desc, &alpha, B, p.la, A, p.lb, &beta, C, p.lc, C, p.lc, &algo,
			      ws, p.s.ws, st);
}

/* ms a product takes with algo: the mean of reps after one warm-up, C
 * overwritten (beta 0) */
static cudaError_t product_time(cublasLtHandle_t lt, const ProductPlan &p,
				const cublasLtMatmulAlgo_t &algo, const bf16 *A, const bf16 *B,
				void *C, void *ws, cudaStream_t st, int reps, float *ms)
{
	cudaEvent_t e0, e1;
	cudaError_t e = cudaEventCreate(&e0);
	if (e != cudaSuccess)
		return e;
	if ((e = cudaEventCreate(&e1)) != cudaSuccess) {
		cudaEventDestroy(e0);
		return e;
	}
	cublasStatus_t bs = product_run(lt, p, algo, 1.f, A, B, 0.f, C, ws, st);
	if (bs == CUBLAS_STATUS_SUCCESS)
		e = cudaEventRecord(e0, st);
	for (int i = 0; i < reps && bs == CUBLAS_STATUS_SUCCESS && e == cudaSuccess; i++)
		bs = product_run(lt, p, algo, 1.f, A, B, 0.f, C, ws, st);
	if (bs == CUBLAS_STATUS_SUCCESS && e == cudaSuccess)
		e = cudaEventRecord(e1, st);
	if (bs == CUBLAS_STATUS_SUCCESS && e == cudaSuccess)
		e = cudaEventSynchronize(e1);
	if (bs == CUBLAS_STATUS_SUCCESS && e == cudaSuccess &&
	    (e = cudaEventElapsedTime(ms, e0, e1)) == cudaSuccess)
		*ms /= reps;
	cudaEventDestroy(e0);
	cudaEventDestroy(e1);
	return bs != CUBLAS_STATUS_SUCCESS ? cudaErrorUnknown : e;
}

/* h += a mix of each 32-bit word of p with its index: a sum, so the same
 * bits give the same value whatever the order the blocks run in */
__global__ void product_hash_kernel(const uint32_t *p, size_t n, unsigned long long *h)
{
	unsigned long long acc = 0;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		unsigned long long x = ((unsigned long long)i << 32 | p[i]) * 0x9e3779b97f4a7c15ull;
		acc += x ^ (x >> 29);
	}
	atomicAdd(h, acc);
}

/* the hash of C's M x ldc elements, in hbuf (one device word) */
static cudaError_t product_hash(const ProductPlan &p, const void *C, unsigned long long *hbuf,
				cudaStream_t st, unsigned long long *out)
{
	size_t words = (size_t)p.s.M * p.s.ldc * (p.s.cf32 ? 4 : 2) / 4;
	cudaError_t e = cudaMemsetAsync(hbuf, 0, sizeof *hbuf, st);
	if (e != cudaSuccess)
		return e;
	product_hash_kernel<<<264, 256, 0, st>>>((const uint32_t *)C, words, hbuf);
	if ((e = cudaGetLastError()) == cudaSuccess &&
	    (e = cudaMemcpyAsync(out, hbuf, sizeof *out, cudaMemcpyDeviceToHost, st)) == cudaSuccess)
		e = cudaStreamSynchronize(st);
	return e;
}

/* Plan p's algorithm becomes the fastest (by more than 3%) of up to
 * `tries` that cuBLASLt offers among those whose product on these operands
 * has the same bits as its first choice's (so the pick, which timing noise
 * may change from run to run, does not change the results). Runs the
 * products into C: only for a call that overwrites C. Errors leave the
 * first choice. */
#define PRODUCT_MAX_TRIES 32
static void product_tune(cublasLtHandle_t lt, ProductPlan &p, int tries, const bf16 *A,
			 const bf16 *B, void *C, void *ws, cudaStream_t st)
{
	cublasLtMatmulHeuristicResult_t res[PRODUCT_MAX_TRIES];
	int n = 0;
	if (tries > PRODUCT_MAX_TRIES)
		tries = PRODUCT_MAX_TRIES;
	if (tries < 2 || p.s.batch != 1 ||
	    product_algos(lt, p, res, tries, &n) != CUBLAS_STATUS_SUCCESS || n < 2)
		return;
	unsigned long long *hbuf = nullptr, h0, h;
	if (cudaMalloc(&hbuf, sizeof *hbuf) != cudaSuccess) {
		cudaGetLastError();
		return;
	}
	float best, ms;
	if (product_time(lt, p, p.algo, A, B, C, ws, st, 10, &best) == cudaSuccess &&
	    product_hash(p, C, hbuf, st, &h0) == cudaSuccess) {
		best *= 0.97f; /* another must be faster by more than the timings' noise */
		for (int i = 1; i < n; i++) {
			if (product_time(lt, p, res[i].algo, A, B, C, ws, st, 10, &ms) != cudaSuccess ||
			    product_hash(p, C, hbuf, st, &h) != cudaSuccess) {
				cudaGetLastError(); /* refused at run time: not a candidate */
				continue;
			}
			if (h == h0 && ms < best)
				best = ms, p.algo = res[i].algo;
		}
	}
	cudaGetLastError();
	cudaFree(hbuf);
}

/* C = alpha op(A) op(B) + beta C on stream st, the plan of s from plans
 * (made there the first time; with tries > 1 and beta 0, its algorithm
 * picked by product_tune). ws: s.ws bytes of device memory, or null when
 * s.ws is 0. */
static cublasStatus_t product(cublasLtHandle_t lt, ProductPlans &plans, const ProductShape &s,
			      float alpha, const bf16 *A, const bf16 *B, float beta, void *C,
			      void *ws, cudaStream_t st, int tries = 0)
{
	ProductPlan *pl = nullptr;
	for (auto &q : plans)
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
		if (tries > 1 && beta == 0.f)
			product_tune(lt, *pl, tries, A, B, C, ws, st);
	}
	pl->calls++;
	return product_run(lt, *pl, pl->algo, alpha, A, B, beta, C, ws, st);
}

#endif
