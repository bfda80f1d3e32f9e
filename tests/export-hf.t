#!/bin/sh
# The tokenizer travels with the data and the model: bonsai-shard -t keeps
# it with the shards, bonsai-train carries it into the run, and
# bonsai-train export writes the Hugging Face set that bonsai-eval and
# bonsai-generate load with -m alone. bf16 exports read back; a tokenizer
# that is not the shards' is refused; a failed export leaves nothing.
. tests/train-common.sh
need_shared
train_setup
GEMMA=$SHARED/fixtures/tokenizers/gemma3/tokenizer.json
TT=$SHARED/fixtures/tokenizers/tiktoken

head -c 20000 "$TS" | awk 'BEGIN { RS = "" } {
	gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\n/, "\\n")
	print "{\"text\":\"" $0 "\"}" }' > "$T/docs.jsonl"
bin/bonsai-tokenize train -q --vocab-size 400 -o "$T/tok.json" "$T/docs.jsonl" &&
	bin/bonsai-tokenize encode -q -t "$T/tok.json" -o "$T/stream" "$T/docs.jsonl" &&
	bin/bonsai-tokenize train -q --vocab-size 300 -o "$T/other.json" "$T/docs.jsonl"
ok $? "a BPE tokenizer trained and its token stream" || { done_testing; exit 1; }

run bin/bonsai-shard -q -t "$T/tok.json" -o "$T/data" --val-docs 5 "$T/stream"
[ $rc -eq 0 ] && cmp -s "$T/tok.json" "$T/data/tokenizer.json"
ok $? "bonsai-shard -t keeps the tokenizer with the shards" || diag "$(cat "$T/err")"
run bin/bonsai-shard -q -t "$T/other.json" -o "$T/wrong" "$T/stream"
fails_with 1 "other.json: another tokenizer \(fingerprint [0-9a-f]{16}\) than the one .*stream was made with \([0-9a-f]{16}\)" \
	"bonsai-shard -t with another tokenizer than the stream's is refused, both fingerprints named"
[ ! -e "$T/wrong" ] && [ -z "$(ls -d "$T"/wrong.tmp-* 2> /dev/null)" ]
ok $? "and leaves no shard folder"

write_small_config "$T/small.json" 400
TRAIN="--model $T/small.json --steps 30 --seq 32 --batch-tokens 256 --warmup 3 --device cpu -q"
run bin/bonsai-train --data "$T/data" $TRAIN -o "$T/run"
[ $rc -eq 0 ] && cmp -s "$T/tok.json" "$T/run/tokenizer.json"
ok $? "bonsai-train copies the shards' tokenizer into the run" || diag "$(cat "$T/err")"

run bin/bonsai-train export "$T/run" -o "$T/exp"
ok $rc "export RUN -o DIR" || diag "$(cat "$T/err")"
missing=
for f in config.json model.safetensors tokenizer.json tokenizer_config.json generation_config.json; do
	[ -s "$T/exp/$f" ] || missing="$missing $f"
done
[ -z "$missing" ]
ok $? "the export holds the Hugging Face set" || diag "missing:$missing"
cmp -s "$T/tok.json" "$T/exp/tokenizer.json"
ok $? "its tokenizer.json is the shards'"
# the ids of bos/eos/pad in config.json, as tokens of the tokenizer
id() { sed -n "s/.*\"$1_token_id\": *\([0-9]*\).*/\1/p" "$2"; }
tok_text() { bin/bonsai-tokenize decode -t "$T/tok.json" --ids --raw --keep-special <<EOF
$1
EOF
}
ids_ok=0
for s in bos eos pad; do
	want=$(id $s "$T/exp/config.json")
	[ -n "$want" ] && [ "$(id $s "$T/exp/generation_config.json")" = "$want" ] &&
		grep -q "\"${s}_token\": \"$(tok_text "$want")\"" "$T/exp/tokenizer_config.json" ||
		{ diag "$s: config $want"; ids_ok=1; }
done
! grep -q chat_template "$T/exp/tokenizer_config.json"
ok $((ids_ok + $?)) "tokenizer_config.json and generation_config.json name config.json's bos/eos/pad, no chat template"

# bonsai-eval and bonsai-generate find the tokenizer in the export
printf '%s\n' '{"context": "", "continuation": "First Citizen:\nBefore we proceed any further"}' > "$T/ll.jsonl"
run bin/bonsai-eval loglik "$T/ll.jsonl" -m "$T/exp" --device cpu -q
cp "$T/out" "$T/ll_exp"
ok $rc "eval loglik with only -m EXPORT" || diag "$(cat "$T/err")"
bin/bonsai-eval loglik "$T/ll.jsonl" -m "$T/run/ckpt-00000030.safetensors" -t "$T/tok.json" \
	--device cpu -q > "$T/ll_run" 2> "$T/err"
