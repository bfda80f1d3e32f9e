/* check_kernels.cu - checks each hand-written CUDA kernel of the GPU trainer
 * against a CPU reference in double precision on random inputs (fresh for
 * every case; outputs poisoned with NaN first, so an element left unwritten
 * fails). Runs on a GPU only: not part of `make test`. Prints TAP.
 *
 *     check_kernels [FAMILY...]   the checks, all or those of the families
 *                                 named (product attention reduce sumsq
 *                                 adamw ce qk norm geglu)
 *     check_kernels bench [F]     timings (attention product norm sumsq)
 *
 * Error measure: ||gpu - ref|| / ||ref|| over the whole output (norm-wise
 * relative). The inputs are bf16; bf16 outputs carry a relative rounding of
 * 2^-9 = 0.2% per element, and flash attention also rounds P and dS to bf16
 * before the second product, so the bound for its outputs is 1e-2; fp32
 * outputs of fp32 arithmetic must be within 1e-4. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <functional>
#include <vector>

#include "check_util.cuh"
#include "cuda/adamw.cuh"
#include "cuda/attention_hopper.cuh"
#include "cuda/attention_hopper_wide.cuh"
#include "cuda/attention_tile128.cuh"
#include "cuda/cross_entropy.cuh"
#include "cuda/embedding.cuh"
#include "cuda/geglu.cuh"
#include "cuda/norms.cuh"
#include "cuda/product.cuh"
#include "cuda/product_geglu.cuh"
#include "cuda/qk_norm_rope.cuh"


static void ok(int c, const char *fmt, double err, double tol, const char *name)
{
	tap(c, "%s: %s rel err %.3e (tol %.0e)", name, fmt, err, tol);
}


static float bfr(float x) { return __bfloat162float(__float2bfloat16(x)); }

template <typename T> static T *dnew(size_t n)
{
	T *p;
	CK(cudaMalloc(&p, n * sizeof(T)));
	CK(cudaMemset(p, 0xFF, n * sizeof(T))); /* poison: NaN in bf16 and fp32 */
	return p;
}

static void up_bf(bf16 *d, const std::vector<float> &h)
{
	std::vector<bf16> t(h.size());
	for (size_t i = 0; i < h.size(); i++)
		t[i] = __float2bfloat16(h[i]);
	CK(cudaMemcpy(d, t.data(), t.size() * 2, cudaMemcpyHostToDevice));
}
static std::vector<float> down_bf(const bf16 *d, size_t n)
{
	std::vector<bf16> t(n);
	CK(cudaMemcpy(t.data(), d, n * 2, cudaMemcpyDeviceToHost));
	std::vector<float> r(n);
	for (size_t i = 0; i < n; i++)
		r[i] = __bfloat162float(t[i]);
	return r;
}
static std::vector<float> down_f(const float *d, size_t n)
{
	std::vector<float> r(n);
	CK(cudaMemcpy(r.data(), d, n * 4, cudaMemcpyDeviceToHost));
	return r;
}
static std::vector<float> rnd(size_t n, double s)
{
	std::vector<float> v(n);
	for (auto &x : v)
		x = bfr((float)(nrand() * s));
	return v;
}

static double relerr(const std::vector<float> &a, const std::vector<double> &r)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < r.size(); i++) {
		if (!isfinite(a[i]))
			return INFINITY;
		num += (a[i] - r[i]) * (a[i] - r[i]);
		den += r[i] * r[i];
	}
	return sqrt(num / (den > 0 ? den : 1));
}

/* ---------------- flash attention ---------------- */
/* Where an attention output is wrong (printed on failure), as TAP
 * comments: the largest absolute error and the first element off by more
 * than tol_abs (or not finite: never written), each with its coordinates.
 * O is [B*T, Hq*hd] (idx -> b, t, head, column); lse is [B, Hq, T] (idx ->
 * b, head, t), so that a layout bug shows as a pattern (one column chunk,
 * rows past a tile, one warp's rows). lse depends on S = Q K^T alone: lse
 * right and O wrong points at the P V product (for the wgmma kernels, V's
 * N-major descriptor), both wrong at S (Q's or K's swizzle or
 * descriptor). */
static void attn_diag(const char *what, const std::vector<float> &a, const std::vector<double> &r,
		      double tol_abs, bool is_o, int T, int Hq, int hd)
{
	size_t imax = 0, ibad = (size_t)-1, nbad = 0;
	double emax = -1;
	for (size_t i = 0; i < r.size(); i++) {
		double e = isfinite(a[i]) ? fabs(a[i] - r[i]) : INFINITY;
		if (e > emax)
			emax = e, imax = i;
		if (e > tol_abs && nbad++ == 0)
			ibad = i;
	}
	auto at = [&](size_t i, char *buf, size_t n) {
		if (is_o) {
			size_t row = i / ((size_t)Hq * hd), col = i % ((size_t)Hq * hd);
			snprintf(buf, n, "b %zu t %zu head %zu col %zu", row / T, row % T, col / hd,
				 col % hd);
		} else {
			snprintf(buf, n, "b %zu head %zu t %zu", i / ((size_t)Hq * T), i / T % Hq, i % T);
		}
	};
	char w1[96], w2[96] = "-";
	at(imax, w1, sizeof w1);
	if (nbad)
		at(ibad, w2, sizeof w2);
	printf("# %s: max abs err %.4g at [%zu] (%s: got %g want %g); %zu of %zu off by > %g, "
	       "first [%lld] (%s)\n",
	       what, emax, imax, w1, a[imax], r[imax], nbad, r.size(), tol_abs,
	       nbad ? (long long)ibad : -1LL, w2);
	if (nbad)
		printf("#   first bad: got %g want %g\n", a[ibad], r[ibad]);
}

/* Tile-shape variants of version 2 (gpu_attention.cuh), checked like the
 * default and timed by `check_kernels bench`, so that one GPU run can pick
 * the shapes. Only head_dim 64 and 256 (the benchmark's). */
template <int HD> struct CfgFMinb1 : Tile128Cfg<HD> { /* forward: 1 block/SM, more registers */
	static constexpr int FMINB = 1;
};
template <int HD> struct CfgDqReg : Tile128Cfg<HD> { /* dQ: Q, dO in registers, 1 block/SM */
	static constexpr bool DQREG = HD <= 64;
	static constexpr int DQMINB = 1;
};
template <int HD> struct CfgKvSmem : Tile128Cfg<HD> { /* dK/dV: K, V from smem */
	static constexpr bool KVREG = false;
};
template <int HD> struct CfgNw4 : Tile128Cfg<HD> { /* 4 warps, 64-row tiles */
	static constexpr int NW = 4, FNW = 4, KNW = 4;
};
template <int HD> struct CfgKMt2 : Tile128Cfg<HD> { /* dK/dV: 4 warps of 32 keys (hd 64) */
	typedef Tile128Cfg<HD> D;
	static constexpr int KNW = HD <= 64 ? 4 : D::KNW, KMT = HD <= 64 ? 2 : 1;
	static constexpr int BQB = HD <= 64 ? 32 : D::BQB;
	static constexpr bool KVREG = HD <= 64 ? false : D::KVREG;
};
template <int HD> struct CfgQMt2 : Tile128Cfg<HD> { /* dQ: 4 warps of 32 rows, 32-key tiles */
	typedef Tile128Cfg<HD> D;
	static constexpr int NW = HD <= 64 ? 4 : D::NW, QMT = HD <= 64 ? 2 : 1;
	static constexpr int QBK = HD <= 64 ? 32 : D::QBK;
	static constexpr bool DQREG = HD <= 64 ? false : D::DQREG;
};
template <int HD> struct CfgMt2 : Tile128Cfg<HD> { /* all three with 4 warps of 32 rows */
	typedef Tile128Cfg<HD> D;
	static constexpr bool S = HD <= 64;
	static constexpr int FNW = S ? 4 : D::FNW, FMT = S ? 2 : 1, FMINB = S ? 1 : D::FMINB;
	static constexpr int NW = S ? 4 : D::NW, QMT = S ? 2 : 1, QBK = S ? 32 : D::QBK;
	static constexpr int DQMINB = S ? 1 : D::DQMINB;
	static constexpr int KNW = S ? 4 : D::KNW, KMT = S ? 2 : 1, BQB = S ? 32 : D::BQB;
	static constexpr bool KVREG = S ? false : D::KVREG;
};
template <int HD> struct CfgFBk64 : Tile128Cfg<HD> { /* forward: 64-key tiles at hd 256 */
	static constexpr int BK = 64;
};
template <int HD> struct CfgFMt2 : Tile128Cfg<HD> { /* forward: 4 warps of 32 rows (hd 64) */
	static constexpr int FNW = HD <= 64 ? 4 : Tile128Cfg<HD>::FNW, FMT = HD <= 64 ? 2 : 1;
	static constexpr int FMINB = 1;
};
template <int HD> struct CfgKSplit : Tile128Cfg<HD> { /* dK/dV: warp pairs split S^T | dP^T */
	static constexpr bool KSPLIT = true;
};
template <int HD> struct CfgKSplit48 : CfgKSplit<HD> { /* the same, 48-query tiles (hd 256) */
	static constexpr int BQB = 48;
};
#define VARIANT(NAME, CFG)                                                                     \
	template <int HD> static cudaError_t NAME##_fwd(cudaStream_t st, const FlashArgs &a)   \
	{                                                                                      \
		return flash_tile128_fwd<HD, CFG<HD>>(st, a);                                  \
	}                                                                                      \
	template <int HD> static cudaError_t NAME##_bwd(cudaStream_t st, const FlashArgs &a)   \
	{                                                                                      \
		return flash_tile128_bwd<HD, CFG<HD>>(st, a);                                  \
	}
VARIANT(fminb1, CfgFMinb1)
VARIANT(dqreg, CfgDqReg)
VARIANT(kvsmem, CfgKvSmem)
VARIANT(nw4, CfgNw4)
VARIANT(fmt2, CfgFMt2)
VARIANT(kmt2, CfgKMt2)
VARIANT(qmt2, CfgQMt2)
VARIANT(mt2, CfgMt2)
VARIANT(fbk64, CfgFBk64)
VARIANT(ksplit, CfgKSplit)
VARIANT(ksplit48, CfgKSplit48)
#define HD_64_256(hd, f) ((hd) == 64 ? f<64> : (hd) == 256 ? f<256> : nullptr)

