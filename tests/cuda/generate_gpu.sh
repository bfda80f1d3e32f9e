#!/bin/sh
# generate_gpu.sh - on a GPU machine: bonsai-generate --device cuda (the KV
# cache on the GPU) against --device cpu, greedy, and the tokens/s of each
# (TAP; run by `make check-cuda`).
#  - a model trained here on the GPU (tinyshakespeare, a 500-token BPE, 4
#    layers, window 16 and a global layer, grouped-query heads; a prompt of
#    84 tokens, then 600 more): every id equal;
#  - the random test models gemma3_tiny and lm_eval_tiny: their logits are
#    nearly flat, so bf16 picks the CPU's runner-up at the first near-tie
#    (2026-12-03, H200: after 48 and 43 ids, CPU top-2 gaps 0.011 and 0.0055
#    nats); the first MIN_SAME ids must agree;
#  - tokens/s of both devices, also on a random 'small' preset (129M).
. tests/tap.sh
need_shared
MIN_SAME=${MIN_SAME:-32}
TXT=$SHARED/fixtures/text/tinyshakespeare.txt
R=$SHARED/fixtures/tokenizers/tiktoken/r50k_base.tiktoken
P="First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. First Citizen: You are all resolved rather to die than to famish?"

speed() { sed -n 's/.*(\([0-9.]*\) tokens\/s).*/\1/p' "$1" | tail -1; }
# same NAME MODEL TOKENIZER N [CPU_N]: prints how many leading ids agree
same() {
	bin/bonsai-generate -m "$2" -t "$3" -p "$P" --ids --no-echo --temperature 0 --ignore-eos \
		-v -n "${5:-$4}" --device cpu > "$T/$1.cpu" 2> "$T/$1.cpu.err" &&
	bin/bonsai-generate -m "$2" -t "$3" -p "$P" --ids --no-echo --temperature 0 --ignore-eos \
		-v -n "$4" --device cuda > "$T/$1.gpu" 2> "$T/$1.gpu.err" || { echo -1; return; }
	echo "# $1: cpu $(speed "$T/$1.cpu.err") tokens/s, gpu $(speed "$T/$1.gpu.err") tokens/s" >&2
	head -n "${5:-$4}" "$T/$1.gpu" | paste -d' ' "$T/$1.cpu" - |
		awk '$1 == $2 { n++; next } { exit } END { print n + 0 }'
}

# the trained model
awk 'BEGIN { RS = "" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, " ");
	gsub(/\n/, "\\n"); print "{\"text\": \"" $0 "\"}" }' "$TXT" > "$T/ts.jsonl"
cat > "$T/tiny.json" <<JSON
{"model_type": "gemma3_text", "vocab_size": 512, "hidden_size": 128,
 "intermediate_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4,
 "num_key_value_heads": 2, "head_dim": 32, "sliding_window": 16,
 "max_position_embeddings": 1024, "query_pre_attn_scalar": 32,
 "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]}
JSON
bin/bonsai-tokenize train --vocab-size 500 -o "$T/tok.json" "$T/ts.jsonl" &&
	bin/bonsai-tokenize encode -t "$T/tok.json" "$T/ts.jsonl" > "$T/ts.stream" &&
	bin/bonsai-shard -q -o "$T/shards" --val-docs 50 "$T/ts.stream" &&
	bin/bonsai-train --data "$T/shards" --model "$T/tiny.json" -o "$T/run" --steps 300 \
		--seq 128 --batch-tokens 4096 --lr 3e-3 --warmup 20 --device cuda -q
ok $? "a tiny model trained on the GPU"
n=$(same trained "$T/run" "$T/tok.json" 600)
[ "$n" -eq 600 ]; ok $? "trained model: 600 greedy ids, GPU = CPU ($n equal)"
grep -q 'generating on NVIDIA' "$T/trained.gpu.err"; ok $? "--device cuda says it generates on the GPU"

for m in gemma3_tiny eval/lm_eval_tiny; do
	tok=$R
	[ $m = gemma3_tiny ] && tok=$T/tok.json
	n=$(same "${m##*/}" "$SHARED/fixtures/$m" "$tok" 400)
	[ "$n" -ge "$MIN_SAME" ]; ok $? "${m##*/} (random weights): the first $n greedy ids equal (at least $MIN_SAME)"
done

build/tests/tools/g3_random_model small 50257 "$T/small" > /dev/null &&
	n=$(same small "$T/small" "$R" 512 32) && [ "$n" -ge 0 ]
ok $? "random small preset (129M): generates on both devices"
done_testing
