/* product_geglu.cuh - the MLP's two products around GeGLU on Hopper's
 * warpgroup instructions (wgmma, sm_90a), with the GeGLU in their epilogue,
 * and the plain product they are built on; kernel and launcher.
 *   PG_PLAIN      C = A B^T, bf16 out (B: N x K rows);
 *   PG_GEGLU_FWD  gu = h2 W_gu^T and g = gelu(gate) up: a tile holds the
 *                 gate and the up columns of the same 64 features, so g
 *                 is written from the accumulators (no second pass over gu);
 *   PG_GEGLU_BWD  dg = dy W_down, then dgu = GeGLU'(gu) dg from the
 *                 accumulators (dg is never stored): B is W_down, K x ff,
 *                 read N-major.
 * Each epilogue rounds the product to bf16 before the GeGLU, as the
 * separate kernels (geglu.cuh) read it from memory, so a fused kernel gives
 * those kernels' bits on its own product.
 *
 * A persistent block of two consumer warpgroups and a producer warp. The
 * producer issues the bulk tensor copies (TMA) of the block's tiles, one
 * after another, 64 of the reduction a stage (A's 128 rows, B's 128 rows or
 * columns, 128-byte swizzled) into a ring of STAGES stages, each completing
 * on its "full" mbarrier. The consumers take the block's tiles in turn
 * (warpgroup 0 the even ones, 1 the odd ones), a whole 128 x 128 tile each
 * (two m64n128k16 products a k16 step), and release a stage on its "empty"
 * mbarrier once the products of the step after are issued: while one
 * writes its tile's epilogue, the other's products run (CUTLASS's
 * "ping-pong"). Each output element is one fixed sequence of fp32 adds:
 * bitwise repeatable; on an H200 the same bits as cuBLASLt's product
 * (bench/NOTES.md). */
#ifndef BONSAI_CUDA_PRODUCT_GEGLU_CUH
#define BONSAI_CUDA_PRODUCT_GEGLU_CUH

#include <cudaTypedefs.h>

#include <algorithm>

#include "geglu.cuh"
#include "wgmma.cuh"

enum { PG_PLAIN = 0, PG_GEGLU_FWD = 1, PG_GEGLU_BWD = 2 };

struct ProductGegluArgs {
	const bf16 *a; /* M x K, row-major */
	int lda;
	const bf16 *b; /* PLAIN: N x K; GEGLU_FWD: 2 N x K (gate rows, then up); GEGLU_BWD: K x N */
	int ldb;
	bf16 *c; /* PLAIN: M x N; GEGLU_*: M x 2 N, gate | up (FWD: gu, BWD: dgu) */
	int ldc;
	bf16 *g; /* GEGLU_FWD: g, M x N */
	int ldg;
	const bf16 *gu; /* GEGLU_BWD: the forward's gu, M x 2 N */
	int ldgu;
	int M, N, K; /* GEGLU_*: N is ff */
};

/* A warpgroup's epilogue tile in shared memory: 128 rows of 128 bf16,
 * 16 bytes of padding a row (the accumulators' stores then hit distinct
 * banks). */
#define PG_EPI_LD 136
#define PG_EPI_BYTES (128 * PG_EPI_LD * 2)

/* Shared-memory bytes: STAGES stages of A and B (16 KB each), the two
 * epilogue tiles, the 1024-byte alignment of the swizzle, two mbarriers a
 * stage and the two turn mbarriers. */
static inline size_t product_geglu_smem(int stages)
{
	return (size_t)stages * 32768 + 2 * PG_EPI_BYTES + 1024 + 16 * stages + 16;
}

/* grid: at most one block an SM, 288 threads; the block b takes the tiles
 * b, b + gridDim.x, ... of ntm x ntn (in the order tile() gives). ta: A's tensor map (K x
 * M); tb: B's (PLAIN K x N, GEGLU_FWD K x 2N, GEGLU_BWD N x K, inner
 * dimension first); boxes of 64 x 64. */
