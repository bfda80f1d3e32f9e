#!/bin/sh
# Checkpoints: the header checksum covers the config, the training state and
# the tensor table, so a changed RoPE base, eps, data position or two swapped
# tensor names are refused by --resume; a checkpoint of the format before
# the header checksum (bonsai-checkpoint-1) is read with a warning.
. tests/tap.sh
. tests/train-common.sh

awk 'BEGIN { srand(7); for (d = 0; d < 40; d++) { line = ""; for (i = 0; i < 100; i++) line = line (i ? " " : "") int(rand() * 250); print line } }' |
	$TOOLS/mkstream 256 >"$T/stream"
bin/bonsai-shard -q -o "$T/d" --val-docs 2 "$T/stream" || echo "# setup failed"
write_small_config "$T/small.json"
A="--data $T/d --model $T/small.json --seq 16 --batch-tokens 32 --micro-batch 2 --device cpu -q"
run bin/bonsai-train $A --steps 2 -o "$T/r"
ck=$T/r/ckpt-00000002.safetensors
[ $rc -eq 0 ] && [ -f "$ck" ]; ok $? "a 2-step run writes a checkpoint"

# mutate RUN SED: a copy of the checkpoint in run directory RUN with its JSON
# header edited by SED (same length, so the file stays well-formed)
n=$(od -An -tu8 -N8 "$ck" | tr -d ' ')
mutate() {
	mkdir -p "$1"
	{ head -c 8 "$ck"; dd if="$ck" bs=1 skip=8 count="$n" 2>/dev/null | LC_ALL=C sed "$2"; tail -c +$((9 + n)) "$ck"; } \
		>"$1/ckpt-00000002.safetensors"
	cp "$T/r/config.json" "$1/"
}
resume() { run bin/bonsai-train $A --steps 3 --resume -o "$1"; }

mutate "$T/m0" 's/x/x/'
resume "$T/m0"
ok $rc "an unchanged copy resumes"

mutate "$T/m1" 's/\(sliding_attention\\": {[^}]*rope_theta\\": \)10000/\120000/'
cmp -s "$ck" "$T/m1/ckpt-00000002.safetensors"; [ $? -eq 1 ]; ok $? "(the local RoPE base was changed)"
resume "$T/m1"
fails_with 1 "m1/ckpt-00000002.safetensors: header checksum mismatch" "a changed local RoPE base is refused"

mutate "$T/m2" 's/rms_norm_eps\\": 9\.99999997e-07/rms_norm_eps\\": 9.99999997e-06/'
resume "$T/m2"
fails_with 1 "header checksum mismatch" "a changed rms_norm_eps is refused"

mutate "$T/m3" 's/index\\":4,/index\\":7,/'
resume "$T/m3"
fails_with 1 "header checksum mismatch" "a changed data position in the state is refused"

mutate "$T/m4" 's/"params"/"adam_X"/; s/"adam_m"/"params"/; s/"adam_X"/"adam_m"/'
resume "$T/m4"
fails_with 1 "header checksum mismatch" "params and adam_m swapped in the tensor table are refused"

run bin/bonsai-train export "$T/m1" -o "$T/x1"
fails_with 1 "header checksum mismatch" "export refuses it too"

# The format before the header checksum: "-2" -> "-1" and the key blanked
# out with as many spaces (whitespace between JSON tokens).
sp=$(printf '%37s' '')
mutate "$T/old" "s/bonsai-checkpoint-2/bonsai-checkpoint-1/; s/,\"header_checksum\":\"[0-9a-f]\{16\}\"/$sp/"
[ "$(wc -c <"$T/old/ckpt-00000002.safetensors")" -eq "$(wc -c <"$ck")" ] && ! grep -q header_checksum "$T/old/ckpt-00000002.safetensors"
ok $? "(a bonsai-checkpoint-1 file of the same size was made)"
resume "$T/old"
[ $rc -eq 0 ] && grep -q "older bonsai-train (bonsai-checkpoint-1), without a header checksum" "$T/err"
ok $? "a bonsai-checkpoint-1 checkpoint resumes, with a warning that its header is unchecked"
[ -f "$T/old/ckpt-00000003.safetensors" ] && run bin/bonsai-train $A --steps 4 --resume -o "$T/old" &&
	[ $rc -eq 0 ] && ! grep -q "older" "$T/err"
ok $? "the checkpoints it then writes have the header checksum (no warning)"

done_testing
