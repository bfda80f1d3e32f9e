#!/bin/sh
# Running out of memory at the start of a CPU run: the model library returns
# the error and bonsai-train says what it needed and what to change, exits 1
# and leaves no checkpoint (the address space is capped, so the activations
# of a large micro-batch cannot be allocated anywhere).
. tests/train-common.sh
train_setup
asan_build bin/bonsai-train && skip_all "an AddressSanitizer build cannot run with its address space capped"
make_byte_shards "$T/data" 100000 5 > /dev/null 2>&1
ok $? "byte-level shards" || { done_testing; exit 1; }
run_capped 3000000 bin/bonsai-train --data "$T/data" --model tiny -o "$T/run" --steps 2 --seq 512 \
	--batch-tokens 2097152 --micro-batch 4096 --device cpu -q
fails_with 1 "out of memory for activations \([0-9]+ MB for B=4096 T=512\); a smaller --micro-batch" \
	"a micro-batch too large for memory: exit 1 naming the size and what to change"
ls "$T/run"/ckpt-* > /dev/null 2>&1
[ $? -ne 0 ]
ok $? "no checkpoint written"
done_testing
