/* attention_tile64.cuh - flash attention in blocks of 4 warps and 64 query
 * (or key) rows: forward, dQ, dK/dV and their launchers. The trainer's
 * choice at head_dims below 256 where attention_hopper.cuh has no kernel
 * (BONSAI_ATTN=v1 forces it), and the fallback of attention_tile128.cuh
 * where a device lacks its shared memory. */
#ifndef BONSAI_CUDA_ATTENTION_TILE64_CUH
#define BONSAI_CUDA_ATTENTION_TILE64_CUH

#include "attention_common.cuh"

/* Forward. grid (ceil(T/64), Hq, B), 128 threads; warp w owns query rows
 * q0 + 16w .. +15. q/k/v/o: row (b*T+t) at base + (b*T+t)*ld + head*HD. */
template <int HD, int BK>
__global__ void __launch_bounds__(128) flash_tile64_fwd_kernel(const bf16 *q, int q_ld, const bf16 *k,
							int k_ld, const bf16 *v, int v_ld,
							bf16 *o, int o_ld, float *lse2, int T,
							int Hq, int Hkv, int window,
							float sl2)
{
	constexpr int BQ = 64, LD = HD + 8, NT = BK / 8, NO = HD / 8;
	extern __shared__ __align__(16) unsigned char smem_raw[];
	bf16 *sQ = (bf16 *)smem_raw, *sK2 = sQ + BQ * LD, *sV2 = sK2 + 2 * BK * LD;
	int qb = blockIdx.x, h = blockIdx.y, b = blockIdx.z, hk = h / (Hq / Hkv);
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int q0 = qb * BQ;
	const bf16 *qb_ = q + (size_t)b * T * q_ld + (size_t)h * HD;
	const bf16 *kb_ = k + (size_t)b * T * k_ld + (size_t)hk * HD;
	const bf16 *vb_ = v + (size_t)b * T * v_ld + (size_t)hk * HD;
	load_tile_async<HD>(sQ, qb_, q_ld, q0, BQ, T);

	float acc[NO][4];
#pragma unroll
	for (int i = 0; i < NO; i++)
		acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
	float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};
	int r_lo = q0 + warp * 16 + gq; /* this thread's rows: r_lo, r_lo + 8 */

	int kv_hi = min(T, q0 + BQ);
	int kv_lo = window > 0 ? max(0, q0 - window + 1) : 0;
	int kstart = (kv_lo / BK) * BK, ntile = (kv_hi - kstart + BK - 1) / BK;
	load_tile_async<HD>(sK2, kb_, k_ld, kstart, BK, T);
	load_tile_async<HD>(sV2, vb_, v_ld, kstart, BK, T);
	cp_commit();
	for (int it = 0; it < ntile; it++) {
		int k0 = kstart + it * BK;
		bf16 *sK = sK2 + (it & 1) * BK * LD, *sV = sV2 + (it & 1) * BK * LD;
		if (it + 1 < ntile) {
			load_tile_async<HD>(sK2 + ((it + 1) & 1) * BK * LD, kb_, k_ld, k0 + BK, BK, T);
			load_tile_async<HD>(sV2 + ((it + 1) & 1) * BK * LD, vb_, v_ld, k0 + BK, BK, T);
		}
		cp_commit();
		cp_wait1();
		__syncthreads();
		float s[NT][4];
#pragma unroll
		for (int i = 0; i < NT; i++)
			s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
		for (int kk = 0; kk < HD; kk += 16) {
			uint32_t a[4];
			load_a(a, sQ, LD, warp * 16, kk);
#pragma unroll
			for (int nt = 0; nt < NT; nt += 2) {
				uint32_t bb[4];
				load_bt(bb, sK, LD, nt * 8, kk);
				mma_m16n8k16(s[nt], a, bb[0], bb[1]);
				mma_m16n8k16(s[nt + 1], a, bb[2], bb[3]);
			}
		}
		/* mask (only blocks that cross the diagonal, the window's edge or T),
		 * scale, online softmax */
		bool full = k0 + BK - 1 <= q0 && (window <= 0 || k0 > q0 + BQ - 1 - window) &&
			    q0 + BQ <= T && k0 + BK <= T;
		float corr[2];
		uint32_t pa[NT / 2][4];
		flash_softmax_tile<NT>(s, full, r_lo, k0, tq, T, window, sl2, mrow, lrow, pa, corr);
#pragma unroll
		for (int i = 0; i < NO; i++) {
			acc[i][0] *= corr[0];
			acc[i][1] *= corr[0];
			acc[i][2] *= corr[1];
			acc[i][3] *= corr[1];
		}
		/* pa[kk] holds A for P columns kk*16..: a0a1 = (row g, ntile 2kk),
		 * a2a3 = (row g+8, ntile 2kk), a4a5 = (row g, ntile 2kk+1) ... */
#pragma unroll
		for (int kk = 0; kk < NT / 2; kk++) {
			uint32_t a[4] = {pa[kk][0], pa[kk][1], pa[kk][2], pa[kk][3]};
#pragma unroll
			for (int nt = 0; nt < NO; nt += 2) {
				uint32_t bb[4];
				load_b(bb, sV, LD, nt * 8, kk * 16);
				mma_m16n8k16(acc[nt], a, bb[0], bb[1]);
				mma_m16n8k16(acc[nt + 1], a, bb[2], bb[3]);
			}
		}
		__syncthreads(); /* the next prefetch overwrites this buffer */
	}
	flash_fwd_store<HD>(acc, mrow, lrow, o, o_ld, lse2, b, h, Hq, T, r_lo, tq);
}

