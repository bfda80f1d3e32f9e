/* attention_hopper_wide.cuh - flash attention on wgmma (sm_90a only) at
 * head_dims 128 and 256, where a row is more than one 128-byte swizzle
 * atom: the forward, and the backward's dK/dV kernel that also writes
 * dS^T for dQ as a product (flash_tile128_ds_bwd's scheme). Kernels and
 * launchers; off sm_90 the launchers take tile64's kernels.
 *
 * A tile of R rows and HD columns is stored as HD/64 swizzled R x 128-byte
 * tiles, columns 64 c .. +63 at offset c R 128 (hopper_load_tile); a
 * product over head_dim runs over the column tiles in order, one over
 * rows takes each column tile as the B operand of its own m64n64 product.
 *
 * The forward is attention_hopper.cuh's one-warpgroup forward with key
 * tiles of BK rows: at BK 32 its sums are in tile64's order at head_dim 256
 * (whose forward takes 32-key tiles there), so O and lse are those bits.
 *
 * The dK/dV kernel: 64 key rows a block, two warpgroups over the same
 * rows, K and V in shared memory for the whole loop, Q and dO tiles of 64
 * queries double-buffered. A dK/dV accumulator of 64 rows at head_dim 256
 * is 128 registers a thread, so each warpgroup owns one: per query tile
 *   warpgroup 0: S^T  = K Q^T, P^T (masked, fp32) to shared memory,
 *                dV  += P^T dO;
 *   warpgroup 1: dP^T = V dO^T, then (after warpgroup 0's P^T) dS^T =
 *                P^T (dP^T - D), written to the dS^T scratch,
 *                dK  += dS^T Q.
 * Both warpgroups issue the same wgmma instructions on their own operands,
 * so no product sits under a branch (ptxas serializes those). */
#ifndef BONSAI_CUDA_ATTENTION_HOPPER_WIDE_CUH
#define BONSAI_CUDA_ATTENTION_HOPPER_WIDE_CUH

#include "attention_dq_product.cuh"
#include "attention_hopper.cuh"

#ifdef BONSAI_WGMMA
/* column tile c (8 columns x 8 chunks: 64 columns) of an accumulator of
 * HD/8 chunks */
template <int R>
__device__ __forceinline__ float (&hopper_cols(float (&acc)[R][4], int c))[8][4]
{
	return *reinterpret_cast<float (*)[8][4]>(&acc[8 * c][0]);
}

/* the m64nNk16 product of two K-major operands in shared memory, N 64 or 32 */
template <int N> struct HopperScore;
template <> struct HopperScore<64> {
	static __device__ __forceinline__ void mma(float (&d)[8][4], uint64_t a, uint64_t b, int acc)
	{
		wgmma_m64n64k16_ss(d, a, b, acc);
	}
};
template <> struct HopperScore<32> {
	static __device__ __forceinline__ void mma(float (&d)[4][4], uint64_t a, uint64_t b, int acc)
	{
		wgmma_m64n32k16_ss(d, a, b, acc);
	}
};

/* s = A B^T over head_dim HD, issued and committed: A the 64 rows at a, B
 * the N rows at b, both K-major column tiles (A's c-th at a + c ACH, B's at
 * b + c N 128). */
template <int HD, int N, uint32_t ACH>
__device__ __forceinline__ void hopper_wide_scores(float (&s)[N / 8][4], uint32_t a, uint32_t b)
{
#pragma unroll
	for (int i = 0; i < N / 2; i++)
		s[i / 4][i % 4] = 0.f; /* not read (the first product overwrites) */
	wgmma_reg_fence(s);
	wgmma_fence();
#pragma unroll
	for (int c = 0; c < HD / 64; c++)
#pragma unroll
		for (int kk = 0; kk < 4; kk++)
			HopperScore<N>::mma(s, wgmma_desc_sw128(a + c * ACH + kk * 32, 16, 1024),
					    wgmma_desc_sw128(b + c * N * 128 + kk * 32, 16, 1024),
					    c | kk);
	wgmma_commit();
}