[ -s "$T/ll_exp" ] && cmp -s "$T/ll_exp" "$T/ll_run"
ok $? "the same log-likelihood as the checkpoint with -t" || diag "$(cat "$T/ll_exp" "$T/ll_run" "$T/err")"
G="-p ROMEO: -n 12 --temperature 0 --device cpu --ids -q"
run bin/bonsai-generate -m "$T/exp" $G
cp "$T/out" "$T/gen_exp"
bin/bonsai-generate -m "$T/run/ckpt-00000030.safetensors" -t "$T/tok.json" $G > "$T/gen_run" 2> /dev/null
[ $rc -eq 0 ] && [ -s "$T/gen_exp" ] && cmp -s "$T/gen_exp" "$T/gen_run"
ok $? "generate with only -m EXPORT: the checkpoint's greedy tokens" || diag "$(cat "$T/err")"
bin/bonsai-eval ppl -m "$T/exp" --data "$T/data" --device cpu -q > "$T/ppl32" 2> "$T/err"
ok $? "eval ppl -m EXPORT" || diag "$(cat "$T/err")"

# bf16: half the bytes, read back by our own tools; the bound on the loss:
# 1e-3 nats (bf16's 8-bit mantissa moves each weight by at most 2^-9
# relative; measured here about 1e-5)
run bin/bonsai-train export --dtype bf16 "$T/run" -o "$T/exp16"
ok $rc "export --dtype bf16" || diag "$(cat "$T/err")"
s32=$(wc -c < "$T/exp/model.safetensors") s16=$(wc -c < "$T/exp16/model.safetensors")
head -c 4096 "$T/exp16/model.safetensors" | grep -q '"BF16"' &&
	! head -c 4096 "$T/exp16/model.safetensors" | grep -q '"F32"' &&
	[ $((s16 * 2)) -lt $((s32 + 8192)) ] && [ $((s16 * 2)) -gt $((s32 - 8192)) ] &&
	grep -q '"dtype": "bfloat16"' "$T/exp16/config.json"
ok $? "its tensors are BF16 ($s16 bytes against $s32), config.json says bfloat16"
bin/bonsai-eval ppl -m "$T/exp16" --data "$T/data" --device cpu -q > "$T/ppl16" 2> "$T/err"
l32=$(sed -n 's/.*"loss": \([^,]*\),.*/\1/p' "$T/ppl32") l16=$(sed -n 's/.*"loss": \([^,]*\),.*/\1/p' "$T/ppl16")
[ -n "$l32" ] && [ -n "$l16" ] && [ "$l32" != "$l16" ] &&
	awk -v a="$l32" -v b="$l16" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-3) }'
ok $? "bf16 read back: loss $l16 within 1e-3 of fp32's $l32 (and not the same file)" ||
	diag "$(cat "$T/err")"

# the fingerprint of a run's tokenizer against the shards'
mkdir -p "$T/run2" && cp "$T/other.json" "$T/run2/tokenizer.json"
run bin/bonsai-train --data "$T/data" $TRAIN -o "$T/run2"
fails_with 1 "run2/tokenizer.json: another tokenizer \(fingerprint [0-9a-f]{16}\) than the shards in .*data" \
	"a run holding another tokenizer than its shards' is refused, both named"
[ -z "$(ls "$T/run2" | grep ckpt)" ]
ok $? "and trains nothing"
cp -r "$T/data" "$T/data3" && cp "$T/other.json" "$T/data3/tokenizer.json"
run bin/bonsai-train --data "$T/data3" $TRAIN -o "$T/run3"
fails_with 1 "data3/tokenizer.json: another tokenizer .* than the shards in .*data3" \
	"a shard folder whose tokenizer is not its shards' is refused"

# no partial export: a run whose tokenizer was swapped fails, leaving nothing
cp -r "$T/run" "$T/run4" && cp "$T/other.json" "$T/run4/tokenizer.json"
run bin/bonsai-train export "$T/run4" -o "$T/exp4"
fails_with 1 "run4/tokenizer.json: another tokenizer" "export refuses a tokenizer that is not the shards'"
[ ! -e "$T/exp4" ] && [ -z "$(ls -d "$T"/exp4.tmp-* 2> /dev/null)" ]
ok $? "and leaves no export folder, whole or partial"
run bin/bonsai-train export "$T/run" -o "$T/exp16"
fails_with 1 "exp16: already exists; use -f/--force" "an existing export is not overwritten without --force"
run bin/bonsai-train export -f "$T/run" -o "$T/exp16"
[ $rc -eq 0 ] && cmp -s "$T/exp/model.safetensors" "$T/exp16/model.safetensors" &&
	[ -z "$(ls -d "$T"/exp16.tmp-* 2> /dev/null)" ]
