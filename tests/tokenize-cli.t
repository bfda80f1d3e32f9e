#!/bin/sh
# bonsai-tokenize's command line: usage and exit codes, empty documents,
# BOS/EOS, a 1 MB document without a space, bytes that are not UTF-8, a
# stream from another tokenizer, broken input, zstd input.
. tests/tap.sh
TK=bin/bonsai-tokenize
S=$SHARED/fixtures/tokenizers
[ -f "$S/tiktoken/r50k_base.tiktoken" ] || skip_all "$S not found"
R=$S/tiktoken/r50k_base.tiktoken
C=$S/tiktoken/cl100k_base.tiktoken
tmp=$T

$TK --help > "$tmp/out"; ok $? "--help exits 0"
grep -q "encode" "$tmp/out"; ok $? "--help lists the commands"
$TK encode --help | grep -q -- "--no-bos"; ok $? "encode --help lists its options"
$TK > /dev/null 2>"$tmp/err"; [ $? -eq 2 ] && grep -q "train, encode, decode or info" "$tmp/err"
ok $? "no command: exit 2, naming every command (info was left out)"
$TK encode < /dev/null > /dev/null 2>&1; [ $? -eq 2 ]; ok $? "encode without -t: exit 2"
# a JSON Lines file saved with a UTF-8 byte order mark: the same tokens
printf '{"text":"hello world"}\n' > "$tmp/plain.jsonl"
printf '\357\273\277{"text":"hello world"}\n' > "$tmp/bom.jsonl"
$TK encode -t "$R" "$tmp/plain.jsonl" > "$tmp/plain.ts" && $TK encode -t "$R" "$tmp/bom.jsonl" > "$tmp/bom.ts" 2> "$tmp/err" &&
	cmp -s "$tmp/plain.ts" "$tmp/bom.ts"
ok $? "encode: a byte order mark before the first line is not a document's" || diag "$(head -n 2 "$tmp/err")"
$TK encode -t "$R" --bogus < /dev/null > /dev/null 2>&1; [ $? -eq 2 ]; ok $? "unknown option: exit 2"
$TK encode -t "$R" -j 0 < /dev/null > /dev/null 2>&1; [ $? -eq 2 ]; ok $? "-j 0: exit 2"
$TK --version | grep -q bonsai; ok $? "--version"

# empty documents: an empty line of ids; a frame holding only BOS
printf '{"text":""}\n{"text":"a"}\n' > "$tmp/empty.jsonl"
$TK encode --ids -t "$R" "$tmp/empty.jsonl" > "$tmp/ids"
[ "$(sed -n 1p "$tmp/ids")" = "" ] && [ "$(sed -n 2p "$tmp/ids")" = "64" ]
ok $? "empty document: an empty line of ids"
$TK encode -t "$R" -o "$tmp/s" "$tmp/empty.jsonl" &&
$TK decode -t "$R" --keep-special --raw "$tmp/s" > "$tmp/raw"
printf '<|endoftext|>\n<|endoftext|>a\n' | cmp -s - "$tmp/raw"
ok $? "the stream has BOS before each document, the empty one too"
$TK decode -t "$R" "$tmp/s" | cmp -s - "$tmp/empty.jsonl"
ok $? "decode drops the BOS that encode added and gives back the documents"
$TK encode -t "$R" --no-bos --eos -o "$tmp/s2" "$tmp/empty.jsonl" &&
$TK decode -t "$R" --keep-special --raw "$tmp/s2" > "$tmp/raw2"
printf '<|endoftext|>\na<|endoftext|>\n' | cmp -s - "$tmp/raw2"
ok $? "--no-bos --eos: EOS after each document instead"
$TK decode -t "$R" "$tmp/s2" | cmp -s - "$tmp/empty.jsonl"
ok $? "... and decode drops it again"
$TK encode --ids --eos -t "$R" < "$tmp/empty.jsonl" > /dev/null 2>&1; [ $? -eq 2 ]
ok $? "--ids with --eos is a usage error"
printf '\n  \n{"text":"b"}\n\n' | $TK encode --ids -t "$R" > "$tmp/ids"
[ "$(cat "$tmp/ids")" = "65" ]; ok $? "blank lines are not documents"

# a stream made with another tokenizer is refused
$TK decode -t "$C" "$tmp/s" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "another tokenizer" "$tmp/err"
ok $? "decode with the wrong tokenizer: exit 1, 'another tokenizer'"
head -c 60 "$tmp/s" > "$tmp/cut"
$TK decode -t "$R" "$tmp/cut" > /dev/null 2>&1; [ $? -eq 1 ]; ok $? "a stream cut short: exit 1"
printf '1 2 99999999\n' | $TK decode --ids -t "$R" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q ":1:" "$tmp/err"; ok $? "decode --ids: an id past the vocabulary names the line"
# an id beyond 32 bits is too large too (it was "not a list of token ids")
for id in 4294967296 123456789012345678901234567890; do
	printf '1 %s 2\n' $id | $TK decode --ids -t "$R" > /dev/null 2> "$tmp/err"; rc=$?
	[ $rc -eq 1 ] && grep -q "stdin:1: token id $id is not below the vocabulary size 50257" "$tmp/err"
	ok $? "decode --ids: id $id is past the vocabulary" || diag "exit $rc: $(cat "$tmp/err")"