/* acc += A B, issued and committed: A the R/16 k16 fragments in registers
 * (a[kk]: rows 16 kk .. +15 of the reduction), B the R rows at tile read
 * N-major, column tile c (at tile + c R 128) into acc's columns 64 c.. */
template <int HD, int R>
__device__ __forceinline__ void hopper_wide_rows(float (&acc)[HD / 8][4], const uint32_t (&a)[R / 16][4],
						 uint32_t tile)
{
	wgmma_fence();
#pragma unroll
	for (int c = 0; c < HD / 64; c++)
#pragma unroll
		for (int kk = 0; kk < R / 16; kk++)
			wgmma_m64n64k16_rs_tb(hopper_cols(acc, c), a[kk],
					      wgmma_desc_sw128(tile + c * R * 128 + kk * 2048, 1024, 1024));
	wgmma_commit();
}
#endif

/* Forward. grid (ceil(T / (64 NWG)), Hq, B), 128 NWG threads, warpgroup g
 * owning query rows q0 + 64 g ..; key/value tiles of BK rows double-
 * buffered by cp.async. Per tile: S = Q K^T over HD/64 column tiles,
 * tile64's online softmax (flash_softmax_tile), O += P V. */
template <int HD, int BK, int NWG>
__global__ void __launch_bounds__(128 * NWG) flash_hopper_wide_fwd_kernel(const bf16 *q, int q_ld,
									const bf16 *k, int k_ld,
									const bf16 *v, int v_ld,
									bf16 *o, int o_ld, float *lse2,
									int T, int Hq, int Hkv,
									int window, float sl2)
{
	static_assert(HD % 64 == 0 && (BK == 32 || BK == 64), "column tiles of 64, key tiles of 32 or 64");
#ifdef BONSAI_WGMMA
	constexpr int BQ = 64 * NWG, NTH = 128 * NWG, NT = BK / 8;
	constexpr uint32_t QB = BQ * HD * 2, KB = BK * HD * 2; /* bytes of the Q, a K (V) tile */
	extern __shared__ unsigned char smem_raw[];
	uint32_t s0 = (smem_u32(smem_raw) + 1023) & ~1023u;
	uint32_t sQ = s0, sK2 = sQ + QB, sV2 = sK2 + 2 * KB;
	int qb = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, b = blockIdx.z, hk = h / (Hq / Hkv);
	int wg = threadIdx.x / 128, warp = (threadIdx.x / 32) & 3, lane = threadIdx.x & 31;
	int gq = lane >> 2, tq = lane & 3;
	int q0 = qb * BQ, wq0 = q0 + wg * 64;
	const bf16 *kb_ = k + (size_t)b * T * k_ld + (size_t)hk * HD;
	const bf16 *vb_ = v + (size_t)b * T * v_ld + (size_t)hk * HD;
	hopper_load_tile<BQ, NTH, HD>(sQ, q + (size_t)b * T * q_ld + (size_t)h * HD, q_ld, q0, T);

	float acc[HD / 8][4];
#pragma unroll
	for (int i = 0; i < HD / 2; i++)
		acc[i / 4][i % 4] = 0.f;
	float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};
	int r_lo = wq0 + warp * 16 + gq; /* this thread's rows: r_lo, r_lo + 8 */
	int wq_last = min(T, wq0 + 64) - 1;
	int kv_hi = min(T, q0 + BQ);
	int kv_lo = window > 0 ? max(0, q0 - window + 1) : 0;
	int kstart = (kv_lo / BK) * BK, ntile = (kv_hi - kstart + BK - 1) / BK;
	hopper_load_tile<BK, NTH, HD>(sK2, kb_, k_ld, kstart, T);
	hopper_load_tile<BK, NTH, HD>(sV2, vb_, v_ld, kstart, T);
	cp_commit();
	for (int it = 0; it < ntile; it++) {
		int k0 = kstart + it * BK;
		uint32_t sK = sK2 + (it & 1) * KB, sV = sV2 + (it & 1) * KB;
		hopper_next_tile(it, ntile, [=](int) {
			hopper_load_tile<BK, NTH, HD>(sK2 + ((it + 1) & 1) * KB, kb_, k_ld, k0 + BK, T);
			hopper_load_tile<BK, NTH, HD>(sV2 + ((it + 1) & 1) * KB, vb_, v_ld, k0 + BK, T);
		});
		/* this warpgroup's rows see a key of the tile? (uniform across
		 * the warpgroup, as the wgmma instructions need) */
		if (wq0 >= T || k0 > wq_last || (window > 0 && k0 + BK - 1 <= wq0 - window))
			continue;
		float s[NT][4];
		hopper_wide_scores<HD, BK, BQ * 128>(s, sQ + wg * 64 * 128, sK);
		wgmma_wait0();
		wgmma_reg_fence(s);
		bool full = k0 + BK - 1 <= wq0 && (window <= 0 || k0 > wq0 + 63 - window) &&
			    wq0 + 64 <= T && k0 + BK <= T;
		float corr[2];
		uint32_t pa[NT / 2][4]; /* pa[kk]: A of keys 16 kk .. +15 */
		flash_softmax_tile<NT>(s, full, r_lo, k0, tq, T, window, sl2, mrow, lrow, pa, corr);
#pragma unroll
		for (int i = 0; i < HD / 2; i++)
			acc[i / 4][i % 4] *= corr[(i >> 1) & 1];
		wgmma_reg_fence(acc);
		wgmma_reg_fence_u(pa);
		hopper_wide_rows<HD, BK>(acc, pa, sV);
		wgmma_wait0();
		wgmma_reg_fence(acc);
		wgmma_reg_fence_u(pa);
	}
	flash_fwd_store<HD>(acc, mrow, lrow, o, o_ld, lse2, b, h, Hq, T, r_lo, tq);
