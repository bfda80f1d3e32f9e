#!/bin/sh
# environment.sh: what a run was made with, as "key: value" lines: the
# commit, the tools' versions, the compiler, the machine (CPU, memory, GPU).
cd "$(dirname "$0")/.." || exit 1
c=$(git rev-parse HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && c="$c (with uncommitted changes)"
echo "commit: $c"
for t in bin/bonsai-*; do
	echo "$(basename "$t"): $("$t" --version 2>&1 | head -n 1)"
done
echo "cc: $(${CC:-cc} --version 2>/dev/null | head -n 1)"
echo "nvcc: $(nvcc --version 2>/dev/null | tail -n 1 || true)"
echo "host: $(uname -n) ($(uname -srm))"
echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null), $(nproc) cores"
echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)"
g=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
echo "gpu: ${g:-none} ($(nvidia-smi -L 2>/dev/null | wc -l) found)"