struct AttnImpl {
	const char *name;
	flash_fwd_fn fwd;
	flash_bwd_fn bwd; /* null: a forward pass alone, checked and timed alone */
	bool sm90 = false; /* only on compute capability 9.0 (elsewhere it falls back) */
};
/* the sm_90a forward with NWG warpgroups a block, PIPE (hd 64 only) */
template <int NWG, bool PIPE> static flash_fwd_fn hopper_cfg(int hd)
{
	return hd == 64 ? flash_hopper_fwd_cfg<64, NWG, PIPE> : nullptr;
}
/* the implementations for head_dim hd (entries with null functions: none) */
static std::vector<AttnImpl> attn_impls(int hd)
{
	return {{"v1", flash_tile64_fwd_for(hd), flash_tile64_bwd_for(hd)},
		/* wgmma forward (the trainer's at head_dim 64 on sm_90: 1
		 * warpgroup), 2 and 3, and with P V deferred to the next tile
		 * (-pipe) */
		{"hopper", flash_hopper_fwd_for(hd), nullptr, true},
		{"hopper-wg2", hopper_cfg<2, false>(hd), nullptr, true},
		{"hopper-wg3", hopper_cfg<3, false>(hd), nullptr, true},
		/* the wgmma forward and backward; -kv: dK/dV by wgmma, dQ v1's */
		{"hopper-bwd", flash_hopper_fwd_for(hd), flash_hopper_bwd_for(hd), true},
		{"hopper-bwd-kv", flash_hopper_fwd_for(hd), flash_hopper_bwd_for(hd, false), true},
		{"hopper-pipe1", hopper_cfg<1, true>(hd), nullptr, true},
		{"hopper-pipe2", hopper_cfg<2, true>(hd), nullptr, true},
		{"hopper-pipe3", hopper_cfg<3, true>(hd), nullptr, true},
		/* head_dims 128 and 256 on wgmma: the forward (1 warpgroup, at
		 * 256 32-key tiles), 2 warpgroups, 64-key tiles at 256 (not
		 * tile64's sums); with the two-warpgroup dK/dV kernel writing dS^T
		 * and dQ its product */
		{"hopper-wide", flash_hopper_wide_fwd_for(hd), nullptr, true},
		{"hopper-wide-wg2", hd == 256 ? flash_hopper_wide_fwd_cfg<256, 32, 2> : nullptr, nullptr, true},
		{"hopper-wide-bk64", hd == 256 ? flash_hopper_wide_fwd_cfg<256, 64, 1> : nullptr, nullptr, true},
		{"hopper-wide-bwd", flash_hopper_wide_fwd_for(hd), flash_hopper_wide_bwd_for(hd), true},
		{"v2", flash_tile128_fwd_for(hd), flash_tile128_bwd_for(hd)},
		{"v2-fminb1", HD_64_256(hd, fminb1_fwd), HD_64_256(hd, fminb1_bwd)},
		{"v2-dqreg", HD_64_256(hd, dqreg_fwd), HD_64_256(hd, dqreg_bwd)},
		{"v2-kvsmem", HD_64_256(hd, kvsmem_fwd), HD_64_256(hd, kvsmem_bwd)},
		{"v2-nw4", HD_64_256(hd, nw4_fwd), HD_64_256(hd, nw4_bwd)},
		{"v2-fmt2", HD_64_256(hd, fmt2_fwd), HD_64_256(hd, fmt2_bwd)},
		{"v2-kmt2", HD_64_256(hd, kmt2_fwd), HD_64_256(hd, kmt2_bwd)},
		{"v2-qmt2", HD_64_256(hd, qmt2_fwd), HD_64_256(hd, qmt2_bwd)},
		{"v2-mt2", HD_64_256(hd, mt2_fwd), HD_64_256(hd, mt2_bwd)},
		{"v2-fbk64", hd == 256 ? fbk64_fwd<256> : nullptr, hd == 256 ? fbk64_bwd<256> : nullptr},
		/* every head_dim: the dK/dV of v2 at hd 16 */
		{"v2-ksplit", FLASH_DISPATCH(hd, ksplit_fwd), FLASH_DISPATCH(hd, ksplit_bwd)},
		{"v2-ksplit48", hd == 256 ? ksplit48_fwd<256> : nullptr,
		 hd == 256 ? ksplit48_bwd<256> : nullptr},
		/* the trainer's split dK/dV (v2-ksplit48 at 256, else v2-ksplit)
		 * writing dS^T, dQ a product of it (BONSAI_ATTN=ds) */
		{"v2-ds", flash_tile128_fwd_for(hd), flash_tile128_ds_bwd_for(hd)}};
}

static void check_attention(int B, int T, int Hq, int Hkv, int hd, int window)
{
	char name[128];
	int G = Hq / Hkv, N = B * T, qld = Hq * hd, kld = Hkv * hd;
	std::vector<float> q = rnd((size_t)N * qld, 1.0), k = rnd((size_t)N * kld, 1.0),
			   v = rnd((size_t)N * kld, 1.0), dO = rnd((size_t)N * qld, 1.0);
	double scale = 1.0 / sqrt((double)hd) * 2.0; /* sharper softmax than 1/sqrt(hd) */
	std::vector<double> O((size_t)N * qld, 0), dq((size_t)N * qld, 0), dk((size_t)N * kld, 0),
		dv((size_t)N * kld, 0), lse((size_t)B * Hq * T);
	std::vector<double> s(T), p(T), dp(T);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < Hq; h++) {
			int hk = h / G;
			for (int i = 0; i < T; i++) {
				const float *qi = &q[((size_t)b * T + i) * qld + h * hd];
				double m = -INFINITY;
				int j0 = window > 0 ? std::max(0, i - window + 1) : 0;
				for (int j = j0; j <= i; j++) {
					const float *kj = &k[((size_t)b * T + j) * kld + hk * hd];
					double a = 0;
					for (int c = 0; c < hd; c++)
						a += (double)qi[c] * kj[c];
					s[j] = a * scale;
					m = std::max(m, s[j]);
				}
				double sum = 0;
				for (int j = j0; j <= i; j++)
					sum += (p[j] = exp(s[j] - m));
				double *oi = &O[((size_t)b * T + i) * qld + h * hd];
				for (int j = j0; j <= i; j++) {
					p[j] /= sum;
					const float *vj = &v[((size_t)b * T + j) * kld + hk * hd];
					for (int c = 0; c < hd; c++)
						oi[c] += p[j] * vj[c];
				}
				lse[((size_t)b * Hq + h) * T + i] = m + log(sum);
				const float *gi = &dO[((size_t)b * T + i) * qld + h * hd];
				double D = 0;
				for (int c = 0; c < hd; c++)
					D += gi[c] * oi[c];
				for (int j = j0; j <= i; j++) {
					const float *vj = &v[((size_t)b * T + j) * kld + hk * hd];
					const float *kj = &k[((size_t)b * T + j) * kld + hk * hd];
					double a = 0;
					for (int c = 0; c < hd; c++)
						a += (double)gi[c] * vj[c];
					double ds = p[j] * (a - D);
					double *dqi = &dq[((size_t)b * T + i) * qld + h * hd];
					double *dkj = &dk[((size_t)b * T + j) * kld + hk * hd];
					double *dvj = &dv[((size_t)b * T + j) * kld + hk * hd];
					for (int c = 0; c < hd; c++) {
						dqi[c] += scale * ds * kj[c];
						dkj[c] += scale * ds * qi[c];
						dvj[c] += p[j] * gi[c];
					}
				}
			}
		}
	/* every implementation against the same reference: version 1
	 * (BONSAI_ATTN=old), version 2 and its tile-shape variants */
	std::vector<float> v2dkdv[2]; /* v2's dK, dV: v2-ksplit's must be the same bits */
	std::vector<float> splitdkdv[2]; /* the trainer's split config's: v2-ds's the same */
	std::vector<float> v1o, v1l; /* v1's O, lse2: the wgmma forward's the same bits */
	std::vector<float> v1dkdv[2], v1dq; /* v1's dK, dV, dQ */
	for (const AttnImpl &im : attn_impls(hd)) {
		flash_fwd_fn fwd = im.fwd;
		flash_bwd_fn bwd = im.bwd;
		if (!fwd)
			continue;
		snprintf(name, sizeof name, "attention %s B%d T%d H%d/%d hd%d window %d", im.name,
			 B, T, Hq, Hkv, hd, window);
		if (im.sm90 && !wgmma_device()) {
			tap(1, "%s # SKIP not sm_90", name);
			continue;
		}
		bf16 *dq_ = dnew<bf16>(q.size()), *dk_ = dnew<bf16>(k.size()),
		     *dv_ = dnew<bf16>(v.size()), *ddO = dnew<bf16>(dO.size()),
		     *dO_ = dnew<bf16>(O.size()), *gq = dnew<bf16>(q.size()),
		     *gk = dnew<bf16>(k.size()), *gv = dnew<bf16>(v.size());
		float *dl = dnew<float>(lse.size()), *dD = dnew<float>(lse.size());
		up_bf(dq_, q);
		up_bf(dk_, k);
		up_bf(dv_, v);
		up_bf(ddO, dO);
		bf16 *dsT = dnew<bf16>(flash_ds_bytes(B, Hq, T) / 2);
		const FlashArgs fa = {dq_, dk_, dv_, qld, kld, kld, dO_, qld, dl, ddO, qld, dD,
				      gq, gk, gv, qld, kld, kld, B, T, Hq, Hkv, window, (float)scale,
				      dsT};
		CK(fwd(0, fa));
		CK(cudaDeviceSynchronize());
		auto o = down_bf(dO_, O.size());
		auto l2 = down_f(dl, lse.size());
		std::vector<float> ln(l2.size());
		for (size_t i = 0; i < l2.size(); i++)
			ln[i] = l2[i] / LOG2E_F;
		double e;
		e = relerr(o, O);
		ok(e < 1e-2, "O", e, 1e-2, name);
		if (!(e < 1e-2))
			attn_diag("O", o, O, 0.05, true, T, Hq, hd);
		e = relerr(ln, lse);
		ok(e < 1e-4, "lse", e, 1e-4, name);
		if (!(e < 1e-4))
			attn_diag("lse (natural log)", ln, lse, 1e-3, false, T, Hq, hd);
		/* the trainer's D for every version (attn_bwd_dot_kernel only where
		 * rows are not 16-byte aligned) */
		CK(attn_bwd_dot(0, N, T, Hq, hd, dO_, ddO, qld, dD));
		CK(cudaDeviceSynchronize());
		{
			/* D = rowsum(dO * O) of the O this forward pass wrote */
			std::vector<double> Dref(lse.size());
			for (int n = 0; n < N; n++)
				for (int h = 0; h < Hq; h++) {
					double a = 0;
					for (int c = 0; c < hd; c++)
						a += (double)o[(size_t)n * qld + h * hd + c] *
						     dO[(size_t)n * qld + h * hd + c];
					Dref[((size_t)(n / T) * Hq + h) * T + n % T] = a;
				}
			e = relerr(down_f(dD, lse.size()), Dref);
			ok(e < 1e-4, "D", e, 1e-4, name);
		}
		auto release = [&] {
			for (void *pp : {(void *)dq_, (void *)dk_, (void *)dv_, (void *)ddO,
					 (void *)dO_, (void *)gq, (void *)gk, (void *)gv, (void *)dl,
					 (void *)dD, (void *)dsT})
				cudaFree(pp);
		};
		if (!strcmp(im.name, "v1")) {
			v1o = o;
			v1l = l2;
		} else if (im.sm90 && !strstr(im.name, "pipe") && !strstr(im.name, "bk64") && !v1o.empty()) {
			/* the same products in the same order and tile64's softmax
			 * steps: the trainer takes it for v1's forward */
			int same = !memcmp(o.data(), v1o.data(), o.size() * 4) &&
				   !memcmp(l2.data(), v1l.data(), l2.size() * 4);
			tap(same, "%s: O, lse bitwise those of v1", name);
		}
		if (!bwd) {
			/* a forward pass alone: bitwise reproducible, outputs poisoned */
			std::vector<float> l1 = l2;
			CK(cudaMemset(dO_, 0xFF, O.size() * 2));
			CK(cudaMemset(dl, 0xFF, lse.size() * 4));
			CK(fwd(0, fa));
			CK(cudaDeviceSynchronize());
			int same = !memcmp(o.data(), down_bf(dO_, O.size()).data(), o.size() * 4) &&
				   !memcmp(l1.data(), down_f(dl, lse.size()).data(), l1.size() * 4);
			tap(same, "%s: forward bitwise reproducible", name);
			release();
			continue;
		}
		CK(bwd(0, fa));
		CK(cudaDeviceSynchronize());
		std::vector<float> a1[3] = {down_bf(gq, q.size()), down_bf(gk, k.size()),
					    down_bf(gv, v.size())};
		e = relerr(a1[0], dq);
		ok(e < 1e-2, "dQ", e, 1e-2, name);
		e = relerr(a1[1], dk);
		ok(e < 1e-2, "dK", e, 1e-2, name);
		e = relerr(a1[2], dv);
		ok(e < 1e-2, "dV", e, 1e-2, name);
		if (!strcmp(im.name, "v1")) {
			v1dq = a1[0];
			v1dkdv[0] = a1[1];
			v1dkdv[1] = a1[2];
		} else if (!strncmp(im.name, "hopper-bwd", 10) && !v1dkdv[0].empty()) {
			/* the trainer's default: BONSAI_ATTN=v1 must train to the same bits */
			int same = !memcmp(a1[0].data(), v1dq.data(), a1[0].size() * 4) &&
				   !memcmp(a1[1].data(), v1dkdv[0].data(), a1[1].size() * 4) &&
				   !memcmp(a1[2].data(), v1dkdv[1].data(), a1[2].size() * 4);
			tap(same, "%s: dQ, dK, dV bitwise those of v1", name);
		}
		if (!strcmp(im.name, "v2")) {
			v2dkdv[0] = a1[1];
			v2dkdv[1] = a1[2];
		} else if (!strcmp(im.name, "v2-ksplit") && !v2dkdv[0].empty()) {
			/* same P, dP bits and the same sums in the same order */
			int same = !memcmp(a1[1].data(), v2dkdv[0].data(), a1[1].size() * 4) &&
				   !memcmp(a1[2].data(), v2dkdv[1].data(), a1[2].size() * 4);
			tap(same, "%s: dK, dV bitwise those of v2", name);
		}
		/* the split kernel that also writes dS^T: its dK, dV untouched */
		if (!strcmp(im.name, hd == 256 ? "v2-ksplit48" : "v2-ksplit"))
			splitdkdv[0] = a1[1], splitdkdv[1] = a1[2];
		if (!strcmp(im.name, "v2-ds") && !splitdkdv[0].empty()) {
			int same = !memcmp(a1[1].data(), splitdkdv[0].data(), a1[1].size() * 4) &&
				   !memcmp(a1[2].data(), splitdkdv[1].data(), a1[2].size() * 4);
			tap(same, "%s: dK, dV bitwise those of the split kernel alone", name);
		}
		/* bitwise reproducible: forward and backward again, outputs poisoned */
		std::vector<float> o1 = o;
		CK(cudaMemset(dO_, 0xFF, O.size() * 2));
		CK(cudaMemset(gq, 0xFF, q.size() * 2));
		CK(cudaMemset(gk, 0xFF, k.size() * 2));
		CK(cudaMemset(gv, 0xFF, v.size() * 2));
		CK(fwd(0, fa));
		CK(bwd(0, fa));
		CK(cudaDeviceSynchronize());
		std::vector<float> a2[3] = {down_bf(gq, q.size()), down_bf(gk, k.size()),
					    down_bf(gv, v.size())};
		std::vector<float> o2 = down_bf(dO_, O.size());
		int same = !memcmp(o1.data(), o2.data(), o1.size() * 4);
		for (int t = 0; t < 3; t++)
			same &= !memcmp(a1[t].data(), a2[t].data(), a1[t].size() * 4);
		tap(same, "%s: forward and backward bitwise reproducible", name);
		release();
	}
}