#else
	__trap();
#endif
}

/* Shared-memory bytes of the forward: Q, two K and two V tiles, and the
 * 1024-byte alignment of the swizzle. */
static inline size_t flash_hopper_wide_fwd_smem(int hd, int bk, int nwg)
{
	return (size_t)(64 * nwg + 4 * bk) * hd * 2 + 1024;
}

/* Host launcher (see FlashArgs); elsewhere than on sm_90 tile64's
 * forward, whose o and lse2 mean the same. */
template <int HD, int BK, int NWG>
static cudaError_t flash_hopper_wide_fwd_cfg(cudaStream_t st, const FlashArgs &a)
{
	if (!wgmma_device())
		return flash_tile64_fwd<HD>(st, a);
	dim3 grid((a.T + 64 * NWG - 1) / (64 * NWG), a.Hq, a.B);
	return launch_smem(flash_hopper_wide_fwd_kernel<HD, BK, NWG>, grid, 128 * NWG,
			   flash_hopper_wide_fwd_smem(HD, BK, NWG), st, a.q, a.q_ld, a.k, a.k_ld, a.v,
			   a.v_ld, a.o, a.o_ld, a.lse2, a.T, a.Hq, a.Hkv, a.window,
			   a.scale * LOG2E_F);
}

/* Backward, dK and dV (and WDS: dS^T), two warpgroups: see the top of the
 * file. grid (ceil(T/64), Hkv, B), 256 threads. Tiles as
 * flash_hopper_dkdv_kernel's (flash_dkdv_tiles: every head of the group,
 * every 64 queries that see the keys). */
