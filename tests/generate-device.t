#!/bin/sh
# bonsai-generate --device: cpu gives the ids of the default CPU run; cuda
# without a usable GPU (or in a build without CUDA) is a clear runtime
# error with nothing on stdout; a bad value is a usage error, from the
# option or from BONSAI_DEVICE. The GPU's output is checked against the
# CPU's on a GPU machine by tests/cuda/generate_gpu.sh.
. tests/tap.sh
need_shared
M=$SHARED/fixtures/eval/lm_eval_tiny
TOK=$SHARED/fixtures/tokenizers/tiktoken/r50k_base.tiktoken
G="bin/bonsai-generate -m $M -t $TOK -q -j 1 -p The --temperature 0 -n 8 --ids --no-echo"

bin/bonsai-generate --help | grep -q -- '--device D'; ok $? "--help names --device"
run $G --device tpu
fails_with 2 "cpu or cuda" "--device tpu: exit 2, naming the choices"
run env BONSAI_DEVICE=tpu $G
fails_with 2 "BONSAI_DEVICE" "BONSAI_DEVICE=tpu: exit 2, naming the variable"

$G --device cpu > "$T/cpu" && [ "$(wc -l < "$T/cpu")" -eq 8 ]
ok $? "--device cpu: 8 ids"

if $G --device cuda > /dev/null 2>&1; then
	echo "ok $((tap_n + 1)) # SKIP a usable GPU is present (tests/cuda/generate_gpu.sh checks it)"
	echo "ok $((tap_n + 2)) # SKIP a usable GPU is present"
	echo "ok $((tap_n + 3)) # SKIP a usable GPU is present"
	tap_n=$((tap_n + 3))
else
	run $G --device cuda
	fails_with 1 "--device cuda: " "--device cuda without a usable GPU: exit 1 with the reason"
	[ ! -s "$T/out" ]; ok $? "(and nothing on stdout)"
	env -u BONSAI_DEVICE $G > "$T/def" && cmp -s "$T/cpu" "$T/def"
	ok $? "without a GPU the default is the CPU, the same ids as --device cpu"
fi
done_testing