done

# broken documents name file and line; nothing half-written remains
printf '{"text":"a"}\n{"text":\n' > "$tmp/bad.jsonl"
$TK encode -t "$R" -o "$tmp/never" "$tmp/bad.jsonl" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "bad.jsonl:2:" "$tmp/err" && [ ! -e "$tmp/never" ]
ok $? "bad JSON: exit 1, FILE:LINE, no output file"
printf '{"body":"a"}\n' | $TK encode -t "$R" --ids > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q '"text"' "$tmp/err"; ok $? "a document without text: exit 1"
printf '{"body":"a b"}\n' | $TK encode -t "$R" --ids --field body > "$tmp/ids"
[ "$(cat "$tmp/ids")" = "64 275" ]; ok $? "--field picks another member"

# bytes that are not UTF-8 are encoded as bytes and decode back exactly
printf '{"text":"ok\200 x\342\202 y\300\257 \377end"}\n' > "$tmp/bin.jsonl"
for tok in "$R" "$C" "$S/gemma3/tokenizer.json"; do
	$TK encode -t "$tok" "$tmp/bin.jsonl" | $TK decode -t "$tok" > "$tmp/bin.out"
	cmp -s "$tmp/bin.jsonl" "$tmp/bin.out"
	ok $? "not UTF-8 round-trips with $(basename "$tok")"
done

# 1 MB without a space: one piece of a million bytes, merged in n log n
awk 'BEGIN { srand(7); printf "{\"text\":\""; for (i = 0; i < 1048576; i++) printf "%c", 97 + int(rand() * 26); printf "\"}\n" }' > "$tmp/big.jsonl"
start=$(date +%s)
$TK encode -t "$C" "$tmp/big.jsonl" | $TK decode -t "$C" > "$tmp/big.out"
cmp -s "$tmp/big.jsonl" "$tmp/big.out"; ok $? "1 MB without a space round-trips"
[ $(( $(date +%s) - start )) -lt 60 ]; ok $? "... in well under a minute"

# zstd input
if command -v zstd > /dev/null; then
	zstd -q -c "$tmp/empty.jsonl" > "$tmp/empty.jsonl.zst"
	$TK encode --ids -t "$R" "$tmp/empty.jsonl" > "$tmp/a"
	$TK encode --ids -t "$R" "$tmp/empty.jsonl.zst" > "$tmp/b"
	cmp -s "$tmp/a" "$tmp/b"; ok $? "zstd-compressed input"
fi

# a .tiktoken file with another name needs its pattern
cp "$R" "$tmp/mine.tiktoken"
$TK encode --ids -t "$tmp/mine.tiktoken" < "$tmp/empty.jsonl" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q -- "--pattern" "$tmp/err"; ok $? "unknown .tiktoken without --pattern: exit 1, says --pattern"
$TK encode --ids -t "$tmp/mine.tiktoken" --pattern r50k_base < "$tmp/empty.jsonl" | cmp -s - "$tmp/a"
ok $? "--pattern r50k_base gives r50k_base's ids"
$TK encode --ids -t "$tmp/mine.tiktoken" --pattern '(\w+' < "$tmp/empty.jsonl" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "mine.tiktoken: .*does not compile" "$tmp/err"
ok $? "a --pattern that does not compile is refused, naming the file"
# An input that cannot be read fails before anything is written: the
# stream's header on stdout was left there, a partial stream
for bad in "$tmp/missing.jsonl" "$tmp"; do
	run $TK encode -t "$R" "$tmp/empty.jsonl" "$bad"
	[ "$rc" -eq 1 ] && [ ! -s "$T/out" ] && grep -q "^bonsai-tokenize: $bad: " "$T/err"
	ok $? "encode: $bad after a good input: exit 1, named, nothing on stdout" ||
		diag "exit $rc, $(wc -c < "$T/out") bytes out: $(head -n 2 "$T/err")"
done
run $TK encode --ids -t "$R" "$tmp/empty.jsonl" - < "$tmp/empty.jsonl"
[ "$rc" -eq 0 ] && [ "$(wc -l < "$T/out")" -eq 4 ]
ok $? "encode: - among the inputs is still stdin" || diag "exit $rc: $(head -n 2 "$T/err")"
# SIGINT or SIGTERM in the middle of encode -o: exit 1 saying so, and no
# temporary output left (killed by the signal, it was left behind)
awk 'BEGIN { for (i = 0; i < 40000; i++) printf "{\"text\":\"%0500d words %d\"}\n", i, i }' >"$tmp/many"
for sig in INT TERM; do
	rm -f "$tmp"/sig.bin*
	signal_mid_run $sig "$tmp/sig.bin.tmp.*" $TK encode -q -t "$R" -o "$tmp/sig.bin" "$tmp/many"
	[ "$rc" -eq 1 ] && grep -q "interrupted by signal" "$T/err" && [ -z "$(ls "$tmp"/sig.bin* 2>/dev/null)" ]
	ok $? "encode: SIG$sig during a run: exit 1, 'interrupted', no output or temporary file left" ||
		diag "exit $rc: $(ls "$tmp"/sig.bin* 2>/dev/null) $(head -n 2 "$T/err")"
done
rm -f "$tmp/many"
done_testing