template <int HD, bool WDS>
__global__ void __launch_bounds__(256) flash_hopper_wide_dkdv_kernel(
	const bf16 *q, int q_ld, const bf16 *k, int k_ld, const bf16 *v, int v_ld, const bf16 *dO,
	int do_ld, const float *lse2, const float *D, bf16 *dk, int dk_ld, bf16 *dv, int dv_ld,
	int T, int Hq, int Hkv, int window, float sl2, float scale, bf16 *dsT, int ds_ld)
{
	static_assert(HD % 64 == 0, "column tiles of 64");
#ifdef BONSAI_WGMMA
	constexpr int BKV = 64, BQ = 64;
	constexpr uint32_t TB = 64 * HD * 2; /* bytes of a 64-row tile */
	extern __shared__ unsigned char smem_raw[];
	uint32_t s0 = (smem_u32(smem_raw) + 1023) & ~1023u;
	uint32_t sK = s0, sV = sK + TB, sQ2 = sV + TB, sdO2 = sQ2 + 2 * TB;
	float *sL2 = (float *)(smem_raw + (sdO2 + 2 * TB - smem_u32(smem_raw))), *sD2 = sL2 + 2 * BQ;
	/* P^T from warpgroup 0 to 1: element i of thread t at sP[128 i + t]
	 * (the same thread of the other warpgroup holds the same position) */
	float *sP = sD2 + 2 * BQ;
	int kb = blockIdx.x, hk = blockIdx.y, b = blockIdx.z, G = Hq / Hkv;
	int wg = threadIdx.x / 128, t = threadIdx.x & 127;
	int warp = t / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int k0 = kb * BKV;
	hopper_load_tile<BKV, 256, HD>(sK, k + (size_t)b * T * k_ld + (size_t)hk * HD, k_ld, k0, T);
	hopper_load_tile<BKV, 256, HD>(sV, v + (size_t)b * T * v_ld + (size_t)hk * HD, v_ld, k0, T);
	int kr_lo = k0 + warp * 16 + gq; /* this thread's key rows: kr_lo, +8 */
	float acc[HD / 8][4]; /* warpgroup 0: dV, 1: dK */
#pragma unroll
	for (int i = 0; i < HD / 2; i++)
		acc[i / 4][i % 4] = 0.f;
	HopperDkdvTiles<HD, BQ, 256> qt(sQ2, sdO2, TB, sL2, sD2, q, q_ld, dO, do_ld, lse2, D, b, hk, G,
					Hq, T, k0, BKV, window);
	qt.start();
	for (int it = 0; it < qt.ntile; it++) {
		int qs = qt.qs(it);
		uint32_t sQ = qt.sQ(it), sdO = qt.sdO(it);
		const float *sL = qt.sL(it), *sD = qt.sD(it);
		/* both warpgroups are done with tile it - 1 (its products waited
		 * for, sP read) */
		qt.next(it);
		/* warpgroup 0: S^T = K Q^T; 1: dP^T = V dO^T */
		float x[8][4];
		hopper_wide_scores<HD, 64, 64 * 128>(x, wg ? sV : sK, wg ? sdO : sQ);
		wgmma_wait0();
		wgmma_reg_fence(x);
		uint32_t fa[4][4]; /* 0: P^T, 1: dS^T, A fragments (queries 16 kk ..) */
		if (wg == 0) {
			bool full = k0 + BKV - 1 <= qs && (window <= 0 || k0 > qs + BQ - 1 - window) &&
				    qs + BQ <= T && k0 + BKV <= T;
			flash_pt<8>(x, full, kr_lo, qs, tq, T, window, sl2, sL);
#pragma unroll
			for (int i = 0; i < 32; i++)
				sP[128 * i + t] = x[i / 4][i % 4];
			/* barrier 1: warpgroup 0 arrives, 1 waits (0 is __syncthreads') */
			asm volatile("bar.arrive 1, 256;\n" ::: "memory");
#pragma unroll
			for (int nt = 0; nt < 8; nt++) {
				fa[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(x[nt][0], x[nt][1]);
				fa[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(x[nt][2], x[nt][3]);
			}
		} else {
			asm volatile("bar.sync 1, 256;\n" ::: "memory");
			bf16 *dsh = dsT + ((size_t)b * Hq + hk * G + it / qt.nq) * T * ds_ld;
#pragma unroll
			for (int nt = 0; nt < 8; nt++) {
				float ds[4];
#pragma unroll
				for (int e = 0; e < 4; e++)
					ds[e] = sP[128 * (nt * 4 + e) + t] *
						(x[nt][e] - sD[nt * 8 + tq * 2 + (e & 1)]);
				fa[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(ds[0], ds[1]);
				fa[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(ds[2], ds[3]);
				/* WDS: the same dS^T bits to the scratch, for dQ as a
				 * product (flash_tile128_ds_bwd) */
				int qcol = qs + nt * 8 + tq * 2;
				if (WDS && qcol < T) {
					if (kr_lo < T)
						*(uint32_t *)(dsh + (size_t)kr_lo * ds_ld + qcol) =
							fa[nt / 2][(nt & 1) * 2 + 0];
					if (kr_lo + 8 < T)
						*(uint32_t *)(dsh + (size_t)(kr_lo + 8) * ds_ld + qcol) =
							fa[nt / 2][(nt & 1) * 2 + 1];
				}
			}
		}
		/* warpgroup 0: dV += P^T dO; 1: dK += dS^T Q */
		wgmma_reg_fence(acc);
		wgmma_reg_fence_u(fa);
		hopper_wide_rows<HD, 64>(acc, fa, wg ? sQ : sdO);
		wgmma_wait0();
		wgmma_reg_fence(acc);
		wgmma_reg_fence_u(fa);
	}
	/* dV = acc, dK = scale acc */
	bf16 *out = wg ? dk : dv;
	int ld = wg ? dk_ld : dv_ld;
#pragma unroll
	for (int i = 0; i < 2; i++)
		if (kr_lo + i * 8 < T)
			flash_row_store<HD>(acc, i, wg ? scale : 1.f, out, ld, b, hk, T, kr_lo + i * 8, tq);
#else
	__trap();
#endif
}

/* K, V; two Q and two dO tiles; lse, D of two tiles; the P^T exchange; the
 * swizzle's alignment */
static inline size_t flash_hopper_wide_dkdv_smem(int hd)
{
	return (size_t)6 * 64 * hd * 2 + 4 * 64 * 4 + 128 * 32 * 4 + 1024;
}

/* The backward as flash_tile128_ds_bwd (dK, dV and dS^T by the kernel
 * above, dQ = scale dS K by cuBLASLt); off sm_90 tile64's, as the other
 * wgmma launchers. */
template <int HD>
static cudaError_t flash_hopper_wide_ds_bwd(cudaStream_t st, const FlashArgs &a)
{
	if (!wgmma_device())
		return flash_tile64_bwd<HD>(st, a);
	if (!a.ds)
		return cudaErrorInvalidValue;
	int ld = flash_ds_ld(a.T);
	/* the tiles no query of which sees the keys are not written */
	cudaError_t e = cudaMemsetAsync(a.ds, 0, flash_ds_bytes(a.B, a.Hq, a.T), st);
	if (e != cudaSuccess)
		return e;
	dim3 grid((a.T + 63) / 64, a.Hkv, a.B);
	e = launch_smem(flash_hopper_wide_dkdv_kernel<HD, true>, grid, 256,
			flash_hopper_wide_dkdv_smem(HD), st, a.q, a.q_ld, a.k, a.k_ld, a.v, a.v_ld, a.dO,
			a.do_ld, a.lse2, a.D, a.dk, a.dk_ld, a.dv, a.dv_ld, a.T, a.Hq, a.Hkv, a.window,
			a.scale * LOG2E_F, a.scale, a.ds, ld);
	return e != cudaSuccess ? e : attn_dq_product(st, a, HD, ld);
}

/* the forward for head_dim hd (128, 256; else nullptr): one warpgroup,
 * 32-key tiles at 256 (tile64's sums), 64 at 128 */
static inline flash_fwd_fn flash_hopper_wide_fwd_for(int hd)
{
	return hd == 256 ? flash_hopper_wide_fwd_cfg<256, 32, 1>
	       : hd == 128 ? flash_hopper_wide_fwd_cfg<128, 64, 1>
			   : nullptr;
}

/* the backward for head_dim hd (128, 256; else nullptr) */
static inline flash_bwd_fn flash_hopper_wide_bwd_for(int hd)
{
	return hd == 256 ? flash_hopper_wide_ds_bwd<256> : hd == 128 ? flash_hopper_wide_ds_bwd<128> : nullptr;
}

#endif
