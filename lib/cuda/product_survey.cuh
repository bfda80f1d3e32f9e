/* product_survey.cuh - for each product plan a run has made, the time of
 * the plan's algorithm (cuBLASLt's first choice unless tuned) and of the
 * others its heuristic offers, on random operands of the plan's shape,
 * and whether each gives the plan's bits (product_hash, as product_tune
 * tells them; an algorithm that does not would change the trainer's
 * results): the measurement behind picking among them (`gpu_bench ...
 * products`). */
#ifndef BONSAI_CUDA_PRODUCT_SURVEY_CUH
#define BONSAI_CUDA_PRODUCT_SURVEY_CUH

#include <stdio.h>

#include "product.cuh"

__global__ void survey_fill_kernel(bf16 *p, size_t n, uint32_t seed)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		uint32_t h = (uint32_t)i * 2654435761u ^ seed;
		h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
		p[i] = __float2bfloat16((float)(h >> 8) / 8388608.f - 1.f); /* [-1, 1) */
	}
}

/* "id tile splits stages cluster" of an algorithm, for the table */
static void survey_algo_name(const cublasLtMatmulAlgo_t &a, char *out, size_t n)
{
	int32_t id = 0, splits = 1;
	uint32_t tile = 0, stages = 0;
	uint16_t cluster = 0;
	size_t w;
	cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id, &w);
	cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof tile, &w);
	cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splits,
					     sizeof splits, &w);
	cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages,
					     sizeof stages, &w);
	cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, &cluster,
					     sizeof cluster, &w);
	snprintf(out, n, "id%d/t%u/k%d/s%u/c%u", (int)id, tile, (int)splits, stages,
		 (unsigned)cluster);
}

/* One plan: its algorithm and up to tries - 1 others timed on fresh
 * operands; prints a row to f and adds the plan's and the fastest
 * same-bits algorithm's ms a step (calls_per_step products) to sums. */
static int survey_plan(cublasLtHandle_t lt, const ProductPlan &p, void *ws, cudaStream_t st,
		       double calls_per_step, int tries, FILE *f, double *sum_first,
		       double *sum_best, char *err, size_t n)
{
	const ProductShape &s = p.s;
	size_t na = (size_t)(s.ta ? s.K : s.M) * s.lda, nb = (size_t)(s.tb ? s.N : s.K) * s.ldb;
	size_t cbytes = (size_t)s.M * s.ldc * (s.cf32 ? 4 : 2);
	cublasLtMatmulHeuristicResult_t res[PRODUCT_MAX_TRIES];
	int nres = 0;
	if (product_algos(lt, p, res, tries, &nres) != CUBLAS_STATUS_SUCCESS) {
		snprintf(err, n, "no algorithms for the %dx%dx%d product", s.M, s.N, s.K);
		return -1;
	}
	bf16 *A = nullptr, *B = nullptr;
	void *C = nullptr;
	unsigned long long *hbuf = nullptr, h0 = 0, h;
	cudaError_t e = cudaMalloc(&A, na * 2);
	if (e == cudaSuccess)
		e = cudaMalloc(&B, nb * 2);
	if (e == cudaSuccess)
		e = cudaMalloc(&C, cbytes);
	if (e == cudaSuccess)
		e = cudaMalloc(&hbuf, sizeof *hbuf);
	if (e == cudaSuccess) {
		survey_fill_kernel<<<1024, 256, 0, st>>>(A, na, 0x9e3779b9u);
		survey_fill_kernel<<<1024, 256, 0, st>>>(B, nb, 0x85ebca6bu);
		e = cudaGetLastError();
	}
	float first = 0.f, best = 0.f, any = 0.f;
	int ibest = 0, iany = 0;
	char name[64], bname[64];
	if (e == cudaSuccess)
		e = product_time(lt, p, p.algo, A, B, C, ws, st, 10, &first);
	if (e == cudaSuccess)
		e = product_hash(p, C, hbuf, st, &h0);
	best = any = first;
	int same = 0, differ = 0;
	for (int i = 1; i < nres && e == cudaSuccess; i++) {
		float ms;
		if (product_time(lt, p, res[i].algo, A, B, C, ws, st, 10, &ms) != cudaSuccess) {
			cudaGetLastError(); /* an algorithm refused at run time: skip it */
			continue;
		}
		if ((e = product_hash(p, C, hbuf, st, &h)) != cudaSuccess)
			break;
		if (ms < any)
			any = ms, iany = i;
		if (h != h0) {
			differ++;
			continue;
		}
		same++;
		if (ms < best)
			best = ms, ibest = i;
	}
	if (e == cudaSuccess) {
		double fl = 2.0 * s.M * s.N * s.K;
		survey_algo_name(p.algo, name, sizeof name);
		survey_algo_name(res[ibest].algo, bname, sizeof bname);
		fprintf(f, "  %c%c %6d %6d %6d %s %5.1f | %8.3f %5.0f %-22s | %8.3f %5.0f %-22s | "
			   "%2d same %2d differ | fastest %8.3f%s\n",
			s.ta ? 'T' : 'N', s.tb ? 'T' : 'N', s.M, s.N, s.K, s.cf32 ? "f32 " : "bf16",
			calls_per_step, first, fl / first / 1e9, name, best, fl / best / 1e9,
			ibest ? bname : "(the plan's)", same, differ, any,
			iany == ibest ? "" : " (other bits)");
		*sum_first += calls_per_step * first;
		*sum_best += calls_per_step * best;
	} else {
		snprintf(err, n, "the %dx%dx%d product's survey: %s", s.M, s.N, s.K,
			 cudaGetErrorString(e));
	}
	cudaFree(A), cudaFree(B), cudaFree(C), cudaFree(hbuf);
	return e == cudaSuccess ? 0 : -1;
}

/* Every single (unbatched) plan in plans, `tries` candidates each (at most
 * PRODUCT_MAX_TRIES); steps: the steps whose calls the plans counted. */
static int product_survey(cublasLtHandle_t lt, const ProductPlans &plans, void *ws,
			  cudaStream_t st, long steps, int tries, FILE *f, char *err, size_t n)
{
	if (tries < 1 || tries > PRODUCT_MAX_TRIES)
		tries = PRODUCT_MAX_TRIES;
	fprintf(f, "  products (%d candidates each; ms one product, TFLOP/s; the fastest that gives "
		   "the plan's bits)\n  op      M      N      K C    /step | the plan's algorithm"
		   "                         | fastest same bits\n", tries);
	double first = 0, best = 0;
	for (const auto &p : plans) {
		if (p.s.batch != 1 || !p.calls)
			continue;
		if (survey_plan(lt, p, ws, st, steps > 0 ? (double)p.calls / steps : 0., tries, f,
				&first, &best, err, n))
			return -1;
	}
	fprintf(f, "  a step's products: the plans' algorithms %.3f ms, fastest same-bits %.3f ms "
		   "(%.3f less)\n", first, best, first - best);
	return 0;
}

#endif
