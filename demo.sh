#!/bin/sh
# make demo: the whole chain on the test data in ../shared, sized for a
# laptop CPU (a few minutes on 2 cores): FineWeb-Edu parquet -> documents ->
# filtered -> our own BPE -> shards -> a tiny Gemma 3 trained from scratch ->
# perplexity, zero-shot PIQA and ARC-Easy, and a sample of its text.
# Everything lands in demo/ (DEMO_DIR); each stage's output is kept.
set -eu
SHARED=${BONSAI_SHARED:-../shared}
D=${DEMO_DIR:-demo}
STEPS=${DEMO_STEPS:-60}
# OpenMP threads sleep at barriers instead of spinning: much faster on a
# busy machine (see bonsai-train(1), ENVIRONMENT).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
F=$SHARED/fixtures
[ -d "$F" ] || { echo "demo: needs the test data in $SHARED (see its README.md)" >&2; exit 1; }
mkdir -p "$D"
step() { printf '\n== %s\n' "$*"; }

step "bonsai-fetch: two FineWeb-Edu parquet files (snappy/v1 and zstd/v2 pages) to JSON Lines"
bin/bonsai-fetch -q "$F"/fineweb-edu/sample/10BT/*.parquet --columns id,url,text,score,int_score,language_score \
	-o "$D/docs.jsonl"
wc -l <"$D/docs.jsonl" | sed 's/^/documents: /'

step "bonsai-filter: length and dedup rules, UTF-8 repair, NFC, no document holding a PIQA or ARC-Easy item"
bin/bonsai-filter --min-chars 300 --dedup --decontaminate "piqa=$F/eval/piqa,arc_easy=$F/eval/arc_easy" --stats "$D/filter-stats.json" -o "$D/clean.jsonl" "$D/docs.jsonl"
cat "$D/filter-stats.json"

step "bonsai-tokenize: train a 4096-token byte-level BPE, then encode"
bin/bonsai-tokenize train -v 4096 -o "$D/tok.json" "$D/clean.jsonl"
bin/bonsai-tokenize encode -t "$D/tok.json" "$D/clean.jsonl" |
	bin/bonsai-shard -o "$D/data" --force --tokens-per-shard 4M --val-fraction 0.02
bin/bonsai-shard verify "$D/data"

step "bonsai-train: a tiny Gemma 3 (1.3M parameters: 3 sliding-window layers + 1 global) for $STEPS steps"
rm -rf "$D/run"
bin/bonsai-train --data "$D/data" --model tiny -o "$D/run" --steps "$STEPS" --seq 128 \
	--batch-tokens 2048 --lr 3e-3 --warmup 10 --eval-every 20 --eval-tokens 16384 \
	--save-every "$STEPS" -q | tail -n 3

step "bonsai-eval: validation perplexity, zero-shot PIQA and ARC-Easy (first 200 items each)"
bin/bonsai-eval ppl -m "$D/run" --data "$D/data" --seq-len 128
bin/bonsai-eval tasks "piqa=$F/eval/piqa,arc_easy=$F/eval/arc_easy" -m "$D/run" -t "$D/tok.json" \
	--limit 200 -o "$D/results.json"
cat "$D/results.json"

step "bonsai-generate: the model continues a prompt"
bin/bonsai-generate -m "$D/run" -t "$D/tok.json" --prompt "The water cycle" -n 40 --seed 1 --temperature 0.8
echo
