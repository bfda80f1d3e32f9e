#!/bin/sh
# bonsai-eval --device: cpu gives the numbers of the default CPU run bit for
# bit; cuda without a usable GPU (or in a build without CUDA) is a clear
# runtime error, exit 1; a bad value is a usage error. The GPU's numbers
# are checked on a GPU machine by tests/cuda/eval_gpu.sh.
. tests/eval-common.sh
eval_setup "$M/model.safetensors" "$TOK" "$F/eval/piqa/valid.jsonl"
EV="bin/bonsai-eval -m $M -t $TOK -q -j 1"
printf '{"context": "Question: How do I boil water?\\nAnswer:", "continuation": " Heat it."}\n' \
	> "$TMP/req.jsonl"

bin/bonsai-eval --help | grep -q -- '--device D'; ok $? "--help names --device"
$EV loglik "$TMP/req.jsonl" --device tpu 2>"$TMP/err"; [ $? -eq 2 ] && grep -q "cpu or cuda" "$TMP/err"
ok $? "--device tpu: exit 2, naming the choices"

$EV tasks "piqa=$F/eval/piqa" --limit 8 --device cpu -o "$TMP/r_cpu.json" --samples "$TMP/s_cpu" &&
grep -q '"device": "cpu"' "$TMP/r_cpu.json"
ok $? "--device cpu: runs, and the results say cpu"

if $EV loglik "$TMP/req.jsonl" --device cuda -o /dev/null 2>/dev/null; then
	# a GPU machine: the default is the GPU there, so only cpu is compared
	skip "a usable GPU is present (tests/cuda/eval_gpu.sh checks it)"
	skip "a usable GPU is present"
	skip "a usable GPU is present"
else
	$EV loglik "$TMP/req.jsonl" --device cuda -o "$TMP/none.jsonl" 2>"$TMP/err"
	rc=$?
	[ $rc -eq 1 ] && grep -q -- "--device cuda: " "$TMP/err" && [ ! -e "$TMP/none.jsonl" ]
	ok $? "--device cuda without a usable GPU: exit 1 with the reason, no output ($(head -c 120 "$TMP/err"))"
	env -u BONSAI_DEVICE $EV tasks "piqa=$F/eval/piqa" --limit 8 -o "$TMP/r_def.json" \
		--samples "$TMP/s_def" &&
	cmp -s "$TMP/s_cpu" "$TMP/s_def"
	ok $? "without a GPU the default is the CPU, the same bits as --device cpu"
	BONSAI_DEVICE=cuda $EV loglik "$TMP/req.jsonl" -o "$TMP/none.jsonl" 2>"$TMP/err"
	[ $? -eq 1 ] && [ ! -e "$TMP/none.jsonl" ]
	ok $? "BONSAI_DEVICE=cuda is --device cuda: exit 1 here"
fi
BONSAI_DEVICE=tpu $EV loglik "$TMP/req.jsonl" -o /dev/null 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "BONSAI_DEVICE" "$TMP/err"
ok $? "BONSAI_DEVICE=tpu: exit 2, naming the variable"
done_testing
