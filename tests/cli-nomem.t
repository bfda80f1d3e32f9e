#!/bin/sh
# The tools, their memory running out at any allocation of a small job (the
# k-th malloc/calloc/realloc of the process fails, whoever asked: ours,
# libc's, libgomp's; tests/preload/failalloc.c): each either still finishes
# with the same output, or exits 1 with a message; never a crash, another
# status, a half-written output or a temporary file left behind. Jobs with
# more than $MAXRUNS allocations are swept at evenly spaced k. Not here:
# bonsai-generate (its output is a stream on stdout, cut where it stops)
# and bonsai-report (it reads a whole make run folder).
. tests/tap.sh
SO=$BUILD/tests/preload/failalloc.so
F=$SHARED/fixtures
TOK=$F/tokenizers/tiktoken/r50k_base.tiktoken
MAXRUNS=${MAXRUNS:-150}
[ -f "$SO" ] || skip_all "$SO not built"
asan_build bin/bonsai-shard && skip_all "an AddressSanitizer build"
[ -f "$TOK" ] || skip_all "$TOK absent"
W=$T/w
export BONSAI_CACHE="$T/cache" OMP_NUM_THREADS=2

printf '{"text":"Hello world, this is a small test of the tool chain."}\n{"text":"A second document, a little longer than the first one was."}\n{"text":"third"}\n' > "$T/docs.jsonl"
bin/bonsai-tokenize encode -q -t "$TOK" -o "$T/docs.tok" "$T/docs.jsonl"
ok $? "a token stream to shard" || { done_testing; exit 1; }

# sweep NAME OUT SAME CMD...: CMD writes OUT (in $W); SAME=1: a run that
# finishes despite a failed allocation must give the reference's bytes.
sweep() {
	name=$1 out=$2 same=$3
	shift 3
	rm -rf "$W" "$T/ref"
	mkdir -p "$W"
	FAILALLOC_COUNT="$T/count" LD_PRELOAD="$SO" "$@" > /dev/null 2> "$T/err"
	if [ $? -ne 0 ] || [ ! -e "$out" ]; then
		ok 1 "$name: runs under the preloaded library"
		sed 's/^/#   /' "$T/err" | head -3
		return
	fi
	total=$(cat "$T/count")
	cp -r "$out" "$T/ref"
	step=$(((total + MAXRUNS - 1) / MAXRUNS))
	bad=0 k=0 runs=0 errors=0
	while [ "$k" -lt "$total" ]; do
		rm -rf "$W"
		mkdir -p "$W"
		FAILALLOC_NTH=$k LD_PRELOAD="$SO" "$@" > /dev/null 2> "$T/err"
		rc=$?
		runs=$((runs + 1))
		tmps=$(find "$W" -name '*.tmp*' -o -name '*tmp-*' | sed "s|^$W/||")
		why=
		if [ -n "$tmps" ]; then
			why="exit $rc leaving $tmps"
		elif [ $rc -eq 0 ]; then
			if [ ! -e "$out" ]; then
				why="exit 0 without its output"
			elif [ "$same" = 1 ] && ! diff -r "$T/ref" "$out" > /dev/null; then
				why="exit 0 with another output"
			fi
		elif [ $rc -eq 1 ]; then
			errors=$((errors + 1))
			# what it could not finish may come after a complete
			# output (a summary line on stdout): that output may
			# stay, whole
			if [ ! -s "$T/err" ]; then
				why="exit 1 without a message"
			elif [ -e "$out" ] && ! diff -r "$T/ref" "$out" > /dev/null; then
				why="exit 1 leaving a different $out"
			fi
		else
			why="exit $rc: $(tail -1 "$T/err")"
		fi
		if [ -n "$why" ]; then
			bad=$((bad + 1))
			[ $bad -le 3 ] && diag "allocation $k of $total: $why"
		fi
		k=$((k + step))
	done
	[ $bad -eq 0 ] && [ $errors -gt 0 ]
	ok $? "$name: $runs of its $total allocations made to fail: $errors clean errors, the rest the same output"
}

# the CUDA runtime's start-up registration crashes when its own allocation
# fails (NVIDIA's code, before main): tools linked with it are not swept
cuda_skip() {
	if ldd "bin/$1" 2>/dev/null | grep -q libcudart; then
		skip "bin/$1 is linked with the CUDA runtime"
		return 0
	fi
	return 1
}

sweep "bonsai-filter" "$W/f.jsonl" 1 bin/bonsai-filter -q -o "$W/f.jsonl" "$T/docs.jsonl"
sweep "bonsai-tokenize encode" "$W/t.tok" 1 bin/bonsai-tokenize encode -q -t "$TOK" -o "$W/t.tok" "$T/docs.jsonl"
sweep "bonsai-tokenize decode" "$W/d.jsonl" 1 bin/bonsai-tokenize decode -t "$TOK" -o "$W/d.jsonl" "$T/docs.tok"
sweep "bonsai-tokenize train" "$W/bpe.json" 1 bin/bonsai-tokenize train -q --vocab-size 270 -o "$W/bpe.json" \
	"$T/docs.jsonl"
sweep "bonsai-shard" "$W/sh" 1 bin/bonsai-shard -q -o "$W/sh" "$T/docs.tok"
if [ -f "$F/fineweb-edu/plain_uncompressed.parquet" ]; then
	sweep "bonsai-fetch (a local parquet file)" "$W/x.jsonl" 1 \
		bin/bonsai-fetch -q -o "$W/x.jsonl" "$F/fineweb-edu/plain_uncompressed.parquet"
else
	skip "no parquet fixture"
fi
if [ -f "$F/eval/piqa/valid.jsonl" ] && [ -f "$F/eval/lm_eval_tiny/model.safetensors" ]; then
	cuda_skip bonsai-eval ||
	sweep "bonsai-eval tasks" "$W/e.json" 0 bin/bonsai-eval tasks "piqa=$F/eval/piqa/valid.jsonl" \
		--limit 1 -m "$F/eval/lm_eval_tiny" -t "$TOK" -q -j 1 --device cpu -o "$W/e.json"
else
	skip "no evaluation fixtures"
fi
bin/bonsai-shard -q -o "$T/sh" --val-docs 1 "$T/docs.tok"
cuda_skip bonsai-train ||
sweep "bonsai-train (one step)" "$W/run/ckpt-00000001.safetensors" 0 bin/bonsai-train --data "$T/sh" --model tiny -o "$W/run" \
	--steps 1 --seq 4 --batch-tokens 8 --device cpu -q
bin/bonsai-train --data "$T/sh" --model tiny -o "$T/run" --steps 3 --seq 4 --batch-tokens 8 --device cpu \
	-q > "$T/metrics.jsonl" 2> /dev/null
sweep "bonsai-plot" "$W/p.svg" 1 bin/bonsai-plot -o "$W/p.svg" "$T/metrics.jsonl"
done_testing