template <int MODE, int STAGES>
__global__ void __launch_bounds__(288, 1)
	product_geglu_kernel(const __grid_constant__ CUtensorMap ta, const __grid_constant__ CUtensorMap tb,
			     ProductGegluArgs p, int ntm, int ntn)
{
	static_assert(STAGES >= 2, "a stage to fill while one is read");
#ifdef BONSAI_WGMMA
	constexpr uint32_t STAGE = 32768;
	constexpr int BNC = MODE == PG_GEGLU_FWD ? 64 : 128; /* output columns a tile */
	extern __shared__ unsigned char smem_raw[];
	uint32_t s0 = (smem_u32(smem_raw) + 1023) & ~1023u, epi = s0 + STAGES * STAGE;
	uint32_t bars = epi + 2 * PG_EPI_BYTES;
	auto full = [&](int s) { return bars + 8 * s; };
	auto empty = [&](int s) { return bars + 8 * (STAGES + s); };
	/* turn(w): warpgroup w may wait for its tile's stages (the other one
	 * has waited for all of its previous tile's) */
	auto turn = [&](int w) { return bars + 8 * (2 * STAGES + w); };
	int nk = p.K / 64, ntiles = ntm * ntn;
	/* tile t's rows and columns: groups of 8 row tiles, column tiles
	 * slowest within a group, so that the tiles in flight together read
	 * few columns of B (at gemma3-1b's 32 MB of W_gu, a whole row of
	 * tiles at once missed the L2) */
	auto tile = [&](int t, int &m0, int &n0) {
		int grp = t / (8 * ntn), rem = t % (8 * ntn), gm = min(8, ntm - grp * 8);
		m0 = (grp * 8 + rem % gm) * 128;
		n0 = rem / gm * BNC;
	};
	if (threadIdx.x == 0) {
		for (int s = 0; s < STAGES; s++) {
			mbar_init(full(s), 1);
			mbar_init(empty(s), 4); /* the consumer's four warps */
		}
		mbar_init(turn(0), 4);
		mbar_init(turn(1), 4);
		asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
	}
	__syncthreads();
	int wg = threadIdx.x / 128;
	if (wg == 2) { /* the producer warp */
		if (threadIdx.x == 256) {
			long g = 0; /* the block's step count, over its tiles */
			for (int t = blockIdx.x; t < ntiles; t += gridDim.x) {
				int m0, n0;
				tile(t, m0, n0);
				for (int kt = 0; kt < nk; kt++, g++) {
					int s = (int)(g % STAGES), k0 = kt * 64;
					/* the first pass finds each stage free (the
					 * phase before the barrier's first) */
					mbar_wait(empty(s), (uint32_t)((g / STAGES) & 1) ^ 1);
					mbar_expect_tx(full(s), STAGE);
					uint32_t sa = s0 + s * STAGE, sb = sa + STAGE / 2;
					tma_load_box(sa, &ta, k0, m0, full(s));
					tma_load_box(sa + 8192, &ta, k0, m0 + 64, full(s));
					if (MODE == PG_PLAIN) {
						tma_load_box(sb, &tb, k0, n0, full(s));
						tma_load_box(sb + 8192, &tb, k0, n0 + 64, full(s));
					} else if (MODE == PG_GEGLU_FWD) { /* gate rows, up rows */
						tma_load_box(sb, &tb, k0, n0, full(s));
						tma_load_box(sb + 8192, &tb, k0, p.N + n0, full(s));
					} else { /* rows k0.. of W_down's columns n0.. */
						tma_load_box(sb, &tb, n0, k0, full(s));
						tma_load_box(sb + 8192, &tb, n0 + 64, k0, full(s));
					}
				}
			}
		}
		return;
	}
	int warp = (threadIdx.x / 32) & 3, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	/* the block's step count at this warpgroup's first tile (its tiles are
	 * the block's wg-th, wg + 2nd, ...) */
	long g = (long)wg * nk;
	/* The two take turns at the stages: a parity wait tells the phases of a
	 * barrier apart only one phase ahead, so warpgroup 1 must not wait for
	 * its tile's first stage (say) while warpgroup 0 has yet to wait for an
	 * earlier filling of the same stage. Warpgroup w's i-th tile waits for
	 * the other's tile before it (1: its i-th, 0: its i - 1-st), whose
	 * mainloop completes the turn barrier's phase i (i - 1). */
	int i = 0;
	for (int t = blockIdx.x + wg * gridDim.x; t < ntiles; t += 2 * gridDim.x, g += 2 * nk, i++) {
		int m0, n0;
		tile(t, m0, n0);
		if (wg == 1)
			mbar_wait(turn(1), (uint32_t)i & 1);
		else if (i > 0)
			mbar_wait(turn(0), (uint32_t)(i - 1) & 1);
		float acc[2][16][4]; /* rows m0 + 64 h .. */
#pragma unroll
		for (int i = 0; i < 128; i++)
			acc[i / 64][i / 4 % 16][i % 4] = 0.f; /* not read (the first product overwrites) */
		for (int kt = 0; kt < nk; kt++) {
			long gs = g + kt;
			int s = (int)(gs % STAGES);
			mbar_wait(full(s), (uint32_t)(gs / STAGES) & 1);
			uint32_t sa = s0 + s * STAGE, sb = sa + STAGE / 2;
			uint64_t da[2][4], db[4];
#pragma unroll
			for (int kk = 0; kk < 4; kk++) {
				da[0][kk] = wgmma_desc_pin(wgmma_desc_sw128(sa + kk * 32, 16, 1024));
				da[1][kk] = wgmma_desc_pin(wgmma_desc_sw128(sa + 8192 + kk * 32, 16, 1024));
				db[kk] = wgmma_desc_pin(MODE == PG_GEGLU_BWD
								? wgmma_desc_sw128(sb + kk * 2048, 8192, 1024)
								: wgmma_desc_sw128(sb + kk * 32, 16, 1024));
			}
			wgmma_reg_fence(acc[0]);
			wgmma_reg_fence(acc[1]);
			wgmma_fence();
#pragma unroll
			for (int kk = 0; kk < 4; kk++) {
				wgmma_m64n128k16_ss<MODE == PG_GEGLU_BWD>(acc[0], da[0][kk], db[kk], kt > 0 || kk > 0);
				wgmma_m64n128k16_ss<MODE == PG_GEGLU_BWD>(acc[1], da[1][kk], db[kk], kt > 0 || kk > 0);
			}
			wgmma_commit();
			wgmma_wait1();
			wgmma_reg_fence(acc[0]);
			wgmma_reg_fence(acc[1]);
			/* the step before's products are done: its stage is free */
			if (kt > 0 && lane == 0)
				mbar_arrive(empty((int)((gs - 1) % STAGES)));
		}
		if (lane == 0)
			mbar_arrive(turn(1 - wg));
		wgmma_wait0();
		wgmma_reg_fence(acc[0]);
		wgmma_reg_fence(acc[1]);
		if (lane == 0)
			mbar_arrive(empty((int)((g + nk - 1) % STAGES)));

		/* The epilogue goes through shared memory, so that every global
		 * access is 16 contiguous bytes of a row: the accumulators as
		 * bf16 (this thread's rows 64 h + 16 warp + gq, + 8; of chunk j
		 * the columns 8 j + 2 tq, +1: mma.sync's C layout a warp), then
		 * 8 columns of a row a thread. The warpgroup's own barrier: its
		 * last tile's reads are done before the writes, the writes
		 * before the reads. */
		bf16 *e = (bf16 *)(smem_raw + (epi + wg * PG_EPI_BYTES - smem_u32(smem_raw)));
		asm volatile("bar.sync %0, 128;\n" ::"r"(1 + wg) : "memory");
#pragma unroll
		for (int h = 0; h < 2; h++)
#pragma unroll
			for (int i = 0; i < 2; i++) {
				int r = 64 * h + warp * 16 + gq + i * 8;
#pragma unroll
				for (int j = 0; j < 16; j++)
					*(__nv_bfloat162 *)(e + r * PG_EPI_LD + 8 * j + 2 * tq) =
						__floats2bfloat162_rn(acc[h][j][2 * i], acc[h][j][2 * i + 1]);
			}
		asm volatile("bar.sync %0, 128;\n" ::"r"(1 + wg) : "memory");
		int tid = threadIdx.x & 127;
		if (MODE == PG_GEGLU_FWD) {
			/* 8 columns of gate (e's columns 0..63) and of up (64..) */
#pragma unroll 4
			for (int q = tid; q < 128 * 8; q += 128) {
				int r = q >> 3, c = (q & 7) * 8, gr = m0 + r;
				if (gr >= p.M || n0 + c >= p.N)
					continue;
				uint4 ga = *(const uint4 *)(e + r * PG_EPI_LD + c);
				uint4 ua = *(const uint4 *)(e + r * PG_EPI_LD + 64 + c);
				bf16 *row = p.c + (size_t)gr * p.ldc + n0 + c;
				*(uint4 *)row = ga;
				*(uint4 *)(row + p.N) = ua;
				float a[8], b[8], o[8];
				ld8((const bf16 *)&ga, a);
				ld8((const bf16 *)&ua, b);
#pragma unroll
				for (int k = 0; k < 8; k++)
					o[k] = gelu_tanh(a[k], nullptr) * b[k];
				st8(p.g + (size_t)gr * p.ldg + n0 + c, o);
			}
		} else if (MODE == PG_PLAIN) {
#pragma unroll 4
			for (int q = tid; q < 128 * 16; q += 128) {
				int r = q >> 4, c = (q & 15) * 8, gr = m0 + r;
				if (gr < p.M && n0 + c < p.N)
					*(uint4 *)(p.c + (size_t)gr * p.ldc + n0 + c) =
						*(const uint4 *)(e + r * PG_EPI_LD + c);
			}
		} else {
			/* GeGLU': gu's gate and up for 8 pieces of 8 columns
			 * loaded before any is used (the accumulators' registers
			 * are free now), so that the loads' latency overlaps */
			constexpr int NB = 8;
#pragma unroll 1
			for (int q0 = tid; q0 < 128 * 16; q0 += 128 * NB) {
				uint4 ga[NB], ua[NB];
#pragma unroll
				for (int u = 0; u < NB; u++) {
					int q = q0 + u * 128, r = q >> 4, c = (q & 15) * 8, gr = m0 + r;
					ga[u] = ua[u] = make_uint4(0, 0, 0, 0);
					if (gr < p.M && n0 + c < p.N) {
						const bf16 *gur = p.gu + (size_t)gr * p.ldgu + n0 + c;
						ga[u] = *(const uint4 *)gur;
						ua[u] = *(const uint4 *)(gur + p.N);
					}
				}
#pragma unroll
				for (int u = 0; u < NB; u++) {
					int q = q0 + u * 128, r = q >> 4, c = (q & 15) * 8, gr = m0 + r;
					if (gr >= p.M || n0 + c >= p.N)
						continue;
					float dd[8], a[8], b[8], da[8], db[8];
					ld8(e + r * PG_EPI_LD + c, dd);
					ld8((const bf16 *)&ga[u], a);
					ld8((const bf16 *)&ua[u], b);
#pragma unroll
					for (int k = 0; k < 8; k++) {
						float dgl, ge = gelu_tanh(a[k], &dgl);
						da[k] = dd[k] * b[k] * dgl;
						db[k] = dd[k] * ge;
					}
					bf16 *row = p.c + (size_t)gr * p.ldc + n0 + c;
					st8(row, da);
					st8(row + p.N, db);
				}
			}
		}
	}
#else
	/* built for a target without wgmma: the launcher never starts it there */
	__trap();
#endif
}