ok $? "--force replaces it whole" || diag "$(cat "$T/err")"

# a new set without -t does not keep the old set's tokenizer
run bin/bonsai-shard -q -f -o "$T/data3" --val-docs 5 "$T/stream"
[ $rc -eq 0 ] && [ ! -e "$T/data3/tokenizer.json" ]
ok $? "bonsai-shard --force without -t drops the old set's tokenizer" || diag "$(cat "$T/err")"

# tiktoken: kept under its own name (the name picks its pattern), with its .json
if [ -f "$TT/r50k_base.tiktoken" ]; then
	head -3 "$T/docs.jsonl" > "$T/few.jsonl"
	bin/bonsai-tokenize encode -q -t "$TT/r50k_base.tiktoken" -o "$T/s50k" "$T/few.jsonl" &&
		bin/bonsai-shard -q -t "$TT/r50k_base.tiktoken" -o "$T/d50k" --val-docs 1 "$T/s50k"
	ok $? "shards of r50k_base with -t" || diag "no shards"
	cmp -s "$TT/r50k_base.tiktoken" "$T/d50k/r50k_base.tiktoken" &&
		cmp -s "$TT/r50k_base.json" "$T/d50k/r50k_base.json"
	ok $? "the shard folder keeps r50k_base.tiktoken and its .json"
	write_small_config "$T/c50k.json" 50257
	bin/bonsai-train --data "$T/d50k" --model "$T/c50k.json" --steps 1 --seq 16 --batch-tokens 32 \
		--device cpu -q -o "$T/r50k" > /dev/null 2> "$T/err" &&
		bin/bonsai-train export "$T/r50k" -o "$T/e50k" 2>> "$T/err" &&
		cmp -s "$TT/r50k_base.tiktoken" "$T/e50k/r50k_base.tiktoken" &&
		[ -s "$T/e50k/tokenizer.json" ] && [ -s "$T/e50k/tokenizer_config.json" ]
	ok $? "the run and its export carry it, with a tokenizer.json and tokenizer_config.json for transformers" ||
		diag "$(cat "$T/err")"
	run bin/bonsai-eval loglik "$T/ll.jsonl" -m "$T/e50k" --device cpu -q
	ok $rc "eval loglik with only -m finds the .tiktoken" || diag "$(cat "$T/err")"
	echo note > "$T/d50k/NOTES"
	run bin/bonsai-shard -q -f -o "$T/d50k" --val-docs 1 "$T/s50k"
	[ $rc -eq 0 ] && [ ! -e "$T/d50k/r50k_base.tiktoken" ] && [ ! -e "$T/d50k/r50k_base.json" ] &&
		[ -f "$T/d50k/NOTES" ]
	ok $? "--force without -t drops the .tiktoken and its .json, keeps other files" ||
		diag "$(ls "$T/d50k") $(cat "$T/err")"
else
	skip "no r50k_base.tiktoken in $TT"
fi

# Gemma 3's tokenizer.json goes through as it is
if [ -f "$GEMMA" ]; then
	head -3 "$T/docs.jsonl" > "$T/few.jsonl"
	bin/bonsai-tokenize encode -q -t "$GEMMA" -o "$T/sg" "$T/few.jsonl" &&
		bin/bonsai-shard -q -t "$GEMMA" -o "$T/dg" --val-docs 1 "$T/sg" &&
		write_small_config "$T/cg.json" 262208 &&
		bin/bonsai-train --data "$T/dg" --model "$T/cg.json" --steps 1 --seq 16 --batch-tokens 16 \
			--device cpu -q -o "$T/rg" > /dev/null 2> "$T/err" &&
		bin/bonsai-train export --dtype bf16 "$T/rg" -o "$T/eg" 2>> "$T/err" &&
		cmp -s "$GEMMA" "$T/eg/tokenizer.json" &&
		grep -q '"bos_token": "<bos>"' "$T/eg/tokenizer_config.json"
	ok $? "Gemma 3's tokenizer.json is carried byte for byte into the export" ||
		diag "$(cat "$T/err")"
else
	skip "no Gemma 3 tokenizer at $GEMMA"
fi
done_testing
