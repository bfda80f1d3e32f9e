/* wgmma.cuh - the building blocks of the kernels on Hopper's warpgroup
 * tensor-core instructions (wgmma, sm_90a only): shared-memory matrix
 * descriptors of 128-byte-swizzled tiles, the fences and waits of the
 * asynchronous products, m64n32k16, m64n64k16 and m64n128k16 products,
 * mbarriers and the bulk tensor copy (TMA) of a 64 x 64 box, cp.async tile
 * loads into the swizzled layout, and the host's question whether the card
 * runs them. Used by the attention (attention_hopper.cuh,
 * attention_hopper_wide.cuh) and the MLP's products (product_geglu.cuh). */
#ifndef BONSAI_CUDA_WGMMA_CUH
#define BONSAI_CUDA_WGMMA_CUH

#include <cuda.h>

#include "mma.cuh"

/* A shared-memory matrix descriptor (64 bits):
 *   bits  0-13  start address >> 4;
 *   bits 16-29  leading byte offset >> 4;
 *   bits 32-45  stride byte offset >> 4;
 *   bits 49-51  base offset: 0, the swizzle atoms being 1024-aligned;
 *   bits 62-63  swizzle mode, 1 = 128-byte.
 * Q, K (K-major, 128B swizzle): the stride byte offset is the step from one
 * 8-row group of M (N) to the next, 1024 bytes here; the leading byte
 * offset is unused (a k16 slice, 32 bytes, lies within a swizzled row) and
 * by convention 1 (16 bytes). The k-th k16 slice starts 32 k bytes into the
 * row: the hardware swizzles the computed address, so the start may sit
 * inside an atom.
 * V (N-major, 128B swizzle): an atom is 8 keys x 64 hd; the stride byte
 * offset steps 8 keys (1024 bytes), the leading byte offset steps 64 hd
 * columns, never taken at hd 64; both are given 1024 so that the K step is
 * right under either reading of the two fields. The k-th k16 slice (16
 * keys) starts 2048 k bytes in. */
__device__ __forceinline__ uint64_t wgmma_desc_sw128(uint32_t saddr, uint32_t lbo, uint32_t sbo)
{
	return (uint64_t)((saddr & 0x3FFFF) >> 4) | (uint64_t)(lbo >> 4) << 16 |
	       (uint64_t)(sbo >> 4) << 32 | 1ull << 62;
}

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define BONSAI_WGMMA 1
#endif

#ifdef BONSAI_WGMMA
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait0() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait1() { asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory"); }
/* keeps the compiler from moving accesses to accumulator registers across
 * the asynchronous products' issue and wait */
template <int R> __device__ __forceinline__ void wgmma_reg_fence(float (&d)[R][4])
{
#pragma unroll
	for (int i = 0; i < 4 * R; i++)
		asm volatile("" : "+f"(d[i / 4][i % 4])::"memory");
}
/* a descriptor computed here, not sunk by the compiler between wgmma.fence
 * and its product: ptxas serializes every wgmma (C7513) when ordinary
 * instructions define a product's inputs inside the pipeline stage */
__device__ __forceinline__ uint64_t wgmma_desc_pin(uint64_t d)
{
	asm volatile("" : "+l"(d)::"memory");
	return d;
}
/* the same for the registers of a register A operand: they stay unchanged
 * (and unreused) until the wait before it */
template <int R> __device__ __forceinline__ void wgmma_reg_fence_u(uint32_t (&a)[R][4])
{
#pragma unroll
	for (int i = 0; i < 4 * R; i++)
		asm volatile("" : "+r"(a[i / 4][i % 4])::"memory");
}

#define WGMMA_D32                                                                              \
	"{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, " \
	"%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
/* the 32 accumulators of a thread, d[j][e]: chunk j of 8 columns, element e
 * (as mma.sync m16n8's c[e]) */
#define WGMMA_D32_OPS(d)                                                                       \
	"+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]),               \
		"+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]),       \
		"+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]),       \
		"+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]),       \
		"+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]),       \
		"+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]),       \
		"+f"(d[7][2]), "+f"(d[7][3])

/* d (+)= A B, A (64 x 16) and B (16 x 64) both K-major in shared memory;
 * acc 0: d = A B */
__device__ __forceinline__ void wgmma_m64n64k16_ss(float (&d)[8][4], uint64_t da, uint64_t db, int acc)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " WGMMA_D32
		     ", %32, %33, p, 1, 1, 0, 0;\n}\n"
		     : WGMMA_D32_OPS(d)
		     : "l"(da), "l"(db), "r"(acc));
}

/* d (+)= A B as wgmma_m64n64k16_ss, m64n32 */
__device__ __forceinline__ void wgmma_m64n32k16_ss(float (&d)[4][4], uint64_t da, uint64_t db, int acc)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 "
		     "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}"
		     ", %16, %17, p, 1, 1, 0, 0;\n}\n"
		     : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]),
		       "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]),
		       "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]),
		       "+f"(d[3][3])
		     : "l"(da), "l"(db), "r"(acc));
}

