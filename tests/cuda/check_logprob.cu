/* check_logprob.cu - the scoring kernels of lib/cuda/cross_entropy.cuh against the CPU
 * rule (eval/loglik.c's log_softmax_at: log-softmax in double, the first
 * index of the maximum) on rows of random fp32 logits: vocabularies that are
 * and are not multiples of 4 (the tail loop), padding columns past V, ties
 * for the maximum, rows of equal values, -inf entries, soft-capping, a
 * target < 0; and the row gather. Runs on a GPU only; prints TAP.
 * Links the evaluator's own log_softmax_at; built by `make check-cuda`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <vector>

#include "check_util.cuh"
#include "cuda/cross_entropy.cuh"
extern "C" {
#include "loglik.h" /* log_softmax_at: the reference */
}

static void run_case(int V, int ld, float cap, const char *name)
{
	const int R = 41;
	std::vector<float> h((size_t)R * ld);
	std::vector<int32_t> tg(R);
	for (int r = 0; r < R; r++) {
		float *row = &h[(size_t)r * ld];
		float scale = r % 3 == 0 ? 0.02f : r % 3 == 1 ? 3.f : 40.f;
		for (int j = 0; j < ld; j++)
			row[j] = j < V ? (float)((urand() * 2 - 1) * scale) : 1e30f; /* padding: huge */
		int a = (int)(urand() * V), b = (int)(urand() * V);
		if (a > b)
			std::swap(a, b);
		switch (r % 7) {
		case 0: /* a tie for the maximum: the first index wins */
			row[a] = row[b] = 2 * scale + 1;
			tg[r] = r % 2 ? a : b;
			break;
		case 1: /* every value equal */
			for (int j = 0; j < V; j++)
				row[j] = 0.5f;
			tg[r] = r % 2 ? 0 : V - 1;
			break;
		case 2: /* -inf entries, the target the maximum */
			row[b] = -INFINITY;
			row[a] = 3 * scale + 2;
			tg[r] = a;
			break;
		case 3: /* the last column the maximum (the tail loop when V % 4) */
			row[V - 1] = 5 * scale + 1;
			tg[r] = V - 1;
			break;
		case 4:
			tg[r] = -1;
			break;
		default:
			tg[r] = (int)(urand() * V);
		}
	}
	/* the reference sees the soft-capped values the GPU computes (tanhf on
	 * the host may differ by an ulp: compare greedy only without a cap) */
	std::vector<float> capped(h);
	if (cap > 0)
		for (auto &x : capped)
			x = cap * tanhf(x / cap);
	float *dl;
	int32_t *dt;
	float *dlp;
	unsigned char *dg;
	CK(cudaMalloc(&dl, h.size() * 4));
	CK(cudaMalloc(&dt, R * 4));
	CK(cudaMalloc(&dlp, R * 4));
	CK(cudaMalloc(&dg, R));
	CK(cudaMemcpy(dl, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dt, tg.data(), R * 4, cudaMemcpyHostToDevice));
	CK(cudaMemset(dlp, 0xff, R * 4)); /* NaN: an unwritten row fails */
	logprob_rows_kernel<<<R, 512>>>(V, (size_t)ld, dl, dt, cap, dlp, dg);
	CK(cudaGetLastError());
	std::vector<float> lp(R);
	std::vector<unsigned char> gr(R);
	CK(cudaMemcpy(lp.data(), dlp, R * 4, cudaMemcpyDeviceToHost));
	CK(cudaMemcpy(gr.data(), dg, R, cudaMemcpyDeviceToHost));
	double worst = 0;
	int gbad = 0;
	for (int r = 0; r < R; r++) {
		if (tg[r] < 0) {
			gbad += lp[r] != 0.f || gr[r] != 0;
			continue;
		}
		int g;
		double want = log_softmax_at(&capped[(size_t)r * ld], V, tg[r], &g);
		double e = fabs(lp[r] - want) / fmax(1.0, fabs(want));
		if (!(e <= worst))
			worst = isnan(e) ? INFINITY : e;
		if (cap == 0)
			gbad += gr[r] != g;
	}
	tap(worst <= 2e-6, "%s (V %d, ld %d, cap %g): log p within 2e-6 (worst %.2e)", name, V,
	    ld, cap, worst);
	tap(gbad == 0, "%s: greedy flags%s, target < 0 gives 0 (%d bad)", name,
	    cap == 0 ? " (first argmax)" : "", gbad);
	cudaFree(dl);
	cudaFree(dt);
	cudaFree(dlp);
	cudaFree(dg);
}

int main()
{
	int dev = 0;
	if (cudaGetDeviceCount(&dev) != cudaSuccess || dev < 1) {
		printf("1..0 # SKIP no GPU\n");
		return 0;
	}
	run_case(50257, 50264, 0.f, "r50k vocabulary, padded");
	run_case(262144, 262144, 0.f, "Gemma 3 vocabulary");
	run_case(512, 512, 0.f, "small");
	run_case(13, 16, 0.f, "tiny, tail only");
	run_case(4096, 4096, 30.f, "soft-capped");

	/* the gather */
	const int n = 100, d = 64, rows = 300;
	std::vector<uint16_t> src((size_t)rows * d);
	for (auto &x : src)
		x = (uint16_t)(urand() * 65535);
	std::vector<int32_t> sel(n);
	for (auto &x : sel)
		x = (int)(urand() * rows);
	bf16 *ds, *dd;
	int32_t *dsel;
	CK(cudaMalloc(&ds, src.size() * 2));
	CK(cudaMalloc(&dd, (size_t)n * d * 2));
	CK(cudaMalloc(&dsel, n * 4));
	CK(cudaMemcpy(ds, src.data(), src.size() * 2, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dsel, sel.data(), n * 4, cudaMemcpyHostToDevice));
	gather_rows_kernel<<<(n * d / 8 + 255) / 256, 256>>>(n, d, dsel, ds, dd);
	CK(cudaGetLastError());
	std::vector<uint16_t> got((size_t)n * d);
	CK(cudaMemcpy(got.data(), dd, got.size() * 2, cudaMemcpyDeviceToHost));
	int bad = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			bad += got[(size_t)i * d + j] != src[(size_t)sel[i] * d + j];
	tap(bad == 0, "gather_rows_kernel copies the selected rows");
	printf("1..%d\n", ntest);
	return nfail != 0;
}
