#!/bin/sh
# microbatch_gpu.sh - on a GPU machine: without --micro-batch, bonsai-train
# --device cuda picks the micro-batch from the GPU's free memory (TAP; run
# by `make check-cuda`; skips without a GPU):
#   - the small preset at 32 x 1024 tokens a step runs 32 sequences a pass
#     when 80 GB or more are free (its estimate is about 19 GiB), and says
#     so with the estimate against the free memory;
#   - its losses equal, bit for bit, those of a run given that micro-batch;
#   - a model whose weights and AdamW state alone are over the free memory
#     stops before anything is made, suggesting --recompute or a smaller
#     --seq (and only the latter with --recompute).
#   tests/cuda/microbatch_gpu.sh [STEPS]
. tests/tap.sh
STEPS=${1:-5}
TR=${TRAIN:-bin/bonsai-train}
nvidia-smi -L 2>/dev/null | grep -q GPU || skip_all "no NVIDIA GPU here (nvidia-smi finds none)"

build/tests/tools/mkstream --random $((32768 * (STEPS + 2))) 1024 32768 > "$T/rand.stream" &&
	bin/bonsai-shard -q -o "$T/rand" "$T/rand.stream" || skip_all "could not make the shards"
A="--data $T/rand --model small --steps $STEPS --seq 1024 --batch-tokens 32768 --warmup 2
   --save-every 0 --device cuda -q"
chosen() { sed -n 's/.*: micro-batch \([0-9]*\) (chosen.*/\1/p' "$1"; }
free_gib() { sed -n 's/.* \([0-9.]*\) GiB free of .*/\1/p' "$1"; }
# the step lines without their timings
steps() { grep '"loss"' "$1" | sed 's/,"tokens_per_s".*//'; }

$TR $A -o "$T/auto" > "$T/auto.log" 2> "$T/auto.err"
rc=$?
grep -q "built without CUDA" "$T/auto.err" && skip_all "bin/bonsai-train was built without CUDA"
sed 's/^/# /' "$T/auto.err"
B=$(chosen "$T/auto.err")
free=$(free_gib "$T/auto.err")
[ $rc -eq 0 ] && [ -n "$B" ] && [ -n "$free" ] && [ "$(steps "$T/auto.log" | wc -l)" -eq "$STEPS" ]
ok $? "no --micro-batch: $STEPS steps, the line names the chosen micro-batch ($B) and the free memory ($free GiB)"

# 80 GB = 74.5 GiB
if [ -n "$free" ] && awk -v f="$free" 'BEGIN { exit !(f >= 74.5) }'; then
	[ "$B" = 32 ] && grep -q "micro-batch 32 (chosen.*), 1 accumulation step;" "$T/auto.err"
	ok $? "$free GiB free: micro-batch 32, 1 accumulation step (got ${B:-none})"
else
	skip "only ${free:-?} GiB free: the choice of 32 needs 80 GB"
fi
[ -n "$B" ] && [ $((32 % B)) -eq 0 ]
ok $? "the choice divides the 32 sequences of a step"

$TR $A -o "$T/given" --micro-batch "${B:-32}" > "$T/given.log" 2> "$T/given.err"
rc=$?
steps "$T/auto.log" > "$T/auto.steps"
steps "$T/given.log" > "$T/given.steps"
[ $rc -eq 0 ] && grep -q "micro-batch ${B:-32} (--micro-batch)" "$T/given.err" &&
	[ "$(wc -l < "$T/given.steps")" -eq "$STEPS" ] && cmp -s "$T/auto.steps" "$T/given.steps"
ok $? "--micro-batch ${B:-32} given: the same losses, learning rates and norms, bit for bit" ||
	diag "exit $rc" "$(diff "$T/auto.steps" "$T/given.steps" | head -6)"

# About 23 billion parameters: 18 bytes each on the GPU are over 380 GiB.
cat > "$T/huge.json" <<JSON
{"model_type": "gemma3_text", "vocab_size": 32768, "hidden_size": 8192,
 "intermediate_size": 32768, "num_hidden_layers": 24, "num_attention_heads": 64,
 "num_key_value_heads": 8, "head_dim": 128, "sliding_window": 512,
 "max_position_embeddings": 8192, "query_pre_attn_scalar": 128}
JSON
if [ -n "$free" ] && awk -v f="$free" 'BEGIN { exit !(f < 380) }'; then
	$TR $A -o "$T/huge" --model "$T/huge.json" > /dev/null 2> "$T/huge.err"
	rc=$?
	sed 's/^/# /' "$T/huge.err"
	[ $rc -eq 1 ] && grep -q "no micro-batch fits the GPU" "$T/huge.err" &&
		grep -q -- "--recompute" "$T/huge.err" && grep -q -- "--seq" "$T/huge.err" && [ ! -e "$T/huge" ]
	ok $? "a model over the free memory: exit 1 before the run directory is made, suggests --recompute, --seq"
	$TR $A -o "$T/huge" --model "$T/huge.json" --recompute > /dev/null 2> "$T/huge.err"
	rc=$?
	[ $rc -eq 1 ] && grep -q "no micro-batch fits the GPU" "$T/huge.err" &&
		! grep -q -- "--recompute" "$T/huge.err" && grep -q -- "--seq" "$T/huge.err"
	ok $? "the same with --recompute: suggests --seq, not --recompute"
else
	skip "${free:-?} GiB free: the 23B model might fit"
	skip "${free:-?} GiB free: the 23B model might fit"
fi
done_testing
