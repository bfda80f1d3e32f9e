#!/bin/sh
# bonsai-train's manners: --help, --version, usage errors exit 2; --check.
. tests/tap.sh
bin/bonsai-train --help > "$T/out" && grep -q "^usage: bonsai-train" "$T/out"
ok $? "--help on stdout, exit 0"
bin/bonsai-train --version > "$T/out" && [ -s "$T/out" ]
ok $? "--version"
bin/bonsai-train 2> "$T/err"
[ $? -eq 2 ] && grep -q "data" "$T/err"
ok $? "no arguments: usage error"
bin/bonsai-train --data x --model tiny -o "$T/r" --steps 1 --schedule linear 2> "$T/err"
[ $? -eq 2 ] && grep -q "schedule" "$T/err"
ok $? "bad --schedule: exit 2"
bin/bonsai-train --data x --model tiny -o "$T/r" --steps 1 --seq 100 --batch-tokens 150 2> "$T/err"
[ $? -eq 2 ] && grep -q "multiple" "$T/err"
ok $? "--batch-tokens not a multiple of --seq: exit 2" || diag "$(cat "$T/err")"
bin/bonsai-train --data "$T/none" --model tiny -o "$T/r" --steps 1 2> "$T/err"
[ $? -eq 1 ] && grep -q "none" "$T/err"
ok $? "missing data directory: exit 1, named" || diag "$(cat "$T/err")"
bin/bonsai-train verify 2> "$T/err"
[ $? -eq 2 ]
ok $? "verify without a directory: exit 2"
BONSAI_DEVICE=tpu bin/bonsai-train --data x --model tiny -o "$T/r" --steps 1 2> "$T/err"
[ $? -eq 2 ] && grep -q "BONSAI_DEVICE: 'tpu'" "$T/err"
ok $? "BONSAI_DEVICE=tpu: exit 2, named" || diag "$(cat "$T/err")"
bin/bonsai-train --data x --model tiny -o "$T/r" --steps 1 --device tpu 2> "$T/err"
[ $? -eq 2 ] && grep -q "tpu" "$T/err"
ok $? "--device tpu: exit 2" || diag "$(cat "$T/err")"
echo "1 2 3" | $TOOLS/mkstream 10 | bin/bonsai-shard -q -o "$T/d" -n 2
bin/bonsai-train --data "$T/d" --model "$T/nosuch.json" -o "$T/r" --steps 1 2> "$T/err"
[ $? -eq 1 ] && grep -q "nosuch.json: neither a preset (tiny, .*small) nor a config.json file" "$T/err"
ok $? "--model neither a preset nor a file: says so, lists the presets" || diag "$(cat "$T/err")"
# A file where a folder goes: said so, not "FILE/manifest: ... Not a directory"
run bin/bonsai-train --data "$T/d/manifest" --model tiny -o "$T/r" --steps 1 --device cpu
fails_with 1 "^bonsai-train: $T/d/manifest: not a directory \(a shard folder made by bonsai-shard\)\$" "--data FILE: not a directory, a shard folder expected"
run bin/bonsai-train --data "$T/d" --model tiny -o "$T/d/manifest" --steps 1 --device cpu
fails_with 1 "^bonsai-train: $T/d/manifest: not a directory \(-o names the run's folder\)\$" "-o FILE: not a directory, the run's folder expected"
run bin/bonsai-train verify "$T/d/manifest"
fails_with 1 "^bonsai-train: $T/d/manifest: not a directory \(a model folder with config.json, model.safetensors and reference.safetensors\)\$" "verify FILE: not a directory, a model folder expected"
bin/bonsai-train --help | grep -q -- "--skip-nonfinite"
ok $? "--help names --skip-nonfinite"
bin/bonsai-train --data "$T/d" --model tiny -o "$T/r" --steps 1 --skip-nonfinite=yes 2> "$T/err"
[ $? -eq 2 ] && grep -q "skip-nonfinite" "$T/err"
ok $? "--skip-nonfinite=yes: exit 2, named" || diag "$(cat "$T/err")"
bin/bonsai-train verify "$T" --device tpu 2> "$T/err"
[ $? -eq 2 ] && grep -q -- "--device: 'tpu' is not cpu or cuda" "$T/err"
ok $? "verify --device tpu: exit 2, named" || diag "$(cat "$T/err")"
BONSAI_DEVICE=cpu bin/bonsai-train --data x --model tiny -o "$T/r" --steps 1 --device tpu 2> "$T/err"
[ $? -eq 2 ] && grep -q -- "--device: 'tpu'" "$T/err"
ok $? "--device tpu with BONSAI_DEVICE=cpu: the option is checked, exit 2" || diag "$(cat "$T/err")"

