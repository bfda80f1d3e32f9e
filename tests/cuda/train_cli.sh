#!/bin/sh
# train_cli.sh - on a GPU machine: bonsai-train --device cuda through its
# command line, as a user runs it (TAP):
#   verify of the fixture with the bf16 bounds of bonsai-train(1); --check
#   with the GPU; a run that
#   moves CPU -> GPU -> CPU through checkpoints; the out-of-memory message at
#   start-up; a NaN weight and a NaN step; the default device; a BONSAI_ATTN
#   that names no kernel; the MLP products (BONSAI_MLP): a bad value, the
#   default's bits twice, its losses against cuBLASLt's; the products'
#   algorithms tuned (BONSAI_PRODUCTS): a bad value, the same bits; and the speed
#   of the small preset through the CLI (steps 6.. of STEPS).
#   tests/cuda/train_cli.sh [FIXTURE_DIR [WORK_DIR [STEPS]]]
# (run by `make check-cuda`; FIXTURE_DIR defaults to ../shared's gemma3_tiny,
# WORK_DIR to a temporary folder, which gets the shards it needs, made with
# bin/ and build/tests/tools/).
. tests/tap.sh
FX=${1:-$SHARED/fixtures/gemma3_tiny}
W=${2:-$T/work}
STEPS=${3:-30}
TR=${TRAIN:-bin/bonsai-train}
[ -f "$FX/config.json" ] || skip_all "no fixture at $FX (see ../shared/README.md)"
mkdir -p "$W"
loss_of() { grep "\"step\":$2," "$1" | sed 's/.*"loss":\([^,]*\),.*/\1/'; }

$TR verify "$FX" --device cuda > "$W/verify.out" 2> "$W/verify.err"
rc=$?
sed 's/^/# /' "$W/verify.out" | head -12
ok $rc "verify $FX --device cuda passes the bf16 bounds"

# --check on the card: the device answers with its free memory
$TR --check --data "$W/none" --model tiny -o "$W/nochk" --steps 10 --device cuda > "$W/check.out" 2> "$W/err"
[ $? -eq 0 ] && grep -q "^bonsai-train --check: model tiny, device cuda ([0-9.]* of [0-9.]* GiB free), 1 rank" "$W/check.out" &&
	[ ! -e "$W/nochk" ]
ok $? "--check --device cuda: the GPU's free memory, nothing written" || diag "$(cat "$W/check.out" "$W/err")"

# Byte-level shards: 4,096 random documents of 256 tokens over a 256 vocab.
if [ ! -f "$W/bytes/manifest.json" ]; then
	build/tests/tools/mkstream --random 1048576 256 256 > "$W/bytes.stream" &&
		bin/bonsai-shard -q -o "$W/bytes" --val-docs 16 "$W/bytes.stream"