/* dQ. grid (ceil(T/64), Hq, B), 128 threads; warp w owns query rows. */
template <int HD, int BK>
__global__ void __launch_bounds__(128) flash_tile64_bwd_dq_kernel(
	const bf16 *q, int q_ld, const bf16 *k, int k_ld, const bf16 *v, int v_ld, const bf16 *dO,
	int do_ld, const float *lse2, const float *D, bf16 *dq, int dq_ld, int T, int Hq, int Hkv,
	int window, float sl2, float scale)
{
	constexpr int BQ = 64, LD = HD + 8, NT = BK / 8, NO = HD / 8;
	extern __shared__ __align__(16) unsigned char smem_raw[];
	bf16 *sQ = (bf16 *)smem_raw, *sdO = sQ + BQ * LD, *sK2 = sdO + BQ * LD,
	     *sV2 = sK2 + 2 * BK * LD;
	int qb = blockIdx.x, h = blockIdx.y, b = blockIdx.z, hk = h / (Hq / Hkv);
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int q0 = qb * BQ;
	load_tile_async<HD>(sQ, q + (size_t)b * T * q_ld + (size_t)h * HD, q_ld, q0, BQ, T);
	load_tile_async<HD>(sdO, dO + (size_t)b * T * do_ld + (size_t)h * HD, do_ld, q0, BQ, T);
	const bf16 *kb_ = k + (size_t)b * T * k_ld + (size_t)hk * HD;
	const bf16 *vb_ = v + (size_t)b * T * v_ld + (size_t)hk * HD;
	int r_lo = q0 + warp * 16 + gq;
	float L[2], Dr[2];
	flash_dq_rows(L, Dr, lse2, D, b, h, Hq, T, r_lo);
	float acc[NO][4];
#pragma unroll
	for (int i = 0; i < NO; i++)
		acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
	int kv_hi = min(T, q0 + BQ);
	int kv_lo = window > 0 ? max(0, q0 - window + 1) : 0;
	int kstart = (kv_lo / BK) * BK, ntile = (kv_hi - kstart + BK - 1) / BK;
	load_tile_async<HD>(sK2, kb_, k_ld, kstart, BK, T);
	load_tile_async<HD>(sV2, vb_, v_ld, kstart, BK, T);
	cp_commit();
	for (int it = 0; it < ntile; it++) {
		int k0 = kstart + it * BK;
		bf16 *sK = sK2 + (it & 1) * BK * LD, *sV = sV2 + (it & 1) * BK * LD;
		if (it + 1 < ntile) {
			load_tile_async<HD>(sK2 + ((it + 1) & 1) * BK * LD, kb_, k_ld, k0 + BK, BK, T);
			load_tile_async<HD>(sV2 + ((it + 1) & 1) * BK * LD, vb_, v_ld, k0 + BK, BK, T);
		}
		cp_commit();
		cp_wait1();
		__syncthreads();
		float s[NT][4], dp[NT][4];
#pragma unroll
		for (int i = 0; i < NT; i++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				s[i][e] = dp[i][e] = 0.f;
#pragma unroll
		for (int kk = 0; kk < HD; kk += 16) {
			uint32_t a[4], a2[4];
			load_a(a, sQ, LD, warp * 16, kk);
			load_a(a2, sdO, LD, warp * 16, kk);
#pragma unroll
			for (int nt = 0; nt < NT; nt += 2) {
				uint32_t bb[4];
				load_bt(bb, sK, LD, nt * 8, kk);
				mma_m16n8k16(s[nt], a, bb[0], bb[1]);
				mma_m16n8k16(s[nt + 1], a, bb[2], bb[3]);
				load_bt(bb, sV, LD, nt * 8, kk);
				mma_m16n8k16(dp[nt], a2, bb[0], bb[1]);
				mma_m16n8k16(dp[nt + 1], a2, bb[2], bb[3]);
			}
		}
		bool full = k0 + BK - 1 <= q0 && (window <= 0 || k0 > q0 + BQ - 1 - window) &&
			    q0 + BQ <= T && k0 + BK <= T;
		uint32_t da[NT / 2][4];
		flash_dq_ds<NT>(s, dp, full, r_lo, k0, tq, T, window, sl2, L, Dr, da);
#pragma unroll
		for (int kk = 0; kk < NT / 2; kk++) {
			uint32_t a[4] = {da[kk][0], da[kk][1], da[kk][2], da[kk][3]};
#pragma unroll
			for (int nt = 0; nt < NO; nt += 2) {
				uint32_t bb[4];
				load_b(bb, sK, LD, nt * 8, kk * 16);
				mma_m16n8k16(acc[nt], a, bb[0], bb[1]);
				mma_m16n8k16(acc[nt + 1], a, bb[2], bb[3]);
			}
		}
		__syncthreads();
	}
	flash_dq_store<HD>(acc, dq, dq_ld, b, h, T, r_lo, tq, scale);
}

/* dK, dV. grid (ceil(T/64), Hkv * HD/HDP, B), 128 threads; warp w owns key
 * rows k0 + 16w..; the CTA accumulates columns [part*HDP, +HDP) of dK and
 * dV over every query head of the group and every query block that sees
 * the key block (no atomics: one CTA owns its outputs). */
template <int HD, int HDP>
__global__ void __launch_bounds__(128) flash_tile64_bwd_dkdv_kernel(
	const bf16 *q, int q_ld, const bf16 *k, int k_ld, const bf16 *v, int v_ld, const bf16 *dO,
	int do_ld, const float *lse2, const float *D, bf16 *dk, int dk_ld, bf16 *dv, int dv_ld,
	int T, int Hq, int Hkv, int window, float sl2, float scale)
{
	constexpr int BKV = 64, BQ = HD <= 64 ? 64 : 32, LD = HD + 8, NT = BQ / 8, NO = HDP / 8;
	constexpr int NPART = HD / HDP;
	extern __shared__ __align__(16) unsigned char smem_raw[];
	bf16 *sK = (bf16 *)smem_raw, *sV = sK + BKV * LD, *sQ2 = sV + BKV * LD,
	     *sdO2 = sQ2 + 2 * BQ * LD;
	float *sL2 = (float *)(sdO2 + 2 * BQ * LD), *sD2 = sL2 + 2 * BQ;
	int kb = blockIdx.x, hk = blockIdx.y / NPART, part = blockIdx.y % NPART, b = blockIdx.z;
	int G = Hq / Hkv;
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int k0 = kb * BKV, c0 = part * HDP;
	load_tile_async<HD>(sK, k + (size_t)b * T * k_ld + (size_t)hk * HD, k_ld, k0, BKV, T);
	load_tile_async<HD>(sV, v + (size_t)b * T * v_ld + (size_t)hk * HD, v_ld, k0, BKV, T);
	int kr_lo = k0 + warp * 16 + gq; /* this thread's key rows: kr_lo, +8 */
	float accK[NO][4], accV[NO][4];
#pragma unroll
	for (int i = 0; i < NO; i++)
#pragma unroll
		for (int e = 0; e < 4; e++)
			accK[i][e] = accV[i][e] = 0.f;
	int qstart, nq, ntile = flash_dkdv_tiles(k0, BKV, BQ, T, window, G, qstart, nq);
	auto fetch = [&](int it) {
		flash_dkdv_fetch<HD, BQ>(it, qstart, nq, sQ2, sdO2, sL2, sD2, q, q_ld, dO, do_ld,
					 lse2, D, b, hk, G, Hq, T);
	};
	fetch(0);
	cp_commit();
	for (int it = 0; it < ntile; it++) {
		int qs = qstart + (it % nq) * BQ, buf = it & 1;
		bf16 *sQ = sQ2 + buf * BQ * LD, *sdO = sdO2 + buf * BQ * LD;
		float *sL = sL2 + buf * BQ, *sD = sD2 + buf * BQ;
		if (it + 1 < ntile)
			fetch(it + 1);
		cp_commit();
		cp_wait1();
		__syncthreads();
		{
			/* S^T = K Q^T and dP^T = V dO^T for this warp's 16 keys */
			float s[NT][4], dp[NT][4];
#pragma unroll
			for (int i = 0; i < NT; i++)
#pragma unroll
				for (int e = 0; e < 4; e++)
					s[i][e] = dp[i][e] = 0.f;
#pragma unroll
			for (int kk = 0; kk < HD; kk += 16) {
				uint32_t a[4], a2[4];
				load_a(a, sK, LD, warp * 16, kk);
				load_a(a2, sV, LD, warp * 16, kk);
#pragma unroll
				for (int nt = 0; nt < NT; nt += 2) {
					uint32_t bb[4];
					load_bt(bb, sQ, LD, nt * 8, kk);
					mma_m16n8k16(s[nt], a, bb[0], bb[1]);
					mma_m16n8k16(s[nt + 1], a, bb[2], bb[3]);
					load_bt(bb, sdO, LD, nt * 8, kk);
					mma_m16n8k16(dp[nt], a2, bb[0], bb[1]);
					mma_m16n8k16(dp[nt + 1], a2, bb[2], bb[3]);
				}
			}
			bool full = k0 + BKV - 1 <= qs && (window <= 0 || k0 > qs + BQ - 1 - window) &&
				    qs + BQ <= T && k0 + BKV <= T;
			uint32_t pa[NT / 2][4], da[NT / 2][4];
			flash_dkdv_p_ds<NT>(s, dp, full, kr_lo, qs, tq, T, window, sl2, sL, sD, pa, da);
			/* dV += P^T dO, dK += dS^T Q (columns c0..c0+HDP) */
#pragma unroll
			for (int kk = 0; kk < NT / 2; kk++) {
#pragma unroll
				for (int nt = 0; nt < NO; nt += 2) {
					uint32_t bb[4];
					load_b(bb, sdO, LD, c0 + nt * 8, kk * 16);
					mma_m16n8k16(accV[nt], pa[kk], bb[0], bb[1]);
					mma_m16n8k16(accV[nt + 1], pa[kk], bb[2], bb[3]);
					load_b(bb, sQ, LD, c0 + nt * 8, kk * 16);
					mma_m16n8k16(accK[nt], da[kk], bb[0], bb[1]);
					mma_m16n8k16(accK[nt + 1], da[kk], bb[2], bb[3]);
				}
			}
		}
		__syncthreads();
	}
	flash_dkdv_store<HD>(accK, accV, dk, dk_ld, dv, dv_ld, b, T, hk, c0, kr_lo, tq, scale);
}

/* Shared-memory bytes of the attention kernels. */
static inline size_t flash_tile64_fwd_smem(int hd, int bk) { return (size_t)(64 + 4 * bk) * (hd + 8) * 2; }
static inline size_t flash_tile64_dq_smem(int hd, int bk) { return (size_t)(128 + 4 * bk) * (hd + 8) * 2; }
static inline size_t flash_tile64_dkdv_smem(int hd)
{
	int bq = hd <= 64 ? 64 : 32;
	return (size_t)(128 + 4 * bq) * (hd + 8) * 2 + 4 * bq * 4;
}

/* Host launchers (see FlashArgs). */
template <int HD>
static cudaError_t flash_tile64_fwd(cudaStream_t st, const FlashArgs &a)
{
	constexpr int BK = HD >= 256 ? 32 : 64;
	size_t sm = flash_tile64_fwd_smem(HD, BK);
	dim3 grid((a.T + 63) / 64, a.Hq, a.B);
	return launch_smem(flash_tile64_fwd_kernel<HD, BK>, grid, 128, sm, st, a.q, a.q_ld, a.k, a.k_ld,
			   a.v, a.v_ld, a.o, a.o_ld, a.lse2, a.T, a.Hq, a.Hkv, a.window,
			   a.scale * LOG2E_F);
}

/* the backward's two kernels, launched apart for timing them
 * (check_kernels bench) */
template <int HD>
static cudaError_t flash_tile64_bwd_dq(cudaStream_t st, const FlashArgs &a)
{
	constexpr int BK = HD >= 256 ? 32 : 64;
	size_t sm = flash_tile64_dq_smem(HD, BK);
	dim3 grid((a.T + 63) / 64, a.Hq, a.B);
	return launch_smem(flash_tile64_bwd_dq_kernel<HD, BK>, grid, 128, sm, st, a.q, a.q_ld, a.k,
			   a.k_ld, a.v, a.v_ld, a.dO, a.do_ld, a.lse2, a.D, a.dq, a.dq_ld, a.T, a.Hq,
			   a.Hkv, a.window, a.scale * LOG2E_F, a.scale);
}

template <int HD>
static cudaError_t flash_tile64_bwd_dkdv(cudaStream_t st, const FlashArgs &a)
{
	constexpr int HDP = HD > 128 ? 128 : HD;
	size_t sm = flash_tile64_dkdv_smem(HD);
	dim3 grid((a.T + 63) / 64, a.Hkv * (HD / HDP), a.B);
	return launch_smem(flash_tile64_bwd_dkdv_kernel<HD, HDP>, grid, 128, sm, st, a.q, a.q_ld, a.k,
			   a.k_ld, a.v, a.v_ld, a.dO, a.do_ld, a.lse2, a.D, a.dk, a.dk_ld, a.dv,
			   a.dv_ld, a.T, a.Hq, a.Hkv, a.window, a.scale * LOG2E_F, a.scale);
}

template <int HD>
static cudaError_t flash_tile64_bwd(cudaStream_t st, const FlashArgs &a)
{
	cudaError_t e = flash_tile64_bwd_dq<HD>(st, a);
	return e != cudaSuccess ? e : flash_tile64_bwd_dkdv<HD>(st, a);
}

static inline flash_fwd_fn flash_tile64_fwd_for(int hd) { return FLASH_DISPATCH(hd, flash_tile64_fwd); }
static inline flash_bwd_fn flash_tile64_bwd_for(int hd) { return FLASH_DISPATCH(hd, flash_tile64_bwd); }
static inline flash_bwd_fn flash_tile64_bwd_dq_for(int hd) { return FLASH_DISPATCH(hd, flash_tile64_bwd_dq); }
static inline flash_bwd_fn flash_tile64_bwd_dkdv_for(int hd) { return FLASH_DISPATCH(hd, flash_tile64_bwd_dkdv); }

#endif