/* ---------------- cross-entropy ---------------- */
static void check_ce(int R, int V, float softcap)
{
	char name[96];
	snprintf(name, sizeof name, "softmax+CE %d x %d softcap %g", R, V, softcap);
	std::vector<float> l = rnd((size_t)R * V, 3.0);
	std::vector<int32_t> t(R);
	for (int r = 0; r < R; r++)
		t[r] = r % 7 == 3 ? -1 : (int)(urand() * V) % V;
	float scale = 0.37f;
	std::vector<double> loss(R), grad((size_t)R * V);
	for (int r = 0; r < R; r++) {
		double m = -INFINITY;
		std::vector<double> x(V);
		for (int j = 0; j < V; j++) {
			x[j] = l[(size_t)r * V + j];
			if (softcap > 0)
				x[j] = softcap * tanh(x[j] / softcap);
			m = std::max(m, x[j]);
		}
		double s = 0;
		for (int j = 0; j < V; j++)
			s += exp(x[j] - m);
		double lse = m + log(s);
		loss[r] = t[r] >= 0 ? lse - x[t[r]] : 0;
		for (int j = 0; j < V; j++) {
			double dc = 1;
			if (softcap > 0) {
				double th = tanh(l[(size_t)r * V + j] / softcap);
				dc = 1 - th * th;
			}
			grad[(size_t)r * V + j] =
				t[r] < 0 ? 0 : (exp(x[j] - lse) - (j == t[r])) * scale * dc;
		}
	}
	bf16 *dl = dnew<bf16>(l.size());
	int32_t *dt;
	CK(cudaMalloc(&dt, R * 4));
	CK(cudaMemcpy(dt, t.data(), R * 4, cudaMemcpyHostToDevice));
	float *dloss = dnew<float>(R);
	up_bf(dl, l);
	cross_entropy_kernel<<<R, 512>>>(V, dl, V, dt, softcap, scale, dloss, 1);
	CK(cudaGetLastError());
	CK(cudaDeviceSynchronize());
	double e = relerr(down_f(dloss, R), loss);
	ok(e < 1e-5, "loss", e, 1e-5, name);
	e = relerr(down_bf(dl, l.size()), grad);
	ok(e < 1e-2, "dlogits", e, 1e-2, name);
	cudaFree(dl);
	cudaFree(dt);
	cudaFree(dloss);
}

/* ---------------- QK-norm + RoPE ---------------- */
static void check_qk(int N, int T, int nh, int hd)
{
	char name[96];
	snprintf(name, sizeof name, "qk-norm+rope N%d heads %d hd %d", N, nh, hd);
	int ld = (nh + 1) * hd, h0 = 1, half = hd / 2;
	float eps = 1e-6f;
	std::vector<float> raw = rnd((size_t)N * ld, 2.0), w(hd), cs((size_t)T * half),
			   sn((size_t)T * half), dout = rnd((size_t)N * ld, 1.0);
	for (auto &x : w)
		x = (float)(nrand() * 0.3);
	for (int p = 0; p < T; p++)
		for (int i = 0; i < half; i++) {
			double a = p * pow(10000.0, -2.0 * i / hd);
			cs[(size_t)p * half + i] = (float)cos(a);
			sn[(size_t)p * half + i] = (float)sin(a);
		}
	std::vector<double> out((size_t)N * nh * hd), dx((size_t)N * nh * hd), dw(hd, 0);
	for (int n = 0; n < N; n++)
		for (int h = 0; h < nh; h++) {
			const float *x = &raw[(size_t)n * ld + (h0 + h) * hd];
			double ss = 0;
			for (int j = 0; j < hd; j++)
				ss += (double)x[j] * x[j];
			double r = 1 / sqrt(ss / hd + eps);
			std::vector<double> y(hd), dy(hd);
			for (int j = 0; j < hd; j++)
				y[j] = x[j] * r * (1 + w[j]);
			int p = n % T;
			const float *g = &dout[(size_t)n * ld + (h0 + h) * hd];
			for (int i = 0; i < half; i++) {
				double c = cs[(size_t)p * half + i], s = sn[(size_t)p * half + i];
				out[((size_t)n * nh + h) * hd + i] = y[i] * c - y[i + half] * s;
				out[((size_t)n * nh + h) * hd + i + half] = y[i + half] * c + y[i] * s;
				dy[i] = g[i] * c + g[i + half] * s;
				dy[i + half] = g[i + half] * c - g[i] * s;
			}
			double dot = 0;
			for (int j = 0; j < hd; j++)
				dot += dy[j] * (1 + w[j]) * x[j];
			for (int j = 0; j < hd; j++) {
				dx[((size_t)n * nh + h) * hd + j] =
					r * (1 + w[j]) * dy[j] - x[j] * dot * r * r * r / hd;
				dw[j] += dy[j] * x[j] * r;
			}
		}
	bf16 *draw = dnew<bf16>(raw.size()), *dOut = dnew<bf16>(raw.size()),
	     *dG = dnew<bf16>(raw.size()), *dX = dnew<bf16>(raw.size());
	float *dw_ = dnew<float>(hd), *dcs = dnew<float>(cs.size()), *dsn = dnew<float>(sn.size()),
	      *drs = dnew<float>((size_t)N * (nh + 1));
	up_bf(draw, raw);
	up_bf(dG, dout);
	CK(cudaMemcpy(dw_, w.data(), hd * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dcs, cs.data(), cs.size() * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dsn, sn.data(), sn.size() * 4, cudaMemcpyHostToDevice));
	CK(qk_norm_rope_fwd(0, N, T, nh, hd, eps, draw, ld, h0, dw_, dcs, dsn, dOut, ld, drs, nh + 1));
	float *part = dnew<float>((size_t)QK_BWD_WARPS * hd), *gw;
	CK(cudaMalloc(&gw, hd * 4));
	CK(cudaMemset(gw, 0, hd * 4));
	CK(qk_norm_rope_bwd(0, N, T, nh, hd, draw, ld, h0, dw_, dcs, dsn, dG, ld, drs, nh + 1, dX, ld,
			    part, gw));
	CK(cudaDeviceSynchronize());
	auto o = down_bf(dOut, raw.size()), gx = down_bf(dX, raw.size());
	std::vector<float> o2, gx2;
	for (int n = 0; n < N; n++)
		for (int h = 0; h < nh; h++)
			for (int j = 0; j < hd; j++) {
				o2.push_back(o[(size_t)n * ld + (h0 + h) * hd + j]);
				gx2.push_back(gx[(size_t)n * ld + (h0 + h) * hd + j]);
			}
	double e = relerr(o2, out);
	ok(e < 1e-2, "out", e, 1e-2, name);
	e = relerr(gx2, dx);
	ok(e < 1e-2, "dx", e, 1e-2, name);
	e = relerr(down_f(gw, hd), dw);
	ok(e < 1e-4, "dw", e, 1e-4, name);
}

