#!/bin/sh
# cuda_bench.sh - on a GPU machine: kernel checks, the fixture checks, then
# bonsai-train's CUDA trainer and the PyTorch peer on the configs of issue
# 16, our attention kernels beside cuDNN's and FlashAttention-2's (through
# PyTorch's SDPA) at the same shapes, one table at the end. Build first with
# `make all cuda-checks` (the checks, build/bench/gpu_bench, bin/bonsai-train).
#   bench/cuda_bench.sh [FIXTURE_DIR] [ours|peer|all] [STEPS]
# Logs go to ${OUT:-.dev/cuda/out}. SKIP_CHECKS=1 skips the checks; BASE=DIR
# also times DIR/bench/gpu_bench and DIR/tests/cuda/check_kernels (another
# build, e.g. of the commit before a change) in the same call, as "base".
# CONFIGS="CONFIG VOCAB B T;..." replaces the configs of ours;
# PEER_CONFIGS="CONFIG B T;..." narrows the peer's (each costs a minute or
# two of torch.compile; PEER_TIMEOUT seconds each, default 400); ATTN_BENCH=0
# skips our kernels' timing; ATTN_VARIANTS="v2 ..." also times ours with each
# BONSAI_ATTN value (rows "bonsai-cuda (attn V)"); TRAIN is the bonsai-train
# to verify with.
# The floor ratio is a step's time over its matrix products' time (the
# cuBLASLt phase of gpu_bench's profiled steps).
BUILD=${BUILD:-build}
FIX=${1:-${BONSAI_SHARED:-../shared}/fixtures/gemma3_tiny}
WHAT=${2:-all}
STEPS=${3:-10}
O=${OUT:-.dev/cuda/out}
HERE=$(dirname "$0")
PEER_CONFIGS=${PEER_CONFIGS:-small 32 1024;seed 8 1024;gemma3-1b 8 1024;small 8 4096}
mkdir -p "$O"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv,noheader
if [ "$WHAT" != peer ] && [ -z "$SKIP_CHECKS" ]; then
	echo "== kernel checks"; "$BUILD/tests/cuda/check_kernels" > "$O/check_kernels.tap"
	echo "check_kernels: rc $?, $(grep -c '^ok' "$O/check_kernels.tap") ok, $(grep -c '^not ok' "$O/check_kernels.tap") not ok"
	grep '^not ok' "$O/check_kernels.tap" | head -5
	echo "== fixture"; "$BUILD/tests/cuda/gpu_verify" "$FIX" | tee "$O/verify.tap" | grep -v "^#   grad"
	TRAIN=${TRAIN:-bin/bonsai-train}
	if [ -x "$TRAIN" ]; then
		echo "== bonsai-train verify --device cuda"
		"$TRAIN" verify "$FIX" --device cuda; echo "verify rc $?"
	fi
fi
: > "$O/results.jsonl"
run_ours() { "$BUILD/bench/gpu_bench" "$@" 2>>"$O/breakdown.txt" | tee -a "$O/results.jsonl"; }
# run_labelled LABEL LOG COMMAND...: a gpu_bench run whose rows read
# "bonsai-cuda (LABEL)", its per-phase table to LOG
run_labelled() {
	l=$1 log=$2
	shift 2
	"$@" 2>>"$log" | sed "s/\"bonsai-cuda\"/\"bonsai-cuda ($l)\"/" | tee -a "$O/results.jsonl"
}
run_peer() { timeout "${PEER_TIMEOUT:-400}" python3 "$HERE/peer_gemma3.py" "$@" 2>>"$O/peer.err" | tee -a "$O/results.jsonl"; }
if [ "$WHAT" != peer ]; then
	echo "== attention: ours (check_kernels bench), then PyTorch SDPA's backends"
	[ "${ATTN_BENCH:-1}" != 0 ] && "$BUILD/tests/cuda/check_kernels" bench | tee "$O/attn_bench.txt"
	[ -n "$BASE" ] && "$BASE/tests/cuda/check_kernels" bench | sed 's/^# bench/# base bench/' |
		tee "$O/attn_bench_base.txt"
	python3 "$HERE/attn_yardstick.py" 2>>"$O/peer.err" | tee "$O/yardstick.jsonl"
	echo "== the MLP's products in fp8 against bf16 (cuBLASLt)"
	[ -x "$BUILD/bench/fp8_products" ] && "$BUILD/bench/fp8_products" | tee "$O/fp8.txt"
	: > "$O/breakdown.txt"
	echo "${CONFIGS:-small 32768 32 1024;seed 262144 8 1024;gemma3-1b 262144 8 1024;small 32768 8 4096}" |
		tr ';' '\n' | while read -r cfg; do
		[ -z "$cfg" ] && continue
		set -- $cfg
		run_ours "$@" "$STEPS"
		[ -n "$BASE" ] && run_labelled base "$O/breakdown-base.txt" "$BASE/bench/gpu_bench" "$@" "$STEPS"
		for v in $ATTN_VARIANTS; do
			run_labelled "attn $v" "$O/breakdown-$v.txt" \
				env BONSAI_ATTN="$v" "$BUILD/bench/gpu_bench" "$@" "$STEPS"
		done
	done
	run_ours gemma3-1b 262144 8 1024 3 recompute
	cat "$O/breakdown.txt"
fi
if [ "$WHAT" != ours ]; then
	echo "$PEER_CONFIGS" | tr ';' '\n' | while read -r cfg; do
		[ -n "$cfg" ] && run_peer $cfg "$STEPS"
	done
	tail -5 "$O/peer.err"
fi
python3 - "$O/results.jsonl" "$O/yardstick.jsonl" <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
peer = {(r["config"], r["batch"], r["seq"]): r for r in rows if r["impl"] == "pytorch-peer"}
print("| impl | config | B | T | tok/s | ms/step | MFU | floor ratio | peak GiB | / peer |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    rc = " (recompute)" if r.get("recompute") else ""
    fl = f"{r['floor_ratio']:.2f}x" if r.get("floor_ratio") else ""
    p = peer.get((r["config"], r["batch"], r["seq"]))
    vs = f"{r['tokens_per_s'] / p['tokens_per_s']:.2f}x" if p and r is not p else ""
    print(f"| {r['impl']}{rc} | {r['config']} | {r['batch']} | {r['seq']} | {r['tokens_per_s']:,} "
          f"| {r['ms_per_step']} | {100*r['mfu']:.1f}% | {fl} | {r['peak_gib']} | {vs} |")
if os.path.exists(sys.argv[2]):
    print("\n| attention (causal, whole sequence) | shape | fwd ms | bwd ms | fwd TFLOP/s | bwd TFLOP/s | bwd same bits |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for l in open(sys.argv[2]):
        r = json.loads(l)
        if "error" in r:
            print(f"| {r['impl']} | {r['shape']} | {r['error'][:60]} | | | | |")
        else:
            print(f"| {r['impl']} | {r['shape']} | {r['fwd_ms']} | {r['bwd_ms']} | {r['fwd_tflops']} "
                  f"| {r['bwd_tflops']} | {r['bwd_repeatable']} |")
PY
