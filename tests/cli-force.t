#!/bin/sh
# -f/--force means the same in every tool that writes an output named on
# its command line: an output that already exists is refused before any
# work (exit 1, a message naming it and -f/--force) and left as it was;
# with -f it is replaced; standard output and /dev/null need no -f.
. tests/tap.sh
need_shared
F=$SHARED/fixtures
R=$F/tokenizers/tiktoken/r50k_base.tiktoken
PQ=$(ls "$F"/fineweb-edu/sample/10BT/*.parquet | head -n 1)

# refused_then_forced NAME OUT CMD...: CMD writes OUT; with OUT there, CMD
# is refused and OUT kept; CMD -f replaces it.
refused_then_forced() {
	name=$1 out=$2
	shift 2
	echo old >"$out"
	run "$@"
	[ "$rc" -eq 1 ] && grep -q "^bonsai-[a-z]*: $out: already exists; use -f/--force to replace it\$" "$T/err" &&
		[ "$(cat "$out")" = old ]
	ok $? "$name: an existing $(basename "$out") is refused and kept" || diag "exit $rc: $(cat "$T/err")"
	run "$@" -f
	[ "$rc" -eq 0 ] && [ -s "$out" ] && [ "$(cat "$out")" != old ]
	ok $? "$name -f: it is replaced" || diag "exit $rc: $(cat "$T/err")"
}

for i in 1 2 3 4 5 6 7 8; do
	printf '{"id": %d, "text": "document %d: some words, more words and other words"}\n' $i $i
done >"$T/docs.jsonl"
bin/bonsai-tokenize train -q --vocab-size 300 -o "$T/tok.json" "$T/docs.jsonl"
bin/bonsai-tokenize encode -q -t "$T/tok.json" -o "$T/docs.ts" "$T/docs.jsonl"
printf '{"context": "The cat", "continuation": " sat"}\n' >"$T/req.jsonl"
printf '{"step":1,"tokens":512,"loss":5.0,"lr":0.001,"grad_norm":1,"tokens_per_s":100,"ms":5}\n{"step":2,"tokens":1024,"loss":4.0,"lr":0.001,"grad_norm":1,"tokens_per_s":100,"ms":5}\n' >"$T/metrics.jsonl"

refused_then_forced "bonsai-fetch" "$T/fetched.jsonl" bin/bonsai-fetch -q -n 2 -o "$T/fetched.jsonl" "$PQ"
refused_then_forced "bonsai-filter -o" "$T/clean.jsonl" bin/bonsai-filter -q -o "$T/clean.jsonl" "$T/docs.jsonl"
refused_then_forced "bonsai-filter --stats" "$T/stats.json" bin/bonsai-filter -q --stats "$T/stats.json" -o /dev/null "$T/docs.jsonl"
refused_then_forced "bonsai-tokenize train" "$T/tok2.json" \
	bin/bonsai-tokenize train -q --vocab-size 300 -o "$T/tok2.json" "$T/docs.jsonl"
refused_then_forced "bonsai-tokenize encode" "$T/docs2.ts" \
	bin/bonsai-tokenize encode -q -t "$T/tok.json" -o "$T/docs2.ts" "$T/docs.jsonl"
refused_then_forced "bonsai-tokenize decode" "$T/back.jsonl" \
	bin/bonsai-tokenize decode -t "$T/tok.json" -o "$T/back.jsonl" "$T/docs.ts"
refused_then_forced "bonsai-eval -o" "$T/ll.jsonl" \
	bin/bonsai-eval loglik "$T/req.jsonl" -q -m "$F/eval/lm_eval_tiny" -t "$R" --device cpu -o "$T/ll.jsonl"
refused_then_forced "bonsai-plot" "$T/plot.svg" bin/bonsai-plot -o "$T/plot.svg" "$T/metrics.jsonl"
# bonsai-train export: the folder (not empty) is the output
mkdir -p "$T/export"
echo old >"$T/export/config.json"
run bin/bonsai-train export "$F/gemma3_tiny" -o "$T/export"
[ "$rc" -eq 1 ] && grep -q "^bonsai-train: $T/export: already exists; use -f/--force to replace it\$" "$T/err" &&
	[ "$(cat "$T/export/config.json")" = old ]
ok $? "bonsai-train export: an existing folder is refused and kept" || diag "exit $rc: $(cat "$T/err")"
run bin/bonsai-train export "$F/gemma3_tiny" -o "$T/export" -f
[ "$rc" -eq 0 ] && [ "$(cat "$T/export/config.json")" != old ]
ok $? "bonsai-train export -f: it is replaced" || diag "exit $rc: $(cat "$T/err")"

# bonsai-report and bonsai-eval --samples: refused before any input is read
mkdir -p "$T/run"
echo old >"$T/report.md"
run bin/bonsai-report -o "$T/report.md" "$T/run"
[ "$rc" -eq 1 ] && grep -q "report.md: already exists; use -f/--force" "$T/err" && [ "$(cat "$T/report.md")" = old ]
ok $? "bonsai-report: an existing output is refused and kept" || diag "exit $rc: $(cat "$T/err")"
echo old >"$T/samples.jsonl"
run bin/bonsai-eval tasks piqa -m "$T/none" --samples "$T/samples.jsonl"
[ "$rc" -eq 1 ] && grep -q "samples.jsonl: already exists; use -f/--force" "$T/err"
ok $? "bonsai-eval --samples: an existing file is refused" || diag "exit $rc: $(cat "$T/err")"

# bonsai-shard's folder, as before, with the same words
bin/bonsai-shard -q -o "$T/shards" "$T/docs.ts"
run bin/bonsai-shard -q -o "$T/shards" "$T/docs.ts"
[ "$rc" -eq 1 ] && grep -q "already holds shards.*use -f/--force" "$T/err"
ok $? "bonsai-shard: a folder with shards is refused" || diag "exit $rc: $(cat "$T/err")"
run bin/bonsai-shard -q -f -o "$T/shards" "$T/docs.ts"
ok $rc "bonsai-shard -f: replaced"

# What is not a regular file is written without -f.
run bin/bonsai-filter -q -o /dev/null "$T/docs.jsonl"
ok $rc "-o /dev/null needs no -f"
run bin/bonsai-filter -q -o - "$T/docs.jsonl"
[ "$rc" -eq 0 ] && [ -s "$T/out" ]
ok $? "-o - (standard output) needs no -f"

# Every tool whose --help lists -o FILE lists -f, --force too.
for cmd in fetch filter "tokenize train" "tokenize encode" "tokenize decode" eval plot report shard "train export"; do
	bin/bonsai-$cmd --help >"$T/help"
	grep -q -- "-o, --output\|-o DIR\|\[-o FILE" "$T/help" && grep -q -- "-f, --force" "$T/help"
	ok $? "bonsai-$cmd --help: -f, --force next to -o"
done

done_testing
