/* fp8_products.cu - is FP8 worth it for the MLP's products? Times
 * cuBLASLt's bf16 product against its fp8 ones (e4m3 x e4m3 for the
 * forward, e5m2 gradients x e4m3 for the backward, per-tensor scales,
 * bf16 output, fp32 accumulation) at the shapes of the MLP products of a
 * trainer's config, and checks each fp8 result against the bf16 one of
 * the same (rounded) inputs, so that a wrong layout cannot pass as fast.
 *
 *   fp8_products [D FF N]     (default: small, 768 3072 32768)
 *
 * Every product is in the one layout Hopper's fp8 products take, both
 * operands contiguous along k ("TN"): the backward's dgrad needs the
 * weights transposed and its wgrad both activations transposed, copies the
 * trainer would have to make (their cost is not in these times). One line
 * per shape, then a total as the trainer would see it (3 products a
 * layer's MLP forward+backward = fwd, dgrad, wgrad of gate/up and down). */
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CK(x)                                                                                  \
	do {                                                                                   \
		cudaError_t e_ = (x);                                                          \
		if (e_ != cudaSuccess) {                                                       \
			fprintf(stderr, "fp8_products: CUDA %s at line %d\n",                 \
				cudaGetErrorString(e_), __LINE__);                             \
			exit(1);                                                               \
		}                                                                              \
	} while (0)
#define CKB(x)                                                                                 \
	do {                                                                                   \
		cublasStatus_t s_ = (x);                                                       \
		if (s_ != CUBLAS_STATUS_SUCCESS) {                                             \
			fprintf(stderr, "fp8_products: cuBLAS status %d at line %d\n", (int)s_, \
				__LINE__);                                                     \
			exit(1);                                                               \
		}                                                                              \
	} while (0)

/* x[i] = a deterministic value in [-amp, amp), as bf16 and as the fp8 kind */
__global__ void fill_kernel(size_t n, unsigned seed, float amp, __nv_bfloat16 *b,
			    __nv_fp8_e4m3 *f43, __nv_fp8_e5m2 *f52)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n)
		return;
	unsigned h = (unsigned)i * 2654435761u ^ seed;
	h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
	float v = amp * ((h & 0xffff) / 32768.f - 1.f);
	/* the bf16 copy holds the fp8 value, so both products see equal inputs */
	float q = f43 ? float(__nv_fp8_e4m3(v)) : float(__nv_fp8_e5m2(v));
	b[i] = __float2bfloat16(q);
	if (f43)
		f43[i] = __nv_fp8_e4m3(v);
	if (f52)
		f52[i] = __nv_fp8_e5m2(v);
}

static cublasLtHandle_t lt;
static void *ws;
static const size_t ws_size = 32u << 20;

/* D (m x n, column-major, bf16) = A^T B: A is k x m, B is k x n, both
 * column-major with k contiguous; ta, tb the element types. Returns ms a
 * product (10 after 3 warm-ups), or -1 where cuBLASLt has no algorithm. */
static double product(int m, int n, int k, cudaDataType_t ta, const void *A, cudaDataType_t tb,
		      const void *B, __nv_bfloat16 *D, const float *one)
{
	cublasLtMatmulDesc_t desc;
	cublasLtMatrixLayout_t la, lb, ld;
	CKB(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
	cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
	CKB(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
	CKB(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn));
	if (ta != CUDA_R_16BF) {
		CKB(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &one,
						   sizeof one));
		CKB(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &one,
						   sizeof one));
	}
	CKB(cublasLtMatrixLayoutCreate(&la, ta, k, m, k));
	CKB(cublasLtMatrixLayoutCreate(&lb, tb, k, n, k));
	CKB(cublasLtMatrixLayoutCreate(&ld, CUDA_R_16BF, m, n, m));
	cublasLtMatmulPreference_t pref;
	CKB(cublasLtMatmulPreferenceCreate(&pref));
	CKB(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
						 &ws_size, sizeof ws_size));
	cublasLtMatmulHeuristicResult_t res;
	int nres = 0;
	cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, ld, ld, pref, 1, &res,
							   &nres);
	double ms = -1;
	if (st == CUBLAS_STATUS_SUCCESS && nres > 0) {
		float alpha = 1.f, beta = 0.f;
		cudaEvent_t e0, e1;
		CK(cudaEventCreate(&e0));
		CK(cudaEventCreate(&e1));
		for (int i = 0; i < 13; i++) {
			if (i == 3)
				CK(cudaEventRecord(e0));
			CKB(cublasLtMatmul(lt, desc, &alpha, A, la, B, lb, &beta, D, ld, D, ld,
					   &res.algo, ws, ws_size, 0));
		}
		CK(cudaEventRecord(e1));
		CK(cudaEventSynchronize(e1));
		float t_ms;
		CK(cudaEventElapsedTime(&t_ms, e0, e1));
		ms = t_ms / 10;
		cudaEventDestroy(e0);
		cudaEventDestroy(e1);
	}
	cublasLtMatmulPreferenceDestroy(pref);
	cublasLtMatrixLayoutDestroy(la);
	cublasLtMatrixLayoutDestroy(lb);
	cublasLtMatrixLayoutDestroy(ld);
	cublasLtMatmulDescDestroy(desc);
	return ms;
}

