#!/bin/sh
# The 324 reference cases through the command line: encode --ids must give
# every id that Hugging Face tokenizers (gemma3) and tiktoken (r50k_base,
# cl100k_base, o200k_base) give; -j 2 must give the same; the token stream
# decoded and encoded again must give the same ids.
. tests/tap.sh
TK=bin/bonsai-tokenize
S=$SHARED/fixtures/tokenizers
[ -f "$S/cases.jsonl" ] || skip_all "$S/cases.jsonl not found"
tmp=$T

for name in gemma3 r50k_base cl100k_base o200k_base; do
	if [ $name = gemma3 ]; then tok=$S/gemma3/tokenizer.json; else tok=$S/tiktoken/$name.tiktoken; fi
	# the reference ids: the "NAME":[...] member of each line (the text comes
	# first in each line and quotes inside it are escaped, so this is the key)
	sed -E "s/.*\"$name\":\[([0-9,]*)\].*/\1/; s/,/ /g" "$S/cases.jsonl" > "$tmp/want"
	$TK encode --ids -t "$tok" "$S/cases.jsonl" > "$tmp/got" 2> "$tmp/err"
	ok $? "$name: encode --ids runs"
	lines=$(wc -l < "$tmp/want")
	bad=$(paste -d '|' "$tmp/got" "$tmp/want" | awk -F'|' '$1 != $2' | wc -l)
	[ "$lines" -eq 324 ] && [ "$bad" -eq 0 ] && [ "$(wc -l < "$tmp/got")" -eq 324 ]
	ok $? "$name: all 324 cases give the reference ids ($bad differ)"
	$TK encode --ids -j 2 -t "$tok" "$S/cases.jsonl" > "$tmp/got2"
	cmp -s "$tmp/got" "$tmp/got2"
	ok $? "$name: -j 2 gives the same output"
	$TK encode -q -f -t "$tok" -o "$tmp/stream" "$S/cases.jsonl" &&
	$TK decode -f -t "$tok" -o "$tmp/dec.jsonl" "$tmp/stream" &&
	$TK encode --ids -t "$tok" "$tmp/dec.jsonl" > "$tmp/again"
	cmp -s "$tmp/got" "$tmp/again"
	ok $? "$name: stream -> decode -> encode gives the same ids"
	$TK decode --ids -t "$tok" "$tmp/want" > "$tmp/dec2.jsonl"
	cmp -s "$tmp/dec.jsonl" "$tmp/dec2.jsonl"
	ok $? "$name: decode of the stream equals decode --ids of the reference ids"
done
done_testing
