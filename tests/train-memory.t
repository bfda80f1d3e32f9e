#!/bin/sh
# Running out of memory at the start of a CPU run: the model library returns
# the error and bonsai-train says what it needed and what to change, exits 1
# and leaves no checkpoint (the address space is capped with ulimit -v, so
# the activations of a large micro-batch cannot be allocated anywhere).
. tests/train-common.sh
train_setup
make_byte_shards "$T/data" 100000 5 > /dev/null 2>&1
ok $? "byte-level shards" || { done_testing; exit 1; }
# AddressSanitizer's shadow memory needs more address space than the cap
if grep -qa __asan_init bin/bonsai-train; then
	skip "an AddressSanitizer build cannot run under ulimit -v"
	done_testing
	exit 0
fi
(
	ulimit -v 3000000 || exit 99
	exec bin/bonsai-train --data "$T/data" --model tiny -o "$T/run" --steps 2 --seq 512 \
		--batch-tokens 2097152 --micro-batch 4096 --device cpu -q
) > "$T/out" 2> "$T/err"
rc=$?
if [ $rc -eq 99 ]; then
	skip "ulimit -v is not allowed here"
else
	fails_with 1 "out of memory for activations \([0-9]+ MB for B=4096 T=512\); a smaller --micro-batch" \
		"a micro-batch too large for memory: exit 1 naming the size and what to change"
	ls "$T/run"/ckpt-* > /dev/null 2>&1
	[ $? -ne 0 ]
	ok $? "no checkpoint written"
fi
done_testing