/* relative RMS difference of two bf16 arrays */
static double rel_diff(const __nv_bfloat16 *a, const __nv_bfloat16 *b, size_t n)
{
	__nv_bfloat16 *ha = (__nv_bfloat16 *)malloc(n * 2), *hb = (__nv_bfloat16 *)malloc(n * 2);
	if (!ha || !hb) {
		fprintf(stderr, "fp8_products: out of memory\n");
		exit(1);
	}
	CK(cudaMemcpy(ha, a, n * 2, cudaMemcpyDeviceToHost));
	CK(cudaMemcpy(hb, b, n * 2, cudaMemcpyDeviceToHost));
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		double x = __bfloat162float(ha[i]), y = __bfloat162float(hb[i]);
		num += (x - y) * (x - y);
		den += y * y;
	}
	free(ha);
	free(hb);
	return sqrt(num / (den > 0 ? den : 1));
}

static void *dmalloc(size_t bytes)
{
	void *p;
	CK(cudaMalloc(&p, bytes));
	return p;
}

int main(int argc, char **argv)
{
	long d = 768, ff = 3072, N = 32768;
	if (argc == 4) {
		d = atol(argv[1]), ff = atol(argv[2]), N = atol(argv[3]);
	} else if (argc != 1) {
		fprintf(stderr, "usage: fp8_products [D FF N]\n");
		return 2;
	}
	if (d <= 0 || ff <= 0 || N <= 0 || d % 16 || ff % 16 || N % 16) {
		fprintf(stderr, "fp8_products: D, FF, N must be positive multiples of 16\n");
		return 2;
	}
	CKB(cublasLtCreate(&lt));
	ws = dmalloc(ws_size);
	float *one = (float *)dmalloc(sizeof(float)), h1 = 1.f;
	CK(cudaMemcpy(one, &h1, sizeof h1, cudaMemcpyHostToDevice));
	/* name, m, n, k, whether B (the gradient side) is e5m2 */
	struct {
		const char *name;
		long m, n, k;
		int grad;
	} sh[] = {
		{"gate/up fwd", 2 * ff, N, d, 0}, {"down fwd", d, N, ff, 0},
		{"gate/up dgrad", d, N, 2 * ff, 1}, {"down dgrad", ff, N, d, 1},
		{"gate/up wgrad", 2 * ff, d, N, 1}, {"down wgrad", d, ff, N, 1},
	};
	printf("# fp8_products D %ld FF %ld N %ld on ", d, ff, N);
	cudaDeviceProp p;
	CK(cudaGetDeviceProperties(&p, 0));
	printf("%s\n", p.name);
	printf("| product | m | n | k | bf16 ms | TFLOP/s | fp8 ms | TFLOP/s | fp8/bf16 | rel diff |\n");
	printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
	double tb = 0, tf = 0;
	int bad = 0;
	for (size_t s = 0; s < sizeof sh / sizeof *sh; s++) {
		long m = sh[s].m, n = sh[s].n, k = sh[s].k;
		size_t na = (size_t)m * k, nb = (size_t)k * n, nd = (size_t)m * n;
		__nv_bfloat16 *Ab = (__nv_bfloat16 *)dmalloc(na * 2), *Bb = (__nv_bfloat16 *)dmalloc(nb * 2);
		__nv_fp8_e4m3 *A8 = (__nv_fp8_e4m3 *)dmalloc(na), *B43 = (__nv_fp8_e4m3 *)dmalloc(nb);
		__nv_fp8_e5m2 *B52 = (__nv_fp8_e5m2 *)dmalloc(nb);
		__nv_bfloat16 *Db = (__nv_bfloat16 *)dmalloc(nd * 2), *D8 = (__nv_bfloat16 *)dmalloc(nd * 2);
		fill_kernel<<<(unsigned)((na + 255) / 256), 256>>>(na, 1u + (unsigned)s, 2.f, Ab, A8, NULL);
		if (sh[s].grad)
			fill_kernel<<<(unsigned)((nb + 255) / 256), 256>>>(nb, 77u + (unsigned)s, 2.f, Bb,
									    NULL, B52);
		else
			fill_kernel<<<(unsigned)((nb + 255) / 256), 256>>>(nb, 77u + (unsigned)s, 2.f, Bb,
									    B43, NULL);
		CK(cudaGetLastError());
		double fl = 2.0 * m * n * k;
		double mb = product((int)m, (int)n, (int)k, CUDA_R_16BF, Ab, CUDA_R_16BF, Bb, Db, one);
		double m8 = sh[s].grad ? product((int)m, (int)n, (int)k, CUDA_R_8F_E4M3, A8,
						 CUDA_R_8F_E5M2, B52, D8, one)
				       : product((int)m, (int)n, (int)k, CUDA_R_8F_E4M3, A8,
						 CUDA_R_8F_E4M3, B43, D8, one);
		double rd = m8 > 0 ? rel_diff(D8, Db, nd) : NAN;
		/* equal inputs, fp32 accumulation both: only the order of the
		 * sums and the final rounding may differ */
		if (m8 > 0 && !(rd < 1e-2))
			bad++;
		if (mb > 0)
			tb += mb;
		if (m8 > 0)
			tf += m8;
		printf("| %s | %ld | %ld | %ld | %.3f | %.0f | %.3f | %.0f | %.2f | %.1e |\n", sh[s].name,
		       m, n, k, mb, fl / mb / 1e9, m8, m8 > 0 ? fl / m8 / 1e9 : 0, m8 > 0 ? m8 / mb : 0,
		       rd);
		fflush(stdout);
		for (void *q : {(void *)Ab, (void *)Bb, (void *)A8, (void *)B43, (void *)B52, (void *)Db,
				(void *)D8})
			CK(cudaFree(q));
	}
	printf("# a layer's MLP products: bf16 %.3f ms, fp8 %.3f ms (%.2fx)%s\n", tb, tf, tf / tb,
	       bad ? "; FP8 RESULTS DIFFER from bf16's" : "");
	return bad ? 1 : 0;
}
