#!/bin/sh
# The 324 reference cases through the command line: encode --ids must give
# every id that Hugging Face tokenizers (gemma3) and tiktoken (r50k_base,
# cl100k_base, o200k_base) give; -j 2 must give the same; the token stream
# decoded and encoded again must give the same ids.
T=bin/bonsai-tokenize
S=${BONSAI_SHARED:-../shared}/fixtures/tokenizers
if [ ! -f "$S/cases.jsonl" ]; then
	echo "1..0 # SKIP $S/cases.jsonl not found"
	exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

for name in gemma3 r50k_base cl100k_base o200k_base; do
	if [ $name = gemma3 ]; then tok=$S/gemma3/tokenizer.json; else tok=$S/tiktoken/$name.tiktoken; fi
	# the reference ids: the "NAME":[...] member of each line (the text comes
	# first in each line and quotes inside it are escaped, so this is the key)
	sed -E "s/.*\"$name\":\[([0-9,]*)\].*/\1/; s/,/ /g" "$S/cases.jsonl" > "$tmp/want"
	$T encode --ids -t "$tok" "$S/cases.jsonl" > "$tmp/got" 2> "$tmp/err"
	t $? "$name: encode --ids runs"
	lines=$(wc -l < "$tmp/want")
	bad=$(paste -d '|' "$tmp/got" "$tmp/want" | awk -F'|' '$1 != $2' | wc -l)
	[ "$lines" -eq 324 ] && [ "$bad" -eq 0 ] && [ "$(wc -l < "$tmp/got")" -eq 324 ]
	t $? "$name: all 324 cases give the reference ids ($bad differ)"
	$T encode --ids -j 2 -t "$tok" "$S/cases.jsonl" > "$tmp/got2"
	cmp -s "$tmp/got" "$tmp/got2"
	t $? "$name: -j 2 gives the same output"
	$T encode -q -t "$tok" -o "$tmp/stream" "$S/cases.jsonl" &&
	$T decode -t "$tok" -o "$tmp/dec.jsonl" "$tmp/stream" &&
	$T encode --ids -t "$tok" "$tmp/dec.jsonl" > "$tmp/again"
	cmp -s "$tmp/got" "$tmp/again"
	t $? "$name: stream -> decode -> encode gives the same ids"
	$T decode --ids -t "$tok" "$tmp/want" > "$tmp/dec2.jsonl"
	cmp -s "$tmp/dec.jsonl" "$tmp/dec2.jsonl"
	t $? "$name: decode of the stream equals decode --ids of the reference ids"
done
echo "1..$n"
