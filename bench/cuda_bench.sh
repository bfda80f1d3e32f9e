#!/bin/sh
# cuda_bench.sh - on a GPU machine: kernel checks, the fixture check, then
# bonsai-train's CUDA trainer and the PyTorch peer on the configs of issue 6
# (T = 1024), one table at the end. Build first with `make cuda-checks`
# (the checks and build/bench/gpu_bench, with the Makefile's flags).
#   bench/cuda_bench.sh [FIXTURE_DIR] [ours|peer|all] [STEPS]
# Logs go to ${OUT:-.dev/cuda/out}. SKIP_CHECKS=1 skips the kernel and fixture checks.
BUILD=${BUILD:-build}
FIX=${1:-${BONSAI_SHARED:-../shared}/fixtures/gemma3_tiny}
WHAT=${2:-all}
STEPS=${3:-10}
O=${OUT:-.dev/cuda/out}
mkdir -p "$O"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv,noheader
if [ "$WHAT" != peer ] && [ -z "$SKIP_CHECKS" ]; then
	echo "== kernel checks"; "$BUILD/tests/cuda/check_kernels" | tee "$O/check_kernels.tap" | grep -v "^ok"
	grep -c "^ok" "$O/check_kernels.tap"
	echo "== fixture"; "$BUILD/tests/cuda/gpu_verify" "$FIX" | tee "$O/verify.tap" | grep -v "^#   grad"
fi
: > "$O/results.jsonl"
run_ours() { "$BUILD/bench/gpu_bench" "$@" 2>>"$O/breakdown.txt" | tee -a "$O/results.jsonl"; }
run_peer() { timeout 400 python3 bench/peer_gemma3.py "$@" 2>>"$O/peer.err" | tee -a "$O/results.jsonl"; }
if [ "$WHAT" != peer ]; then
	: > "$O/breakdown.txt"
	run_ours small 32768 32 1024 "$STEPS"
	run_ours seed 262144 8 1024 "$STEPS"
	run_ours gemma3-1b 262144 8 1024 "$STEPS"
	run_ours gemma3-1b 262144 8 1024 3 recompute
	cat "$O/breakdown.txt"
fi
if [ "$WHAT" != ours ]; then
	run_peer small 32 1024 "$STEPS"
	run_peer seed 8 1024 "$STEPS"
	run_peer gemma3-1b 8 1024 "$STEPS"
	tail -5 "$O/peer.err"
fi
python3 - "$O/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("| impl | config | params | B | tok/s | ms/step | MFU | peak GiB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    rc = " (recompute)" if r.get("recompute") else ""
    print(f"| {r['impl']}{rc} | {r['config']} | {r['params']/1e6:.0f}M | {r['batch']} | {r['tokens_per_s']:,} | {r['ms_per_step']} | {100*r['mfu']:.1f}% | {r['peak_gib']} |")
PY