/* d += A B, A (64 x 16) in registers (mma.sync's A fragment, per warp),
 * B (16 x 64) N-major in shared memory */
__device__ __forceinline__ void wgmma_m64n64k16_rs_tb(float (&d)[8][4], const uint32_t (&a)[4], uint64_t db)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " WGMMA_D32
		     ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
		     : WGMMA_D32_OPS(d)
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
}

#define WGMMA_D64 \
	"{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
	"%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
	"%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
	"%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"

#define WGMMA_D64_OPS(d) \
	"+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), \
	"+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), \
	"+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), \
	"+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), \
	"+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), \
	"+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), \
	"+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]), \
	"+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), \
	"+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), \
	"+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), \
	"+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])

/* d (+)= A B over k16, m64n128: A K-major in shared memory,
 * B K-major (TB 0) or N-major (TB 1: 64-column atoms of [k][64], the
 * leading byte offset steps from one to the next); acc 0: d = A B */
template <int TB>
__device__ __forceinline__ void wgmma_m64n128k16_ss(float (&d)[16][4], uint64_t da, uint64_t db, int acc)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " WGMMA_D64
		     ", %64, %65, p, 1, 1, 0, %67;\n}\n"
		     : WGMMA_D64_OPS(d)
		     : "l"(da), "l"(db), "r"(acc), "n"(TB));
}

__device__ __forceinline__ void mbar_init(uint32_t bar, int count)
{
	asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, uint32_t bytes)
{
	asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
		     : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar)
{
	asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
/* until the phase of the given parity has completed */
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity)
{
	asm volatile("{\n.reg .pred p;\nWAIT:\n"
		     "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
		     "@!p bra WAIT;\n}\n" ::"r"(bar),
		     "r"(parity)
		     : "memory");
}
/* the 64 x 64 box at (c0 inner, c1 outer) of the tensor map into dst,
 * completing on bar */
__device__ __forceinline__ void tma_load_box(uint32_t dst, const CUtensorMap *map, int c0, int c1,
					     uint32_t bar)
{
	asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
		     " [%0], [%1, {%2, %3}], [%4];\n" ::"r"(dst),
		     "l"((uint64_t)map), "r"(c0), "r"(c1), "r"(bar)
		     : "memory");
}
#endif

/* Rows [r0, r0 + R) of a strided bf16 matrix of HD columns (row t at
 * src + t*ld) into 128-byte-swizzled tiles at shared address dst, by
 * NTH threads with cp.async (16 bytes, zero-filled past T; not committed):
 * columns 64 c .. +63 as the R x 128-byte tile at dst + c R 128. Eight
 * consecutive threads read 128 contiguous bytes of a row. */
template <int R, int NTH, int HD = 64>
__device__ __forceinline__ void hopper_load_tile(uint32_t dst, const bf16 *src, size_t ld, int r0,
						 int T)
{
	static_assert(HD % 64 == 0, "whole 128-byte rows");
	constexpr int N = R * 8 * (HD / 64); /* 16-byte pieces */
#pragma unroll
	for (int n = 0; n < (N + NTH - 1) / NTH; n++) {
		int i = threadIdx.x + n * NTH;
		if (N % NTH && i >= N)
			break;
		/* at HD 64 one column tile (i < R 8): no division, the code of
		 * before the column tiles */
		int ch = HD == 64 ? 0 : i / (R * 8), r = HD == 64 ? i >> 3 : (i >> 3) % R, c = i & 7;
		bool ok = r0 + r < T;
		const bf16 *g = src + (size_t)(ok ? r0 + r : 0) * ld + ch * 64 + c * 8;
		uint32_t sa = dst + ch * R * 128 + r * 128 + ((c ^ (r & 7)) << 4);
		int sz = ok ? 16 : 0;
		asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(sa), "l"(g),
			     "r"(sz));
	}
}

/* 1 in code compiled for sm_90a, 0 in any other: read from the code the
 * driver loaded for the card, it says whether the wgmma kernels there hold
 * their bodies or the __trap() (a build for compute_90 without the "a", or
 * one whose only code for the card is older PTX, compiled at load). */
static __device__ int wgmma_built =
#ifdef BONSAI_WGMMA
	1;
#else
	0;
#endif

/* Whether the current device runs this build's wgmma kernels: compute
 * capability 9.0 and sm_90a code loaded for it; else the launchers fall
 * back (the attention to tile64, the products to cuBLASLt). Asked at every
 * launch, found once a device. */
static inline bool wgmma_device()
{
	static int seen = -1;	  /* the device last asked about */
	static bool yes = false; /* its answer */
	int dev = 0;
	if (cudaGetDevice(&dev) != cudaSuccess)
		return false;
	if (dev != seen) {
		int major = 0, minor = 0, built = 0;
		yes = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) ==
			      cudaSuccess &&
		      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) ==
			      cudaSuccess &&
		      major == 9 && minor == 0 &&
		      cudaMemcpyFromSymbol(&built, wgmma_built, sizeof built) == cudaSuccess &&
		      built == 1;
		if (!yes)
			cudaGetLastError(); /* a failed query's error is not the caller's */
		seen = dev;
	}
	return yes;
}

#endif
