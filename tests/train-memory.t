#!/bin/sh
# Running out of memory at the start of a CPU run: the model library returns
# the error and bonsai-train says what it needed and what to change, exits 1
# and leaves no checkpoint (the address space is capped, so the activations
# of a large micro-batch cannot be allocated anywhere). Once started, its
# steps allocate nothing, so it cannot run out of memory half-way: a run of
# 8 steps makes as many allocations as one of 2 (tests/preload/failalloc.c
# counts those of the whole process).
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

SO=$BUILD/tests/preload/failalloc.so
if [ -f "$SO" ]; then
	failed=
	for steps in 2 8; do
		rm -rf "$T/run"
		FAILALLOC_COUNT="$T/count-$steps" LD_PRELOAD="$SO" bin/bonsai-train --data "$T/data" \
			--model tiny -o "$T/run" --steps $steps --seq 64 --batch-tokens 1024 --micro-batch 8 \
			--save-every 0 --device cpu -q > /dev/null 2> "$T/err" &&
			[ -f "$T/run/ckpt-0000000$steps.safetensors" ] ||
			{ failed=1; diag "the run of $steps steps: $(cat "$T/err")"; }
	done
	n2=$(cat "$T/count-2" 2> /dev/null) n8=$(cat "$T/count-8" 2> /dev/null)
	[ -z "$failed" ] && [ -n "$n2" ] && [ "$n2" = "$n8" ]
	ok $? "steps 3 to 8 (2 micro-batches each) allocate nothing: $n2 allocations in a run of 2 steps, $n8 in one of 8"
else
	skip "$SO not built"
fi
done_testing
