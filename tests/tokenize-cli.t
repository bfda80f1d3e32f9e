#!/bin/sh
# bonsai-tokenize's command line: usage and exit codes, empty documents,
# BOS/EOS, a 1 MB document without a space, bytes that are not UTF-8, a
# stream from another tokenizer, broken input, zstd input.
T=bin/bonsai-tokenize
S=${BONSAI_SHARED:-../shared}/fixtures/tokenizers
if [ ! -f "$S/tiktoken/r50k_base.tiktoken" ]; then
	echo "1..0 # SKIP $S not found"
	exit 0
fi
R=$S/tiktoken/r50k_base.tiktoken
C=$S/tiktoken/cl100k_base.tiktoken
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

$T --help > "$tmp/out"; t $? "--help exits 0"
grep -q "encode" "$tmp/out"; t $? "--help lists the commands"
$T encode --help | grep -q -- "--no-bos"; t $? "encode --help lists its options"
$T > /dev/null 2>&1; [ $? -eq 2 ]; t $? "no command: exit 2"
$T encode < /dev/null > /dev/null 2>&1; [ $? -eq 2 ]; t $? "encode without -t: exit 2"
$T encode -t "$R" --bogus < /dev/null > /dev/null 2>&1; [ $? -eq 2 ]; t $? "unknown option: exit 2"
$T encode -t "$R" -j 0 < /dev/null > /dev/null 2>&1; [ $? -eq 2 ]; t $? "-j 0: exit 2"
$T --version | grep -q bonsai; t $? "--version"

# empty documents: an empty line of ids; a frame holding only BOS
printf '{"text":""}\n{"text":"a"}\n' > "$tmp/empty.jsonl"
$T encode --ids -t "$R" "$tmp/empty.jsonl" > "$tmp/ids"
[ "$(sed -n 1p "$tmp/ids")" = "" ] && [ "$(sed -n 2p "$tmp/ids")" = "64" ]
t $? "empty document: an empty line of ids"
$T encode -t "$R" -o "$tmp/s" "$tmp/empty.jsonl" &&
$T decode -t "$R" --keep-special --raw "$tmp/s" > "$tmp/raw"
printf '<|endoftext|>\n<|endoftext|>a\n' | cmp -s - "$tmp/raw"
t $? "the stream has BOS before each document, the empty one too"
$T decode -t "$R" "$tmp/s" | cmp -s - "$tmp/empty.jsonl"
t $? "decode drops the BOS that encode added and gives back the documents"
$T encode -t "$R" --no-bos --eos -o "$tmp/s2" "$tmp/empty.jsonl" &&
$T decode -t "$R" --keep-special --raw "$tmp/s2" > "$tmp/raw2"
printf '<|endoftext|>\na<|endoftext|>\n' | cmp -s - "$tmp/raw2"
t $? "--no-bos --eos: EOS after each document instead"
$T decode -t "$R" "$tmp/s2" | cmp -s - "$tmp/empty.jsonl"
t $? "... and decode drops it again"
$T encode --ids --eos -t "$R" < "$tmp/empty.jsonl" > /dev/null 2>&1; [ $? -eq 2 ]
t $? "--ids with --eos is a usage error"
printf '\n  \n{"text":"b"}\n\n' | $T encode --ids -t "$R" > "$tmp/ids"
[ "$(cat "$tmp/ids")" = "65" ]; t $? "blank lines are not documents"

# a stream made with another tokenizer is refused
$T decode -t "$C" "$tmp/s" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "another tokenizer" "$tmp/err"
t $? "decode with the wrong tokenizer: exit 1, 'another tokenizer'"
head -c 60 "$tmp/s" > "$tmp/cut"
$T decode -t "$R" "$tmp/cut" > /dev/null 2>&1; [ $? -eq 1 ]; t $? "a stream cut short: exit 1"
printf '1 2 99999999\n' | $T decode --ids -t "$R" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q ":1:" "$tmp/err"; t $? "decode --ids: an id past the vocabulary names the line"

# broken documents name file and line; nothing half-written remains
printf '{"text":"a"}\n{"text":\n' > "$tmp/bad.jsonl"
$T encode -t "$R" -o "$tmp/never" "$tmp/bad.jsonl" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "bad.jsonl:2:" "$tmp/err" && [ ! -e "$tmp/never" ]
t $? "bad JSON: exit 1, FILE:LINE, no output file"
printf '{"body":"a"}\n' | $T encode -t "$R" --ids > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q '"text"' "$tmp/err"; t $? "a document without text: exit 1"
printf '{"body":"a b"}\n' | $T encode -t "$R" --ids --field body > "$tmp/ids"
[ "$(cat "$tmp/ids")" = "64 275" ]; t $? "--field picks another member"

# bytes that are not UTF-8 are encoded as bytes and decode back exactly
printf '{"text":"ok\200 x\342\202 y\300\257 \377end"}\n' > "$tmp/bin.jsonl"
for tok in "$R" "$C" "$S/gemma3/tokenizer.json"; do
	$T encode -t "$tok" "$tmp/bin.jsonl" | $T decode -t "$tok" > "$tmp/bin.out"
	cmp -s "$tmp/bin.jsonl" "$tmp/bin.out"
	t $? "not UTF-8 round-trips with $(basename "$tok")"
done

# 1 MB without a space: one piece of a million bytes, merged in n log n
awk 'BEGIN { srand(7); printf "{\"text\":\""; for (i = 0; i < 1048576; i++) printf "%c", 97 + int(rand() * 26); printf "\"}\n" }' > "$tmp/big.jsonl"
start=$(date +%s)
$T encode -t "$C" "$tmp/big.jsonl" | $T decode -t "$C" > "$tmp/big.out"
cmp -s "$tmp/big.jsonl" "$tmp/big.out"; t $? "1 MB without a space round-trips"
[ $(( $(date +%s) - start )) -lt 60 ]; t $? "... in well under a minute"

# zstd input
if command -v zstd > /dev/null; then
	zstd -q -c "$tmp/empty.jsonl" > "$tmp/empty.jsonl.zst"
	$T encode --ids -t "$R" "$tmp/empty.jsonl" > "$tmp/a"
	$T encode --ids -t "$R" "$tmp/empty.jsonl.zst" > "$tmp/b"
	cmp -s "$tmp/a" "$tmp/b"; t $? "zstd-compressed input"
fi

# a .tiktoken file with another name needs its pattern
cp "$R" "$tmp/mine.tiktoken"
$T encode --ids -t "$tmp/mine.tiktoken" < "$tmp/empty.jsonl" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q -- "--pattern" "$tmp/err"; t $? "unknown .tiktoken without --pattern: exit 1, says --pattern"
$T encode --ids -t "$tmp/mine.tiktoken" --pattern r50k_base < "$tmp/empty.jsonl" | cmp -s - "$tmp/a"
t $? "--pattern r50k_base gives r50k_base's ids"
$T encode --ids -t "$tmp/mine.tiktoken" --pattern '\w+' < "$tmp/empty.jsonl" > /dev/null 2>&1; [ $? -eq 1 ]
t $? "an unsupported --pattern is refused"
echo "1..$n"
