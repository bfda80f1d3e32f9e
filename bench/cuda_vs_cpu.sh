#!/bin/sh
# cuda_vs_cpu.sh - the CUDA and CPU trainers side by side: the same model
# config, seed (so the same initial weights), shards and schedule, STEPS
# steps each through bin/bonsai-train; prints both loss curves' largest and
# mean absolute difference, and "ok" when every step's losses agree within
# TOL nats (default 0.05: bf16 products against fp32).
#   bench/cuda_vs_cpu.sh DATA_DIR [STEPS] [TOL]
D=$1
STEPS=${2:-200}
TOL=${3:-0.05}
W=$(mktemp -d /tmp/cuda-vs-cpu.XXXXXX)
trap 'rm -rf "$W"' EXIT
cat > "$W/model.json" <<JSON
{"model_type": "gemma3_text", "vocab_size": 512, "hidden_size": 64,
 "intermediate_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4,
 "num_key_value_heads": 2, "head_dim": 16, "sliding_window": 16,
 "max_position_embeddings": 512, "query_pre_attn_scalar": 16,
 "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]}
JSON
for dev in cpu cuda; do
	t0=$(date +%s)
	${TRAIN:-bin/bonsai-train} --data "$D" --model "$W/model.json" -o "$W/run-$dev" --steps "$STEPS" \
		--seq 64 --batch-tokens 1024 --lr 3e-3 --warmup 10 --save-every 0 --seed 7 \
		--device $dev -q > "$W/$dev.log" 2> "$W/$dev.err" || { echo "not ok - $dev run failed"; cat "$W/$dev.err"; exit 1; }
	t1=$(date +%s)
	echo "# $dev: $STEPS steps in $((t1 - t0)) s"
	sed 's/.*"loss":\([^,]*\),.*/\1/' "$W/$dev.log" > "$W/$dev.loss"
done
paste "$W/cpu.loss" "$W/cuda.loss" | awk -v tol="$TOL" -v n="$STEPS" '
	{ d = $1 - $2; if (d < 0) d = -d; if (d > m) { m = d; at = NR }; s += d; k++
	  if (NR == 1 || NR % 20 == 0) printf "#   step %4d  cpu %.4f  cuda %.4f\n", NR, $1, $2 }
	END { printf "# %d steps: max |cpu - cuda| %.4f (step %d), mean %.4f\n", k, m, at, s / k
	      if (k == n && m <= tol) print "ok - loss curves within " tol; else print "not ok - loss curves differ by " m " (tolerance " tol ")" }'
