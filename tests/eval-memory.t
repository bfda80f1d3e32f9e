#!/bin/sh
# Running out of memory on the CPU: the model library returns the error and
# bonsai-eval says what it needed and what to change, exits 1 and writes no
# output (the address space is capped, so the logits of a batch of
# --batch-tokens 1000000 cannot be allocated anywhere).
. tests/eval-common.sh
E=$F/eval
eval_setup "$M/model.safetensors" "$TOK" "$E/piqa/valid.jsonl"
asan_build bin/bonsai-eval && skip_all "an AddressSanitizer build cannot run with its address space capped"
run_capped 3000000 bin/bonsai-eval tasks "piqa=$E/piqa/valid.jsonl" --limit 500 -m "$M" -t "$TOK" -q -j 1 \
	--device cpu --batch-tokens 1000000 -o "$TMP/out.json"
fails_with 1 "out of memory for activations \([0-9]+ MB for B=[0-9]+ T=[0-9]+\); a smaller --batch-tokens" \
	"logits too large for memory: exit 1 naming the size and what to change"
[ ! -e "$TMP/out.json" ]
ok $? "no output written"
done_testing