/* A 2-D tensor map of bf16 rows (inner elements a row, outer rows, ld
 * elements between rows) in 64 x 64 boxes, 128-byte swizzled, zeros
 * outside; the driver's encoder found once. */
static cudaError_t product_tmap(CUtensorMap *m, const bf16 *base, int inner, int outer, int ld)
{
	static PFN_cuTensorMapEncodeTiled_v12000 enc = nullptr;
	if (!enc) {
		void *fn = nullptr;
		cudaDriverEntryPointQueryResult q;
		if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000,
						     cudaEnableDefault, &q) != cudaSuccess ||
		    q != cudaDriverEntryPointSuccess || !fn)
			return cudaErrorNotSupported;
		enc = (PFN_cuTensorMapEncodeTiled_v12000)fn;
	}
	cuuint64_t dims[2] = {(cuuint64_t)inner, (cuuint64_t)outer}, strides[1] = {(cuuint64_t)ld * 2};
	cuuint32_t box[2] = {64, 64}, es[2] = {1, 1};
	CUresult r = enc(m, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, (void *)base, dims, strides, box, es,
			 CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
			 CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
	return r == CUDA_SUCCESS ? cudaSuccess : cudaErrorInvalidValue;
}

/* Host launcher: cudaErrorNotSupported where the card does not run this
 * build's wgmma kernels (wgmma_device), cudaErrorInvalidValue for shapes
 * it does not take: K a multiple of 64, N of 8 (the GeGLU's ff of 64),
 * rows and bases 16-byte aligned. The caller then takes the cuBLASLt product and
 * the GeGLU kernels. */