# --check: a fresh start's options, model and device, without the data
run bin/bonsai-train --check --data "$T/nodata" --model tiny -o "$T/nochk" --steps 60 --seq 128 \
	--batch-tokens 2k --device cpu
[ $rc -eq 0 ] && grep -qx "bonsai-train --check: model tiny, device cpu, 1 rank, 60 steps of 2048 tokens in sequences of 128" "$T/out" &&
	[ ! -e "$T/nochk" ] && [ ! -s "$T/err" ]
ok $? "--check: one line naming model, device and steps, exit 0, nothing written, --data not read" || diag "$(cat "$T/out" "$T/err")"
run bin/bonsai-train --check --data "$T/nodata" --model tinyy -o "$T/nochk" --steps 60 --device cpu
fails_with 1 "tinyy: neither a preset" "--check: a misspelt --model, as the run would say it"
run bin/bonsai-train --check --data "$T/nodata" --model tiny -o "$T/nochk" --steps 60 --device cpu \
	--gpus 3 --seq 128 --batch-tokens 512
fails_with 2 "4 sequences of 128: not a multiple of the 3 ranks" "--check --gpus 3: the batch checked against the ranks"
run bin/bonsai-train --check --data "$T/nodata" --model tiny -o "$T/nochk" --steps 60 --device cpu --init "$T/noinit"
fails_with 1 "^bonsai-train: --init .*noinit" "--check: an --init that is not there"
if command -v nvidia-smi > /dev/null && nvidia-smi -L > /dev/null 2>&1; then
	skip "a GPU answers here: --check --device cuda is tests/cuda/train_cli.sh's"
else
	run bin/bonsai-train --check --data "$T/nodata" --model tiny -o "$T/nochk" --steps 60 --device cuda
	fails_with 1 "built without CUDA|no usable GPU" "--check --device cuda without a usable GPU: exit 1, says why"
fi
[ ! -e "$T/nochk" ]
ok $? "and no failed check wrote RUN"

# A --warmup longer than --steps is clamped to the steps, as before, but no
# longer in silence; the default warmup (a tenth of the steps) never is
cat > "$T/c16.json" <<JSON
{"model_type": "gemma3_text", "vocab_size": 16, "hidden_size": 16,
 "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 1,
 "num_key_value_heads": 1, "head_dim": 16, "sliding_window": 4,
 "max_position_embeddings": 16, "query_pre_attn_scalar": 16,
 "layer_types": ["full_attention"]}
JSON
W="--data $T/d --model $T/c16.json --steps 2 --seq 2 --batch-tokens 2 --device cpu -q"
warm="bonsai-train: --warmup 2000 is longer than --steps 2: warming up over all 2 steps"
run bin/bonsai-train $W -o "$T/w1" --warmup 2000
[ $rc -eq 0 ] && [ "$(grep -cxF "$warm" "$T/err")" -eq 1 ] &&
	grep -q '"step":1,.*"lr":0.00015,' "$T/out" && grep -q '"step":2,.*"lr":0.0003,' "$T/out"
ok $? "--warmup 2000 of --steps 2: one warning, warms up over the 2 steps, exit 0" || diag "exit $rc: $(cat "$T/err")"
run bin/bonsai-train --check $W -o "$T/w2" --warmup 2000
[ $rc -eq 0 ] && grep -qxF "$warm" "$T/err"
ok $? "--check says it too" || diag "exit $rc: $(cat "$T/err")"
run bin/bonsai-train $W -o "$T/w3" --warmup 2
[ $rc -eq 0 ] && ! grep -q "warmup" "$T/err"
ok $? "--warmup equal to --steps: no warning" || diag "exit $rc: $(cat "$T/err")"
run bin/bonsai-train $W -o "$T/w4"
[ $rc -eq 0 ] && ! grep -q "warmup" "$T/err"
ok $? "the default warmup: no warning" || diag "exit $rc: $(cat "$T/err")"
done_testing