/* ---------------- add + RMSNorm forward/backward ---------------- */
/* CPU reference of a norm backward step on row o of y = rmsnorm(x) (1 + w)
 * with rstd r: dx[o..] = base[o..] + J^T dy[o..] (base NULL: 0) and
 * dw += dy x r. DY: float or double. */
template <typename DY>
static void ref_norm_bwd(size_t o, int d, double r, const float *x, const float *w,
			 const DY *dy, const float *base, double *dx, double *dw)
{
	double dot = 0;
	for (int j = 0; j < d; j++)
		dot += (double)dy[o + j] * (1 + w[j]) * x[o + j];
	for (int j = 0; j < d; j++) {
		dx[o + j] = (base ? base[o + j] : 0) + r * (1 + w[j]) * dy[o + j] -
			    x[o + j] * dot * r * r * r / d;
		dw[j] += (double)dy[o + j] * x[o + j] * r;
	}
}

static void check_norm(int N, int d)
{
	char name[96];
	snprintf(name, sizeof name, "add+rmsnorm N%d d%d", N, d);
	float eps = 1e-6f;
	std::vector<float> u = rnd((size_t)N * d, 3.0), res = rnd((size_t)N * d, 1.0), wa(d), wb(d),
			   dy = rnd((size_t)N * d, 1.0);
	for (int j = 0; j < d; j++) {
		wa[j] = (float)(nrand() * 0.3);
		wb[j] = (float)(nrand() * 0.3);
	}
	std::vector<double> ro((size_t)N * d), h((size_t)N * d), dxr((size_t)N * d), dw(d, 0);
	for (int n = 0; n < N; n++) {
		double ss = 0;
		for (int j = 0; j < d; j++)
			ss += (double)u[(size_t)n * d + j] * u[(size_t)n * d + j];
		double r = 1 / sqrt(ss / d + eps);
		double ss2 = 0;
		for (int j = 0; j < d; j++) {
			double x = res[(size_t)n * d + j] + u[(size_t)n * d + j] * r * (1 + wa[j]);
			ro[(size_t)n * d + j] = x;
			ss2 += x * x;
		}
		double r2 = 1 / sqrt(ss2 / d + eps);
		for (int j = 0; j < d; j++)
			h[(size_t)n * d + j] = ro[(size_t)n * d + j] * r2 * (1 + wb[j]);
		/* backward of y = rmsnorm(u)*(1+wa) with dy, u as input */
		ref_norm_bwd((size_t)n * d, d, r, u.data(), wa.data(), dy.data(), NULL, dxr.data(),
			     dw.data());
	}
	bf16 *du = dnew<bf16>(u.size()), *dh = dnew<bf16>(u.size()), *ddx = dnew<bf16>(u.size());
	float *dres = dnew<float>(u.size()), *dro = dnew<float>(u.size()), *dwa = dnew<float>(d),
	      *dwb = dnew<float>(d), *r1 = dnew<float>(N), *r2 = dnew<float>(N),
	      *ddy = dnew<float>(u.size());
	up_bf(du, u);
	CK(cudaMemcpy(dres, res.data(), res.size() * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(ddy, dy.data(), dy.size() * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dwa, wa.data(), d * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dwb, wb.data(), d * 4, cudaMemcpyHostToDevice));
	CK(add_norm_fwd(0, N, d, eps, du, dwa, dres, dro, r1, dwb, dh, r2));
	float *part = dnew<float>((size_t)NORM_BWD_WARPS * d), *gw;
	CK(cudaMalloc(&gw, d * 4));
	CK(cudaMemset(gw, 0, d * 4));
	CK(norm_bwd<bf16, 0>(0, N, d, du, r1, dwa, ddy, ddx, part, gw));
	CK(cudaDeviceSynchronize());
	double e = relerr(down_f(dro, u.size()), ro);
	ok(e < 1e-5, "residual out", e, 1e-5, name);
	e = relerr(down_bf(dh, u.size()), h);
	ok(e < 1e-2, "normed", e, 1e-2, name);
	e = relerr(down_bf(ddx, u.size()), dxr);
	ok(e < 1e-2, "dx", e, 1e-2, name);
	e = relerr(down_f(gw, d), dw);
	ok(e < 1e-4, "dw", e, 1e-4, name);
}

/* each row's rstd, rounded to fp32 as the forward kernel stores it */
static std::vector<float> rstd_of(const std::vector<float> &x, int N, int d, float eps)
{
	std::vector<float> r(N);
	for (int n = 0; n < N; n++) {
		double ss = 0;
		for (int j = 0; j < d; j++)
			ss += (double)x[(size_t)n * d + j] * x[(size_t)n * d + j];
		r[n] = (float)(1 / sqrt(ss / d + eps));
	}
	return r;
}

/* the largest |a - b| and whether every element is the same bits */
static bool same_bits(const void *a, const void *b, size_t n, size_t esz, double *maxdiff)
{
	bool same = !memcmp(a, b, n * esz);
	*maxdiff = 0;
	for (size_t i = 0; i < n && !same; i++) {
		double x, y;
		if (esz == 4)
			x = ((const float *)a)[i], y = ((const float *)b)[i];
		else
			x = __bfloat162float(((const bf16 *)a)[i]), y = __bfloat162float(((const bf16 *)b)[i]);
		double df = fabs(x - y);
		if (!(df <= *maxdiff))
			*maxdiff = df; /* NaN stays */
	}
	return same;
}

/* ---------------- the fixed-order sum of per-warp partials ----------------
 * reduce_partial_kernel against the same sum on the CPU in its order (rows
 * w, w + 32, ... for each w, then the 32 sums in order): every bit equal,
 * since the weight gradients' repeatability rests on that order. */
static void check_reduce_partial(int nchunks, int d)
{
	std::vector<float> h = rnd((size_t)nchunks * d, 1.0), g0 = rnd(d, 1.0), want(d);
	for (int j = 0; j < d; j++) {
		float sw[32], s = 0.f;
		for (int w = 0; w < 32; w++) {
			float acc = 0.f;
			for (int c = w; c < nchunks; c += 32)
				acc += h[(size_t)c * d + j];
			sw[w] = acc;
		}
		for (int w = 0; w < 32; w++)
			s += sw[w];
		want[j] = g0[j] + s;
	}
	float *dp = dnew<float>(h.size()), *dg = dnew<float>(d);
	CK(cudaMemcpy(dp, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dg, g0.data(), d * 4, cudaMemcpyHostToDevice));
	reduce_partial_kernel<<<(d + 31) / 32, 1024>>>(nchunks, d, dp, dg);
	CK(cudaGetLastError());
	std::vector<float> got = down_f(dg, d);
	double md = 0;
	bool same = same_bits(got.data(), want.data(), d, 4, &md);
	tap(same, "reduce_partial %d x %d: the CPU's sum in the same order, bit for bit (max diff %.3e)",
	    nchunks, d, md);
	CK(cudaFree(dp));
	CK(cudaFree(dg));
}

/* The gradient's squared norm (sumsq_partial_kernel on the trainer's grid,
 * then sum_partial_kernel) against the CPU doing each thread's fused
 * multiply-adds, the warps' butterfly, the blocks' and the partials' sums
 * in their order: every bit equal. n: a tail beyond the loads issued
 * ahead, and fewer elements than threads. */
static void check_sumsq(size_t n)
{
	const int blocks = 1024, threads = 256;
	const size_t stride = (size_t)blocks * threads;
	std::vector<float> h = rnd(n, 1.0), part(blocks);
	for (int b = 0; b < blocks; b++) {
		float sw[threads / 32];
		for (int w = 0; w < threads / 32; w++) {
			float v[32];
			for (int l = 0; l < 32; l++) {
				float acc = 0.f;
				for (size_t i = (size_t)b * threads + w * 32 + l; i < n; i += stride)
					acc = fmaf(h[i], h[i], acc);
				v[l] = acc;
			}
			for (int o = 16; o > 0; o >>= 1) {
				float t[32];
				for (int l = 0; l < 32; l++)
					t[l] = v[l] + v[l ^ o];
				memcpy(v, t, sizeof v);
			}
			sw[w] = v[0];
		}
		float s = 0.f;
		for (int w = 0; w < threads / 32; w++)
			s += sw[w];
		part[b] = s;
	}
	double want = 0;
	for (int b = 0; b < blocks; b++)
		want += part[b];
	float *dx = dnew<float>(n), *dp = dnew<float>(blocks);
	double *dsum;
	CK(cudaMalloc(&dsum, sizeof(double)));
	CK(cudaMemcpy(dx, h.data(), n * 4, cudaMemcpyHostToDevice));
	sumsq_partial_kernel<<<blocks, threads>>>(n, dx, dp);
	sum_partial_kernel<<<1, 32>>>(blocks, dp, dsum);
	CK(cudaGetLastError());
	double got;
	CK(cudaMemcpy(&got, dsum, sizeof got, cudaMemcpyDeviceToHost));
	tap(!memcmp(&got, &want, sizeof got),
	    "gradient sumsq n %zu: the CPU's sum in the same order, bit for bit (%.17g, %.17g)", n,
	    got, want);
	CK(cudaFree(dx));
	CK(cudaFree(dp));
	CK(cudaFree(dsum));
}

/* AdamW over runs of tensors in one launch (adamw_build_runs +
 * adamw_runs_kernel, as the trainer calls them) against a double reference:
 * each element of the slice [lo, hi) updated once, with its run's decay
 * (lr wd = 1.5% a step, 10^4 times the tolerance), at its slice offset;
 * the bf16 copy = the new fp32 weights rounded; outside the slice, the bf16
 * copy untouched. Runs of one 64-value tensor, of several, and of 100,032
 * values (many blocks, a last one part full). */
static void check_adamw_runs(size_t lo, size_t hi)
{
	const size_t sizes[] = {64, 4096, 64, 64, 100032, 64, 24576, 64, 128};
	const unsigned char decay[] = {0, 1, 0, 0, 1, 0, 1, 1, 0};
	const size_t nt = sizeof sizes / sizeof *sizes;
	size_t toff[nt + 1];
	toff[0] = 0;
	for (size_t t = 0; t < nt; t++)
		toff[t + 1] = toff[t] + sizes[t];
	size_t P = toff[nt], S = hi - lo;
	if (hi > P || lo >= hi) {
		tap(0, "check_adamw_runs: slice %zu..%zu outside the %zu values", lo, hi, P);
		return;
	}
	const float lr = 0.05f, wd = 0.3f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, clip = 0.7f;
	const float bc1 = 1.f - powf(b1, 3.f), bc2s = sqrtf(1.f - powf(b2, 3.f));
	std::vector<float> p = rnd(S, 1.0), gr = rnd(P, 1.0), m = rnd(S, 0.1), v = rnd(S, 0.01),
			   pb0 = rnd(P, 1.0);
	for (auto &x : v)
		x = fabsf(x);
	AdamwRun runs[nt];
	unsigned blocks;
	int nr = adamw_build_runs(toff, decay, nt, lo, hi, wd, runs, &blocks);
	float *dp = dnew<float>(S), *dm = dnew<float>(S), *dv = dnew<float>(S), *dg = dnew<float>(P);
	bf16 *dpb = dnew<bf16>(P);
	AdamwRun *dr = dnew<AdamwRun>(nt);
	CK(cudaMemcpy(dp, p.data(), S * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dm, m.data(), S * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dv, v.data(), S * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dg, gr.data(), P * 4, cudaMemcpyHostToDevice));
	up_bf(dpb, pb0);
	CK(cudaMemcpy(dr, runs, nr * sizeof(AdamwRun), cudaMemcpyHostToDevice));
	adamw_runs_kernel<<<blocks, ADAMW_THREADS>>>(dr, nr, (float4 *)dp, (uint2 *)dpb,
						     (const float4 *)dg, (float4 *)dm, (float4 *)dv, lr,
						     b1, b2, eps, clip, bc1, bc2s);
	CK(cudaGetLastError());
	std::vector<float> gp = down_f(dp, S), gm = down_f(dm, S), gv = down_f(dv, S),
			   gpb = down_bf(dpb, P);
	std::vector<double> rp(S), rm(S), rv(S);
	for (size_t t = 0; t < nt; t++)
		for (size_t i = std::max(toff[t], lo); i < std::min(toff[t + 1], hi); i++) {
			size_t k = i - lo;
			double g = (double)gr[i] * clip;
			rm[k] = b1 * (double)m[k] + (1 - b1) * g;
			rv[k] = b2 * (double)v[k] + (1 - b2) * g * g;
			rp[k] = p[k] * (1 - (double)lr * (decay[t] ? wd : 0)) -
				(double)lr / bc1 * rm[k] / (sqrt(rv[k]) / bc2s + eps);
		}
	double ep = relerr(gp, rp), em = relerr(gm, rm), ev = relerr(gv, rv);
	size_t badpb = 0;
	for (size_t i = 0; i < P; i++) {
		float want = i >= lo && i < hi ? bfr(gp[i - lo]) : bfr(pb0[i]);
		badpb += memcmp(&want, &gpb[i], 4) != 0;
	}
	char name[64];
	snprintf(name, sizeof name, "adamw runs (%d runs, slice %zu..%zu of %zu)", nr, lo, hi, P);
	ok(ep < 1e-6, "p", ep, 1e-6, name);
	ok(em < 1e-6, "m", em, 1e-6, name);
	ok(ev < 1e-6, "v", ev, 1e-6, name);
	tap(badpb == 0, "%s: bf16 copy = the new weights rounded, untouched outside (%zu wrong)", name,
	    badpb);
	for (void *q : {(void *)dp, (void *)dm, (void *)dv, (void *)dg, (void *)dpb, (void *)dr})
		CK(cudaFree(q));
}

/* The fused pair of norm backward steps (norm_bwd_pair) against the two
 * launchers it replaces, on copies of the same inputs: dx, dbf and both
 * weight gradients must be the same bits; and against a double-precision
 * reference. mode1 1: dx += J1^T dy1 (dx starts non-zero), 2: dx = J1^T dy1. */
static void check_norm2(int N, int d, int mode1)
{
	char name[96];
	size_t nd = (size_t)N * d, W = (size_t)NORM_BWD_WARPS * d;
	float eps = 1e-6f;
	std::vector<float> x1(nd), dy = rnd(nd, 1.0), dx0 = rnd(nd, 0.5), x2 = rnd(nd, 2.0), w1(d),
				   w2(d), gw0(2 * (size_t)d);
	for (auto &v : x1)
		v = (float)(nrand() * 1.5); /* fp32 residual: not bf16 values */
	for (int j = 0; j < d; j++) {
		w1[j] = (float)(nrand() * 0.3);
		w2[j] = (float)(nrand() * 0.3);
	}
	for (auto &v : gw0)
		v = (float)(nrand() * 0.1);
	std::vector<float> r1 = rstd_of(x1, N, d, eps), r2 = rstd_of(x2, N, d, eps);
	/* reference: dxn = [dx0 +] J1^T dy, dbf = J2^T dxn */
	std::vector<double> dxn(nd), dbr(nd), dw1(gw0.begin(), gw0.begin() + d),
		dw2(gw0.begin() + d, gw0.end());
	for (int n = 0; n < N; n++) {
		size_t o = (size_t)n * d;
		ref_norm_bwd(o, d, r1[n], x1.data(), w1.data(), dy.data(),
			     mode1 == 1 ? dx0.data() : NULL, dxn.data(), dw1.data());
		ref_norm_bwd(o, d, r2[n], x2.data(), w2.data(), dxn.data(), NULL, dbr.data(),
			     dw2.data());
	}
	float *dx1 = dnew<float>(nd), *ddy = dnew<float>(nd), *dr1 = dnew<float>(N),
	      *dr2 = dnew<float>(N), *dw1p = dnew<float>(d), *dw2p = dnew<float>(d),
	      *dxa = dnew<float>(nd), *dxb = dnew<float>(nd), *pa1 = dnew<float>(W),
	      *pa2 = dnew<float>(W), *pb = dnew<float>(W), *ga = dnew<float>(2 * (size_t)d),
	      *gb = dnew<float>(2 * (size_t)d);
	bf16 *dx2 = dnew<bf16>(nd), *dba = dnew<bf16>(nd), *dbb = dnew<bf16>(nd);
	CK(cudaMemcpy(dx1, x1.data(), nd * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(ddy, dy.data(), nd * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dr1, r1.data(), N * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dr2, r2.data(), N * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dw1p, w1.data(), d * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dw2p, w2.data(), d * 4, cudaMemcpyHostToDevice));
	up_bf(dx2, x2);
	/* every start: dx as the step expects it (dx0, or poison for mode 2),
	 * dbf and partials poisoned, grad_w = gw0 */
	auto reset = [&](float *dx, bf16 *db, float *g, std::initializer_list<float *> parts) {
		if (mode1 == 1)
			CK(cudaMemcpy(dx, dx0.data(), nd * 4, cudaMemcpyHostToDevice));
		else
			CK(cudaMemset(dx, 0xFF, nd * 4));
		CK(cudaMemset(db, 0xFF, nd * 2));
		for (float *p : parts)
			CK(cudaMemset(p, 0xFF, W * 4));
		CK(cudaMemcpy(g, gw0.data(), gw0.size() * 4, cudaMemcpyHostToDevice));
	};
	/* the two kernels it replaces */
	reset(dxb, dbb, gb, {pb});
	if (mode1 == 1)
		CK(norm_bwd<float, 1>(0, N, d, dx1, dr1, dw1p, ddy, dxb, pb, gb));
	else
		CK(norm_bwd<float, 2>(0, N, d, dx1, dr1, dw1p, ddy, dxb, pb, gb));
	CK(norm_bwd<bf16, 0>(0, N, d, dx2, dr2, dw2p, dxb, dbb, pb, gb + d));
	CK(cudaDeviceSynchronize());
	std::vector<float> rxb = down_f(dxb, nd), rgb = down_f(gb, 2 * (size_t)d);
	std::vector<bf16> rbb(nd), rba(nd);
	CK(cudaMemcpy(rbb.data(), dbb, nd * 2, cudaMemcpyDeviceToHost));
	std::vector<double> dwr(dw1);
	dwr.insert(dwr.end(), dw2.begin(), dw2.end());
	/* -1: the launcher's pick; 0: dw in registers (up to NCH 5); 1: in shared memory */
	for (int dws = -1; dws <= 1; dws++) {
		if (dws == 0 && d > 256 * NORM_BWD_PAIR_REG_NCH)
			continue;
		snprintf(name, sizeof name, "norm bwd pair N%d d%d mode1 %d dws %d", N, d, mode1, dws);
		reset(dxa, dba, ga, {pa1, pa2});
		CK(norm_bwd_pair(0, N, d, dx1, dr1, dw1p, ddy, dxa, dx2, dr2, dw2p, dba, pa1, ga, pa2,
			     ga + d, mode1, dws));
		CK(cudaDeviceSynchronize());
		std::vector<float> rxa = down_f(dxa, nd), rga = down_f(ga, 2 * (size_t)d);
		CK(cudaMemcpy(rba.data(), dba, nd * 2, cudaMemcpyDeviceToHost));
		struct {
			const char *what;
			const void *a, *b;
			size_t n, esz;
		} cmp[] = {{"dx", rxa.data(), rxb.data(), nd, 4},
			   {"dbf", rba.data(), rbb.data(), nd, 2},
			   {"grad_w1", rga.data(), rgb.data(), (size_t)d, 4},
			   {"grad_w2", rga.data() + d, rgb.data() + d, (size_t)d, 4}};
		for (auto &c : cmp) {
			double md;
			bool same = same_bits(c.a, c.b, c.n, c.esz, &md);
			tap(same, "%s: %s bitwise that of the two kernels (max abs diff %.3e)", name,
			    c.what, md);
		}
		double e = relerr(rxa, dxn);
		ok(e < 1e-5, "dx", e, 1e-5, name);
		std::vector<float> fba(nd);
		for (size_t i = 0; i < nd; i++)
			fba[i] = __bfloat162float(rba[i]);
		e = relerr(fba, dbr);
		ok(e < 1e-2, "dbf", e, 1e-2, name);
		e = relerr(rga, dwr);
		ok(e < 1e-4, "grad_w1|grad_w2", e, 1e-4, name);
	}
	for (void *p : {(void *)dx1, (void *)ddy, (void *)dr1, (void *)dr2, (void *)dw1p,
			(void *)dw2p, (void *)dxa, (void *)dxb, (void *)pa1, (void *)pa2, (void *)pb,
			(void *)ga, (void *)gb, (void *)dx2, (void *)dba, (void *)dbb})
		CK(cudaFree(p));
}

/* ---------------- GeGLU ---------------- */
/* GELU (tanh form) of x and its derivative, in double: the references of
 * the GeGLU kernels and of the fused MLP products */
static void gelu_ref(double x, double *ge, double *dge)
{
	double k0 = sqrt(2 / M_PI), t = tanh(k0 * (x + 0.044715 * x * x * x));
	*ge = 0.5 * x * (1 + t);
	*dge = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k0 * (1 + 3 * 0.044715 * x * x);
}

static void check_geglu(int N, int ff)
{
	char name[64];
	snprintf(name, sizeof name, "geglu N%d ff%d", N, ff);
	std::vector<float> gu = rnd((size_t)N * 2 * ff, 2.0), dg = rnd((size_t)N * ff, 1.0);
	std::vector<double> g((size_t)N * ff), dgu((size_t)N * 2 * ff);
	for (int n = 0; n < N; n++)
		for (int j = 0; j < ff; j++) {
			double a = gu[(size_t)n * 2 * ff + j], b = gu[(size_t)n * 2 * ff + ff + j], ge, dge;
			gelu_ref(a, &ge, &dge);
			g[(size_t)n * ff + j] = ge * b;
			double d = dg[(size_t)n * ff + j];
			dgu[(size_t)n * 2 * ff + j] = d * b * dge;
			dgu[(size_t)n * 2 * ff + ff + j] = d * ge;
		}
	bf16 *a = dnew<bf16>(gu.size()), *o = dnew<bf16>(g.size()), *dd = dnew<bf16>(dg.size()),
	     *r = dnew<bf16>(gu.size());
	up_bf(a, gu);
	up_bf(dd, dg);
	CK(geglu_fwd(0, N, ff, a, o));
	CK(geglu_bwd(0, N, ff, a, dd, r));
	CK(cudaDeviceSynchronize());
	double e = relerr(down_bf(o, g.size()), g);
	ok(e < 1e-2, "out", e, 1e-2, name);
	e = relerr(down_bf(r, gu.size()), dgu);
	ok(e < 1e-2, "dgate|dup", e, 1e-2, name);
}

/* ---------------- the MLP's wgmma products (product_geglu.cuh) ----------------
 * On M rows of h2 (d) and dy (d), for a tile shape (BN columns, STAGES):
 * the plain product gu = h2 W_gu^T against a double reference; the fused
 * forward's gu the plain product's bits and its g geglu_fwd's of that gu;
 * the fused backward's dgu against the double reference of
 * GeGLU'(gu) (dy W_down), and geglu_bwd's bits on the plain product of dy
 * and W_down^T's rows. */
template <int STAGES>
static void check_product_geglu(int M, int d, int ff)
{
	char name[96];
	snprintf(name, sizeof name, "product stages %d, M%d d%d ff%d", STAGES, M, d, ff);
	if (!wgmma_device()) {
		tap(1, "%s # SKIP no sm_90a code for this card", name);
		return;
	}
	size_t nh = (size_t)M * d, nw = (size_t)2 * ff * d, ngu = (size_t)M * 2 * ff, ng = (size_t)M * ff;
	std::vector<float> h2 = rnd(nh, 1.0), wgu = rnd(nw, 0.05), wdn = rnd((size_t)d * ff, 0.05),
			   dy = rnd(nh, 1.0);
	std::vector<float> wdt((size_t)ff * d); /* W_down^T, ff x d */
	for (int k = 0; k < d; k++)
		for (int n = 0; n < ff; n++)
			wdt[(size_t)n * d + k] = wdn[(size_t)k * ff + n];
	bf16 *a = dnew<bf16>(nh), *b = dnew<bf16>(nw), *bd = dnew<bf16>((size_t)d * ff),
	     *bdt = dnew<bf16>((size_t)ff * d), *dya = dnew<bf16>(nh), *c = dnew<bf16>(ngu),
	     *gu = dnew<bf16>(ngu), *g = dnew<bf16>(ng), *g2 = dnew<bf16>(ng), *dg = dnew<bf16>(ng),
	     *dgu = dnew<bf16>(ngu), *dgu2 = dnew<bf16>(ngu);
	up_bf(a, h2);
	up_bf(b, wgu);
	up_bf(bd, wdn);
	up_bf(bdt, wdt);
	up_bf(dya, dy);
	ProductGegluArgs pp = {a, d, b, d, c, 2 * ff, nullptr, 0, nullptr, 0, M, 2 * ff, d};
	CK((product_geglu<PG_PLAIN, STAGES>(0, pp)));
	ProductGegluArgs pf = {a, d, b, d, gu, 2 * ff, g, ff, nullptr, 0, M, ff, d};
	CK((product_geglu<PG_GEGLU_FWD, STAGES>(0, pf)));
	CK(geglu_fwd(0, M, ff, gu, g2));
	/* dg = dy W_down as a plain product with W_down^T's rows */
	ProductGegluArgs pd = {dya, d, bdt, d, dg, ff, nullptr, 0, nullptr, 0, M, ff, d};
	CK((product_geglu<PG_PLAIN, STAGES>(0, pd)));
	CK(geglu_bwd(0, M, ff, gu, dg, dgu2));
	ProductGegluArgs pb = {dya, d, bd, ff, dgu, 2 * ff, nullptr, 0, gu, 2 * ff, M, ff, d};
	CK((product_geglu<PG_GEGLU_BWD, STAGES>(0, pb)));
	CK(cudaDeviceSynchronize());

	std::vector<double> ref(ngu);
	for (int m = 0; m < M; m++)
		for (int n = 0; n < 2 * ff; n++) {
			double acc = 0;
			for (int k = 0; k < d; k++)
				acc += (double)h2[(size_t)m * d + k] * wgu[(size_t)n * d + k];
			ref[(size_t)m * 2 * ff + n] = acc;
		}
	std::vector<float> hc = down_bf(c, ngu), hgu = down_bf(gu, ngu);
	double e = relerr(hc, ref), md;
	ok(e < 5e-3, "plain h2 W_gu^T", e, 5e-3, name);
	tap(same_bits(hc.data(), hgu.data(), ngu, 4, &md),
	    "%s: fused forward's gu = the plain product's bits (max diff %.3g)", name, md);
	std::vector<float> hg = down_bf(g, ng), hg2 = down_bf(g2, ng);
	tap(same_bits(hg.data(), hg2.data(), ng, 4, &md),
	    "%s: fused forward's g = geglu_fwd's bits on its gu (max diff %.3g)", name, md);

	/* the backward against GeGLU' of the bf16 gu the kernel reads, in double */
	std::vector<double> rd(ngu);
	for (int m = 0; m < M; m++)
		for (int n = 0; n < ff; n++) {
			double acc = 0;
			for (int k = 0; k < d; k++)
				acc += (double)dy[(size_t)m * d + k] * wdn[(size_t)k * ff + n];
			double x = hgu[(size_t)m * 2 * ff + n], u = hgu[(size_t)m * 2 * ff + ff + n], ge, dge;
			gelu_ref(x, &ge, &dge);
			rd[(size_t)m * 2 * ff + n] = acc * u * dge;
			rd[(size_t)m * 2 * ff + ff + n] = acc * ge;
		}
	std::vector<float> hd1 = down_bf(dgu, ngu), hd2 = down_bf(dgu2, ngu);
	e = relerr(hd1, rd);
	ok(e < 1e-2, "fused backward dgate|dup", e, 1e-2, name);
	tap(same_bits(hd1.data(), hd2.data(), ngu, 4, &md),
	    "%s: fused backward = geglu_bwd's bits on the plain product (max diff %.3g)", name, md);
	for (void *q : {(void *)a, (void *)b, (void *)bd, (void *)bdt, (void *)dya, (void *)c,
			(void *)gu, (void *)g, (void *)g2, (void *)dg, (void *)dgu, (void *)dgu2})
		CK(cudaFree(q));
}

/* On a compute capability 9.0 card, a build with code for 9.0 (the
 * Makefile's is sm_90a) runs the wgmma kernels: the launchers do not fall
 * back. The attention checks above would pass either way (the fallback's
 * bits are tile64's), so this is what notices a wgmma_device() that
 * wrongly says no. */
static void check_hopper_loaded()
{
	static const int archs[] = {__CUDA_ARCH_LIST__};
	bool for90 = false;
	for (int a : archs)
		for90 = for90 || a == 900;
	int dev = 0, major = 0, minor = 0;
	CK(cudaGetDevice(&dev));
	CK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
	CK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
	if (major != 9 || minor != 0 || !for90)
		tap(1, "wgmma kernels in use # SKIP compute capability %d.%d, build for %s", major,
		    minor, for90 ? "9.0" : "other cards");
	else
		tap(wgmma_device(), "wgmma kernels in use on compute capability 9.0");
}

/* ---------------- attention timing (check_kernels bench) ----------------
 * Times forward and backward (dQ + dK/dV, not D) of every implementation
 * (the backward "-" for a forward pass alone)
 * on the benchmark's shapes, random inputs, CUDA events over 10 calls
 * after 2 warm-up calls; per-step totals weigh the local (window) and
 * global layers as the model does. */
static double time_ms(const std::function<void()> &f)
{
	cudaEvent_t a, b;
	CK(cudaEventCreate(&a));
	CK(cudaEventCreate(&b));
	for (int i = 0; i < 2; i++)
		f();
	CK(cudaEventRecord(a));
	for (int i = 0; i < 10; i++)
		f();
	CK(cudaEventRecord(b));
	CK(cudaEventSynchronize(b));
	float ms = 0;
	CK(cudaEventElapsedTime(&ms, a, b));
	CK(cudaEventDestroy(a));
	CK(cudaEventDestroy(b));
	return ms / 10;
}

static void bench_attention(const char *cfg, int B, int T, int Hq, int Hkv, int hd, int window,
			    int nlocal, int nglobal)
{
	int N = B * T, qld = Hq * hd, kld = Hkv * hd;
	size_t nq = (size_t)N * qld, nk = (size_t)N * kld;
	bf16 *q = dnew<bf16>(nq), *k = dnew<bf16>(nk), *v = dnew<bf16>(nk), *o = dnew<bf16>(nq),
	     *dO = dnew<bf16>(nq), *gq = dnew<bf16>(nq), *gk = dnew<bf16>(nk), *gv = dnew<bf16>(nk);
	float *lse = dnew<float>((size_t)N * Hq), *D = dnew<float>((size_t)N * Hq);
	bf16 *dsT = dnew<bf16>(flash_ds_bytes(B, Hq, T) / 2);
	up_bf(q, rnd(nq, 1.0));
	up_bf(k, rnd(nk, 1.0));
	up_bf(v, rnd(nk, 1.0));
	up_bf(dO, rnd(nq, 1.0));
	float scale = 1.f / sqrtf((float)hd);
	/* g 0: a local (sliding-window) layer, 1: a global one */
	auto args = [&](int g) {
		return FlashArgs{q,  k,  v,  qld, kld, kld, o, qld, lse, dO, qld, D,
				 gq, gk, gv, qld, kld, kld, B, T,   Hq,  Hkv, g ? 0 : window,
				 scale, dsT};
	};
	for (const AttnImpl &im : attn_impls(hd)) {
		if (!im.fwd)
			continue;
		if (im.sm90 && !wgmma_device()) {
			printf("# bench %-9s %-11s SKIP not sm_90\n", cfg, im.name);
			continue;
		}
		double f[2], b[2] = {NAN, NAN};
		for (int g = 0; g < 2; g++) {
			const FlashArgs a = args(g);
			f[g] = time_ms([&] { CK(im.fwd(0, a)); });
			if (!im.bwd)
				continue;
			CK(attn_bwd_dot(0, N, T, Hq, hd, o, dO, qld, D));
			b[g] = time_ms([&] { CK(im.bwd(0, a)); });
		}
		/* "-": no backward of its own */
		char bl[16] = "     -", bg[16] = "     -", bs[16] = "     -";
		if (im.bwd) {
			snprintf(bl, sizeof bl, "%6.3f", b[0]);
			snprintf(bg, sizeof bg, "%6.3f", b[1]);
			snprintf(bs, sizeof bs, "%6.2f", nlocal * b[0] + nglobal * b[1]);
		}
		printf("# bench %-9s %-11s local fwd %6.3f bwd %s | global fwd %6.3f bwd %s ms"
		       " | step fwd %6.2f bwd %s ms\n",
		       cfg, im.name, f[0], bl, f[1], bg, nlocal * f[0] + nglobal * f[1], bs);
		fflush(stdout);
	}
	/* v1's backward apart: the dQ kernel (S, P, dP again) and the dK/dV
	 * kernel, what a backward without its own dQ pass could save */
	if (flash_tile64_bwd_dq_for(hd)) {
		double t[2][2];
		for (int g = 0; g < 2; g++) {
			const FlashArgs a = args(g);
			CK(flash_tile64_fwd_for(hd)(0, a));
			CK(attn_bwd_dot(0, N, T, Hq, hd, o, dO, qld, D));
			t[g][0] = time_ms([&] { CK(flash_tile64_bwd_dq_for(hd)(0, a)); });
			t[g][1] = time_ms([&] { CK(flash_tile64_bwd_dkdv_for(hd)(0, a)); });
		}
		printf("# bench %-9s v1 backward: dQ kernel local %6.3f global %6.3f | dK/dV kernel "
		       "local %6.3f global %6.3f ms | step dQ %6.2f dK/dV %6.2f ms\n",
		       cfg, t[0][0], t[1][0], t[0][1], t[1][1], nlocal * t[0][0] + nglobal * t[1][0],
		       nlocal * t[0][1] + nglobal * t[1][1]);
		fflush(stdout);
	}
	for (void *pp : {(void *)q, (void *)k, (void *)v, (void *)o, (void *)dO, (void *)gq,
			 (void *)gk, (void *)gv, (void *)lse, (void *)D, (void *)dsT})
		cudaFree(pp);
}

/* the fused pair of norm backward steps (norm_bwd_pair, dw in registers and in
 * shared memory) against the two launchers it replaces, weight-gradient
 * reductions included; random inputs, mode 1 (dx +=) */
static void bench_norm2(int N, int d)
{
	size_t nd = (size_t)N * d, W = (size_t)NORM_BWD_WARPS * d;
	float *x1 = dnew<float>(nd), *dy = dnew<float>(nd), *dx = dnew<float>(nd),
	      *r1 = dnew<float>(N), *r2 = dnew<float>(N), *w1 = dnew<float>(d),
	      *w2 = dnew<float>(d), *p1 = dnew<float>(W), *p2 = dnew<float>(W),
	      *g1 = dnew<float>(d), *g2 = dnew<float>(d);
	bf16 *x2 = dnew<bf16>(nd), *db = dnew<bf16>(nd);
	std::vector<float> h = rnd(nd, 1.0), hr(N, 0.5f), hw = rnd(d, 0.3);
	CK(cudaMemcpy(x1, h.data(), nd * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dy, h.data(), nd * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dx, h.data(), nd * 4, cudaMemcpyHostToDevice));
	up_bf(x2, h);
	CK(cudaMemcpy(r1, hr.data(), N * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(r2, hr.data(), N * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(w1, hw.data(), d * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(w2, hw.data(), d * 4, cudaMemcpyHostToDevice));
	CK(cudaMemset(g1, 0, d * 4));
	CK(cudaMemset(g2, 0, d * 4));
	double t2 = time_ms([&] {
		CK(norm_bwd<float, 1>(0, N, d, x1, r1, w1, dy, dx, p1, g1));
		CK(norm_bwd<bf16, 0>(0, N, d, x2, r2, w2, dx, db, p1, g2));
	});
	double t[2] = {NAN, NAN};
	for (int dws = 0; dws < 2; dws++)
		if (dws || d <= 256 * NORM_BWD_PAIR_REG_NCH)
			t[dws] = time_ms([&] {
				CK(norm_bwd_pair(0, N, d, x1, r1, w1, dy, dx, x2, r2, w2, db, p1, g1, p2, g2,
					     1, dws));
			});
	/* what the rows need: x1, dy, dx read and written, x2, dbf; the two
	 * kernels read dx once more */
	double gb = nd * 20.0 / 1e9;
	printf("# bench norm-bwd pair N %d d %d: two kernels %.3f ms | fused, dw in registers "
	       "%.3f ms (%.0f GB/s) | fused, dw in shared memory %.3f ms (%.0f GB/s)\n",
	       N, d, t2, t[0], gb / t[0] * 1e3, t[1], gb / t[1] * 1e3);
	fflush(stdout);
	for (void *p : {(void *)x1, (void *)dy, (void *)dx, (void *)r1, (void *)r2, (void *)w1,
			(void *)w2, (void *)p1, (void *)p2, (void *)g1, (void *)g2, (void *)x2,
			(void *)db})
		CK(cudaFree(p));
}

/* The gradient norm's pass at seed's parameter count (424 M floats, the
 * trainer's grid), 1, 8 and 16 loads ahead; GB/s counts the one read. */
static void bench_sumsq(size_t n)
{
	float *x = dnew<float>(n), *p = dnew<float>(1024);
	CK(cudaMemset(x, 0, n * 4));
	double t1 = time_ms([&] { sumsq_partial_kernel<1><<<1024, 256>>>(n, x, p); });
	double t8 = time_ms([&] { sumsq_partial_kernel<8><<<1024, 256>>>(n, x, p); });
	double t16 = time_ms([&] { sumsq_partial_kernel<16><<<1024, 256>>>(n, x, p); });
	CK(cudaGetLastError());
	double gb = n * 4 / 1e9;
	printf("# bench gradient sumsq n %zu: ahead 1 %.3f ms (%.0f GB/s) | 8 %.3f ms (%.0f GB/s) | "
	       "16 %.3f ms (%.0f GB/s)\n",
	       n, t1, gb / t1 * 1e3, t8, gb / t8 * 1e3, t16, gb / t16 * 1e3);
	CK(cudaFree(x));
	CK(cudaFree(p));
}

/* The MLP's products and GeGLU of one layer (M tokens): cuBLASLt's product
 * (the trainer's plan: 32 MB workspace) then the GeGLU kernel, against the
 * fused wgmma kernels; and the plain products alone. */
static void bench_product_geglu(const char *cfg, int M, int d, int ff)
{
	if (!wgmma_device()) {
		printf("# bench product %s SKIP not sm_90\n", cfg);
		return;
	}
	cublasLtHandle_t lt;
	if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS) {
		printf("# bench product %s SKIP no cuBLASLt handle\n", cfg);
		return;
	}
	size_t nh = (size_t)M * d, ngu = (size_t)M * 2 * ff, ng = (size_t)M * ff, ws = 32u << 20;
	bf16 *a = dnew<bf16>(nh), *b = dnew<bf16>((size_t)2 * ff * d), *bd = dnew<bf16>((size_t)d * ff),
	     *gu = dnew<bf16>(ngu), *g = dnew<bf16>(ng), *dg = dnew<bf16>(ng), *dgu = dnew<bf16>(ngu);
	void *w = dnew<char>(ws);
	up_bf(a, rnd(nh, 1.0));
	up_bf(b, rnd((size_t)2 * ff * d, 0.05));
	up_bf(bd, rnd((size_t)d * ff, 0.05));
	ProductPlans plans;
	ProductShape sf = {0, 1, M, 2 * ff, d, d, d, 2 * ff, 0, 1, 0, 0, 0, 256, ws};
	ProductShape sb = {0, 0, M, ff, d, d, ff, ff, 0, 1, 0, 0, 0, 256, ws};
	auto cub = [&](const ProductShape &s, const bf16 *A, const bf16 *B, bf16 *C) {
		if (product(lt, plans, s, 1.f, A, B, 0.f, C, w, (cudaStream_t)0) != CUBLAS_STATUS_SUCCESS) {
			fprintf(stderr, "cuBLASLt failed\n");
			exit(1);
		}
	};
	double ffl = 2.0 * M * d * 2.0 * ff, bfl = 2.0 * M * d * ff;
	double f_cub = time_ms([&] { cub(sf, a, b, gu); });
	double f_glu = time_ms([&] { CK(geglu_fwd(0, M, ff, gu, g)); });
	double b_cub = time_ms([&] { cub(sb, a, bd, dg); });
	double b_glu = time_ms([&] { CK(geglu_bwd(0, M, ff, gu, dg, dgu)); });
	printf("# bench product %-9s cuBLASLt: fwd %.3f (%.0f TFLOP/s) + geglu %.3f = %.3f | "
	       "bwd %.3f (%.0f TFLOP/s) + geglu %.3f = %.3f ms\n",
	       cfg, f_cub, ffl / f_cub / 1e9, f_glu, f_cub + f_glu, b_cub, bfl / b_cub / 1e9, b_glu, b_cub + b_glu);
	ProductGegluArgs pp = {a, d, b, d, gu, 2 * ff, nullptr, 0, nullptr, 0, M, 2 * ff, d};
	ProductGegluArgs pf = {a, d, b, d, gu, 2 * ff, g, ff, nullptr, 0, M, ff, d};
	ProductGegluArgs pb = {a, d, bd, ff, dgu, 2 * ff, nullptr, 0, gu, 2 * ff, M, ff, d};
	double t0 = time_ms([&] { CK(product_geglu<PG_PLAIN>(0, pp)); });
	double t1 = time_ms([&] { CK(product_geglu<PG_GEGLU_FWD>(0, pf)); });
	double t2 = time_ms([&] { CK(product_geglu<PG_GEGLU_BWD>(0, pb)); });
	printf("# bench product %-9s ours: plain %.3f (%.0f TFLOP/s) | fused fwd %.3f | fused bwd %.3f ms\n",
	       cfg, t0, ffl / t0 / 1e9, t1, t2);
	fflush(stdout);
	product_plans_free(plans);
	cublasLtDestroy(lt);
	for (void *q : {(void *)a, (void *)b, (void *)bd, (void *)gu, (void *)g, (void *)dg, (void *)dgu, w})
		CK(cudaFree(q));
}

/* The families the checks can be narrowed to (`check_kernels ce norm`):
 * a call that changed one family need not pay for all of them. */
static const char *const FAMILIES[] = {"product", "attention", "reduce", "sumsq", "adamw",
					"ce", "qk", "norm", "geglu"};
static char **only_fam;
static int n_only;

static bool family(const char *name)
{
	if (!n_only)
		return true;
	for (int i = 0; i < n_only; i++)
		if (!strcmp(only_fam[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int n;
	/* a line at a time, so that a run stopped by a timeout shows how far it got */
	setvbuf(stdout, NULL, _IOLBF, 0);
	bool bench = argc > 1 && !strcmp(argv[1], "bench");
	for (int i = 1; i < argc && !bench; i++) {
		bool known = false;
		for (const char *f : FAMILIES)
			known = known || !strcmp(argv[i], f);
		if (!known) {
			fprintf(stderr, "check_kernels: no family '%s'\nusage: check_kernels [FAMILY...] | "
					"bench [attention|product|norm|sumsq]\nFAMILY (default: all):", argv[i]);
			for (const char *f : FAMILIES)
				fprintf(stderr, " %s", f);
			fputc('\n', stderr);
			return 2;
		}
	}
	if (!bench) {
		only_fam = argv + 1;
		n_only = argc - 1;
	}
	if (cudaGetDeviceCount(&n) != cudaSuccess || n < 1) {
		printf("1..0 # SKIP no CUDA GPU\n");
		return 0;
	}
	if (bench) {
		/* `bench [attention|product|norm|sumsq]`: one family, else all */
		const char *only = argc > 2 ? argv[2] : "";
		if (!*only || !strcmp(only, "attention")) {
			bench_attention("small", 32, 1024, 12, 4, 64, 512, 10, 2);
			bench_attention("small-T4096", 8, 4096, 12, 4, 64, 512, 10, 2);
			bench_attention("gemma3-1b", 8, 1024, 4, 1, 256, 512, 22, 4);
		}
		if (!*only || !strcmp(only, "product")) {
			bench_product_geglu("small", 32768, 768, 3072);
			bench_product_geglu("seed", 8192, 768, 3072);
			bench_product_geglu("gemma3-1b", 8192, 1152, 6912);
		}
		if (!*only || !strcmp(only, "norm")) {
			bench_norm2(32768, 768);
			bench_norm2(8192, 1152);
			bench_norm2(8192, 2560);
		}
		if (!*only || !strcmp(only, "sumsq"))
			bench_sumsq(423774208);
		return 0;
	}
	check_hopper_loaded();
	if (family("product")) {
		/* ff not a multiple of the tile (192, 6912), one reduction step (64),
		 * M not of 128 */
		check_product_geglu<4>(300, 128, 192);
		check_product_geglu<4>(130, 64, 64);
		check_product_geglu<4>(1000, 768, 3072);
		check_product_geglu<4>(77, 1152, 6912);
		check_product_geglu<4>(700, 640, 2048);
		/* more tiles than blocks: each block and warpgroup takes several */
		check_product_geglu<4>(40000, 128, 1024);
		check_product_geglu<2>(300, 768, 192);
		check_product_geglu<4>(5000, 128, 1024);
	}
	if (family("attention")) {
		check_attention(2, 200, 4, 2, 64, 0);
		check_attention(1, 300, 4, 2, 64, 70);
		check_attention(2, 32, 4, 2, 16, 8);
		check_attention(1, 130, 4, 1, 256, 50);
		check_attention(1, 150, 2, 2, 128, 0);
		check_attention(1, 97, 6, 3, 32, 64);
		check_attention(1, 1024, 4, 1, 256, 512);
		/* the benchmark's shapes (GQA 3 at head_dim 64, GQA 4 at 256) with T not
		 * a multiple of any tile, windows that are and are not tile-aligned */
		check_attention(1, 1000, 6, 2, 64, 0);
		check_attention(1, 1000, 6, 2, 64, 512);
		check_attention(2, 1000, 3, 1, 64, 37);
		check_attention(2, 77, 6, 2, 64, 0);
		check_attention(3, 77, 3, 1, 64, 37);
		/* the small config's T 4096 layer shape: many tiles, the window's skip */
		check_attention(1, 4096, 3, 1, 64, 512);
		check_attention(1, 1000, 4, 1, 256, 0);
		check_attention(1, 1000, 4, 1, 256, 512);
		check_attention(1, 1000, 4, 1, 256, 37);
		check_attention(2, 77, 4, 1, 256, 37);
		check_attention(1, 77, 8, 2, 256, 0);
		check_attention(1, 300, 8, 2, 128, 37);
	}
	if (family("reduce")) {
		/* the trainer's partials (qk_norm_rope_bwd at head_dim 64 and 256, the
		 * norm pairs at d 768 and 1152), d not a multiple of 32, fewer rows
		 * than warps */
		check_reduce_partial(QK_BWD_WARPS, 64);
		check_reduce_partial(QK_BWD_WARPS, 256);
		check_reduce_partial(NORM_BWD_WARPS, 768);
		check_reduce_partial(NORM_BWD_WARPS, 1152);
		check_reduce_partial(1000, 40);
		check_reduce_partial(20, 7);
	}
	if (family("sumsq")) {
		check_sumsq((size_t)1024 * 256 * 17 + 12345);
		check_sumsq(100000);
	}
	if (family("adamw")) {
		check_adamw_runs(0, 129152);
		check_adamw_runs(4160, 129024);
		check_adamw_runs(4224, 4288);
	}
	if (family("ce")) {
		check_ce(37, 1000, 0.f);
		check_ce(5, 262144, 0.f);
		check_ce(9, 512, 30.f);
	}
	if (family("qk")) {
		check_qk(300, 100, 3, 64);
		check_qk(70, 32, 2, 16);
		check_qk(40, 40, 1, 256);
		check_qk(5000, 1000, 4, 128);
		check_qk(9, 9, 1, 32);
	}
	if (family("norm")) {
		check_norm(300, 768);
		check_norm(65, 64);
		check_norm(77, 1152);
		/* d: not a multiple of 256 (640, 200, 64), the NCH of the models (768,
		 * 1152, 2560) and the largest (3072); N over the norm's 2112 warps (more
		 * rows per warp) and not a multiple of 8 */
		check_norm2(300, 768, 1);
		check_norm2(4501, 768, 1);
		check_norm2(300, 768, 2);
		check_norm2(77, 1152, 1);
		check_norm2(2203, 1152, 2);
		check_norm2(133, 640, 1);
		check_norm2(70, 200, 2);
		check_norm2(65, 64, 1);
		check_norm2(99, 2560, 1);
		check_norm2(2117, 3072, 1);
	}
	if (family("geglu")) {
		check_geglu(100, 384);
		check_geglu(33, 6912);
	}
	printf("1..%d\n", ntest);
	return nfail ? 1 : 0;
}