template <int MODE, int STAGES = 4>
static cudaError_t product_geglu(cudaStream_t st, const ProductGegluArgs &p)
{
	if (!wgmma_device())
		return cudaErrorNotSupported;
	auto a16 = [](const void *q) { return (uintptr_t)q % 16 == 0; };
	if (p.M < 1 || p.N < 1 || p.K < 64 || p.K % 64 || p.N % (MODE == PG_PLAIN ? 8 : 64) ||
	    p.lda % 8 || p.ldb % 8 || p.ldc % 8 || !a16(p.a) || !a16(p.b) || !a16(p.c) ||
	    (MODE == PG_GEGLU_FWD && (p.ldg % 8 || !a16(p.g))) ||
	    (MODE == PG_GEGLU_BWD && (p.ldgu % 8 || !a16(p.gu))))
		return cudaErrorInvalidValue;
	CUtensorMap ta, tb;
	cudaError_t e = product_tmap(&ta, p.a, p.K, p.M, p.lda);
	if (e == cudaSuccess)
		e = MODE == PG_GEGLU_BWD ? product_tmap(&tb, p.b, p.N, p.K, p.ldb)
					 : product_tmap(&tb, p.b, p.K, MODE == PG_GEGLU_FWD ? 2 * p.N : p.N,
							p.ldb);
	static int nsm = 0;
	if (e == cudaSuccess && !nsm) {
		int dev = 0;
		e = cudaGetDevice(&dev);
		if (e == cudaSuccess)
			e = cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, dev);
	}
	if (e != cudaSuccess)
		return e;
	int bn = MODE == PG_GEGLU_FWD ? 64 : 128, ntn = (p.N + bn - 1) / bn, ntm = (p.M + 127) / 128;
	return launch_smem(product_geglu_kernel<MODE, STAGES>, std::min(ntm * ntn, nsm), 288,
			   product_geglu_smem(STAGES), st, ta, tb, p, ntm, ntn);
}

#endif
