#!/bin/sh
# bonsai-train checks every shard (payload checksum, token ids) when a run
# starts or resumes: a damaged shard stops it before the first step, naming
# the shard and where the damage is.
. tests/tap.sh
. tests/train-common.sh

awk 'BEGIN { srand(7); for (d = 0; d < 40; d++) { line = ""; for (i = 0; i < 100; i++) line = line (i ? " " : "") int(rand() * 250); print line } }' >"$T/ids"
$TOOLS/mkstream 256 <"$T/ids" >"$T/stream"
bin/bonsai-shard -q -o "$T/good" -n 1000 --val-docs 4 "$T/stream" || echo "# setup failed"
write_small_config "$T/small.json"
A="--model $T/small.json --steps 2 --seq 16 --batch-tokens 32 --micro-batch 2 --device cpu -q"

run bin/bonsai-train --data "$T/good" $A -o "$T/r0"
ok $rc "the undamaged set trains"

# byte 128 + 2*10 + 0 is the low byte of token 10 of train_000001: one bit
# flipped keeps the id inside the vocabulary (all ids are below 250)
cp -r "$T/good" "$T/flip"
b=$(od -An -tu1 -j148 -N1 "$T/flip/train_000001.bin" | tr -d ' ')
printf "\\$(printf %03o $((b ^ 1)))" | dd of="$T/flip/train_000001.bin" bs=1 seek=148 conv=notrunc 2>/dev/null
run bin/bonsai-train --data "$T/flip" $A -o "$T/r1"
fails_with 1 "flip/train_000001.bin: checksum mismatch" "a flipped bit with a valid id is refused at start, naming the shard"
[ ! -e "$T/r1/ckpt-00000002.safetensors" ] && ! grep -q '"loss"' "$T/out"
ok $? "no step was trained on it"

# the high byte of token 20 of val_000000 set: an id far outside the vocabulary
cp -r "$T/good" "$T/oob"
printf '\360' | dd of="$T/oob/val_000000.bin" bs=1 seek=169 conv=notrunc 2>/dev/null
run bin/bonsai-train --data "$T/oob" $A -o "$T/r2"
fails_with 1 "oob/val_000000.bin: checksum mismatch.*token 20 at byte offset 168 has id [0-9]+, not below the vocabulary size 256" \
	"an out-of-range id names the shard, the token and its byte offset"

# A resume checks the shards again.
run bin/bonsai-train --data "$T/good" $A --save-every 1 --stop-at 1 -o "$T/r3"
[ $rc -eq 0 ] && [ -e "$T/r3/ckpt-00000001.safetensors" ]; ok $? "a run stopped after step 1"
cp "$T/flip/train_000001.bin" "$T/good/train_000001.bin"
run bin/bonsai-train --data "$T/good" $A --resume -o "$T/r3"
fails_with 1 "good/train_000001.bin: checksum mismatch" "--resume refuses a shard damaged since"

done_testing
