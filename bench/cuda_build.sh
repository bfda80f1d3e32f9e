#!/bin/sh
# cuda_build.sh - builds the CUDA trainer's kernel checks, fixture verifier and
# benchmark driver into ${OUT_DIR:-.dev/cuda} (no GPU needed to build).
#   bench/cuda_build.sh            then run bench/cuda_bench.sh on a GPU machine
set -e
O=${OUT_DIR:-.dev/cuda}
mkdir -p "$O/lib"
NVCC=${NVCC:-nvcc}
NVCCFLAGS="-O3 -std=c++17 -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_80,code=sm_80 -Ilib -Itrain/cuda"
CFLAGS="-O2 -std=c11 -Wall -Wextra -fopenmp -D_DEFAULT_SOURCE -Ilib -Itrain/cuda"
CUDA_HOME=$(dirname "$(dirname "$(command -v $NVCC)")")
LIBS="-L$CUDA_HOME/lib64 -Wl,-rpath,$CUDA_HOME/lib64 -lcublasLt -lcudart -lstdc++ -lzstd -lm -lpthread"
for f in lib/*.c; do
	b=$O/lib/$(basename "$f" .c).o
	[ "$b" -nt "$f" ] || gcc $CFLAGS -c -o "$b" "$f" &
done
$NVCC $NVCCFLAGS -c -o "$O/gpu_trainer.o" train/cuda/gpu_trainer.cu &
$NVCC $NVCCFLAGS -o "$O/check_kernels" tests/cuda/check_kernels.cu &
wait
ar rcs "$O/libbonsai_cuda.a" "$O"/lib/*.o
gcc $CFLAGS -o "$O/gpu_verify" tests/cuda/gpu_verify.c "$O/gpu_trainer.o" "$O/libbonsai_cuda.a" -fopenmp $LIBS
gcc $CFLAGS -o "$O/gpu_bench" bench/gpu_bench.c "$O/gpu_trainer.o" "$O/libbonsai_cuda.a" -fopenmp $LIBS
echo "built into $O"