fi
# 4 layers, d 128, head_dim 32 (the GPU kernels' smallest shapes)
cp tests/cuda/tiny.json "$W/tiny.json"
A="--data $W/bytes --model $W/tiny.json --steps 30 --seq 128 --batch-tokens 1024 --lr 3e-3 --warmup 5 -q"
rm -rf "$W/straight" "$W/mixed"
$TR $A -o "$W/straight" --device cpu > "$W/straight.log" 2> "$W/err"
$TR $A -o "$W/mixed" --device cpu --stop-at 10 > "$W/mixed.log" 2>> "$W/err" &&
	$TR $A -o "$W/mixed" --device cuda --resume --stop-at 20 >> "$W/mixed.log" 2>> "$W/err" &&
	$TR $A -o "$W/mixed" --device cpu --resume >> "$W/mixed.log" 2>> "$W/err"
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '"loss"' "$W/mixed.log")" -eq 30 ]
ok $? "CPU 10 steps -> resume on CUDA to 20 -> resume on CPU to 30 (exit $rc)"
worst=$(for s in 11 15 20 21 25 30; do
	echo "$(loss_of "$W/straight.log" $s) $(loss_of "$W/mixed.log" $s)"
done | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { print m + 0 }')
echo "# largest |straight CPU - mixed| loss at steps 11..30: $worst"
awk -v w="$worst" 'BEGIN { exit !(w < 0.05) }'
ok $? "the mixed run's losses stay within 0.05 nats of the CPU-only run's"
cmp -s "$(ls "$W"/straight/ckpt-*30.safetensors)" "$(ls "$W"/mixed/ckpt-*30.safetensors)"
[ $? -ne 0 ]
ok $? "(and the mixed final checkpoint is not bit-equal to the CPU one: bf16 steps happened)"

# Out of memory at start-up: the 1B model, 64 x 4096 tokens a micro-batch.
$TR --data "$W/bytes" --model gemma3-1b -o "$W/oom" --steps 1 --seq 4096 --micro-batch 64 \
	--batch-tokens 262144 --device cuda -q > "$W/oom.log" 2> "$W/oom.err"
rc=$?
sed 's/^/# /' "$W/oom.err"
[ $rc -eq 1 ] && grep -q "GiB" "$W/oom.err" && grep -q -- "--recompute" "$W/oom.err" &&
	! ls "$W/oom"/ckpt-* > /dev/null 2>&1
ok $? "out of memory at start-up: exit 1, the memory needed and a suggestion"

# A NaN step on the GPU stops the run and names the last checkpoint.
rm -rf "$W/nan"
BONSAI_TRAIN_FAULT_NAN=7 $TR $A -o "$W/nan" --device cuda --save-every 5 > /dev/null 2> "$W/nan.err"
rc=$?
sed 's/^/# /' "$W/nan.err"
[ $rc -eq 1 ] && grep -q "step 7" "$W/nan.err" && grep -q "ckpt-00000005" "$W/nan.err"
ok $? "NaN at step 7 on CUDA: exit 1, names ckpt-00000005"

# The default device is cuda when a GPU is present.
rm -rf "$W/default"
$TR $A -o "$W/default" --steps 2 > /dev/null 2> "$W/default.err"
grep -q "device NVIDIA" "$W/default.err"
ok $? "no --device: trains on the GPU ($(grep -o 'device .*' "$W/default.err"))"

# A kernel-choosing variable that names no kernel is an error, not the
# default: bad_choice VAR VALUE ONE_ACCEPTED_VALUE.
bad_choice() {
	rm -rf "$W/bad"
	env "$1=$2" $TR $A -o "$W/bad" --device cuda --steps 2 > /dev/null 2> "$W/bad.err"
	rc=$?
	sed 's/^/# /' "$W/bad.err"
	[ $rc -eq 1 ] && grep -q "$1=$2" "$W/bad.err" && grep -q "$3" "$W/bad.err" &&
		! ls "$W/bad"/ckpt-* > /dev/null 2>&1
	ok $? "$1=$2: exit 1, names the value and the accepted ones, no checkpoint"
}
bad_choice BONSAI_ATTN hoper hopper

# The MLP products: a BONSAI_MLP that names none is an error; the default
# (on sm_90a the fused wgmma kernels of product_geglu.cuh) repeats its bits
# and trains as cuBLASLt's products with the separate GeGLU kernels do.
bad_choice BONSAI_MLP fuse cublas
rm -rf "$W/mlp1" "$W/mlp2" "$W/mlpc"
$TR $A -o "$W/mlp1" --device cuda > "$W/mlp1.log" 2> "$W/err" &&
	$TR $A -o "$W/mlp2" --device cuda > "$W/mlp2.log" 2>> "$W/err" &&
	BONSAI_MLP=cublas $TR $A -o "$W/mlpc" --device cuda > "$W/mlpc.log" 2>> "$W/err"
rc=$?
cmp -s "$(ls "$W"/mlp1/ckpt-*30.safetensors)" "$(ls "$W"/mlp2/ckpt-*30.safetensors)"
ok $? "CUDA, 30 steps twice with the default MLP products: the same checkpoint bits"
worst=$(for s in 1 10 20 30; do
	echo "$(loss_of "$W/mlp1.log" $s) $(loss_of "$W/mlpc.log" $s)"
done | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { print m + 0 }')
echo "# largest |default - BONSAI_MLP=cublas| loss at steps 1..30: $worst"
[ $rc -eq 0 ] && awk -v w="$worst" 'BEGIN { exit !(w < 0.02) }'
ok $? "the default MLP products' losses stay within 0.02 nats of cuBLASLt's (exit $rc)"

# The products' algorithms timed and picked among those with the same bits
# (BONSAI_PRODUCTS=tuned): a value that names no choice is an error; a
# tuned run gives the default's checkpoint bits.
bad_choice BONSAI_PRODUCTS tune tuned
rm -rf "$W/tuned"
BONSAI_PRODUCTS=tuned $TR $A -o "$W/tuned" --device cuda > "$W/tuned.log" 2>> "$W/err"
rc=$?
[ $rc -eq 0 ] && cmp -s "$(ls "$W"/mlp1/ckpt-*30.safetensors)" "$(ls "$W"/tuned/ckpt-*30.safetensors)"
ok $? "BONSAI_PRODUCTS=tuned, 30 steps: the default's checkpoint bits (exit $rc)"

# Speed of the small preset through the CLI: 32 x 1024 tokens a step.
if [ ! -f "$W/rand/manifest.json" ]; then
	build/tests/tools/mkstream --random $((32768 * (STEPS + 2))) 1024 32768 > "$W/rand.stream" &&
		bin/bonsai-shard -q -o "$W/rand" "$W/rand.stream"
fi
rm -rf "$W/small"
$TR --data "$W/rand" --model small -o "$W/small" --steps "$STEPS" --seq 1024 --micro-batch 32 \
	--batch-tokens 32768 --warmup 5 --save-every 0 -q > "$W/small.log" 2> "$W/small.err"
rc=$?
tail -2 "$W/small.err" | sed 's/^/# /'
med=$(sed -n "6,\$p" "$W/small.log" | grep tokens_per_s | sed 's/.*"tokens_per_s":\([^,]*\),.*/\1/' |
	sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "# small preset through the CLI, B 32, T 1024: median $med tok/s over steps 6..$STEPS"
[ $rc -eq 0 ] && [ -n "$med" ]
ok $? "small preset trains through the CLI on the GPU"
done_testing
