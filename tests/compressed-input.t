#!/bin/sh
# Compressed inputs of bonsai-filter and bonsai-tokenize (train, encode,
# decode): gzip and bzip2 as well as zstd, told by their magic numbers
# (not the file's name), from a file or stdin; several gzip members or bzip2
# streams back to back are one input; an input cut short or damaged is an
# error naming the file and the compressed byte, exit 1, and no -o file.
. tests/tap.sh

F=bin/bonsai-filter
TK=bin/bonsai-tokenize
command -v gzip >/dev/null && command -v bzip2 >/dev/null || skip_all "gzip or bzip2 not installed"

# Documents of random words: their gzip form is over 1 MiB, the size of
# one read, so that members and blocks straddle reads.
awk 'BEGIN { srand(7); for (d = 0; d < 6000; d++) { s = "";
	for (w = 0; w < 60; w++) s = s sprintf(" w%x", int(rand() * 1e6));
	printf "{\"id\": %d, \"text\": \"doc%s\"}\n", d, s } }' >"$T/docs.jsonl"
head -n 2500 "$T/docs.jsonl" >"$T/part1"
tail -n +2501 "$T/docs.jsonl" >"$T/part2"
gzip -c "$T/docs.jsonl" >"$T/one.gz"
bzip2 -c "$T/docs.jsonl" >"$T/one.bz2"
{ gzip -c "$T/part1"; gzip -c "$T/part2"; } >"$T/members.gz"
{ bzip2 -c "$T/part1"; bzip2 -c "$T/part2"; } >"$T/streams.bz2"
[ "$(wc -c <"$T/one.gz")" -gt 1048576 ]; ok $? "the gzip input is larger than one read"
cp "$T/one.gz" "$T/gzip-named.txt"

$F -q -o "$T/want" "$T/docs.jsonl"
for f in one.gz one.bz2 members.gz streams.bz2 gzip-named.txt; do
	run $F -q -f -o "$T/got" "$T/$f"
	[ "$rc" -eq 0 ] && cmp -s "$T/want" "$T/got"
	ok $? "filter: $f gives the documents of the plain file" || diag "$(cat "$T/err")"
done
for f in members.gz streams.bz2; do
	run $F -q -f -o "$T/got" - <"$T/$f"
	[ "$rc" -eq 0 ] && cmp -s "$T/want" "$T/got"
	ok $? "filter: $f on stdin too" || diag "$(cat "$T/err")"
done

# Cut short inside the second member / stream, and inside the only one.
for f in members.gz streams.bz2 one.gz one.bz2; do
	size=$(wc -c <"$T/$f")
	cut=$((size - 100))
	head -c $cut "$T/$f" >"$T/cut-$f"
	run $F -q -o "$T/cut.out" "$T/cut-$f"
	[ "$rc" -eq 1 ] && [ ! -e "$T/cut.out" ] &&
		grep -q "^bonsai-filter: $T/cut-$f: at byte $cut: .*truncated" "$T/err"
	ok $? "filter: $f cut at byte $cut: an error naming the file and the byte, no output" ||
		diag "exit $rc: $(cat "$T/err")"
done

# Damaged in the middle: an error naming the file and a byte past the damage.
for f in one.gz one.bz2; do
	cp "$T/$f" "$T/bad-$f"
	printf 'XXXXXXXXXXXXXXXX' | dd of="$T/bad-$f" bs=1 seek=5000 conv=notrunc 2>/dev/null
	run $F -q -o "$T/bad.out" "$T/bad-$f"
	at=$(sed -n "s/^bonsai-filter: .*bad-$f: at byte \([0-9]*\): .*/\1/p" "$T/err")
	[ "$rc" -eq 1 ] && [ ! -e "$T/bad.out" ] && [ -n "$at" ] && [ "$at" -ge 5000 ]
	ok $? "filter: $f damaged at byte 5000: an error naming the file and the byte" ||
		diag "exit $rc: $(cat "$T/err")"
done

# After the last member, something that is not one: refused, not ignored.
{ cat "$T/one.gz"; echo '{"id": 1, "text": "not compressed"}'; } >"$T/trail.gz"
run $F -q -o "$T/trail.out" "$T/trail.gz"
[ "$rc" -eq 1 ] && [ ! -e "$T/trail.out" ] && grep -q "trail.gz: at byte" "$T/err"
ok $? "filter: plain text after the last gzip member is an error" || diag "exit $rc: $(cat "$T/err")"

# bonsai-tokenize: a tokenizer trained on compressed documents is the one
# trained on the plain ones; encode and decode read compressed input too.
head -n 800 "$T/docs.jsonl" >"$T/small.jsonl"
gzip -c "$T/small.jsonl" >"$T/small.gz"
bzip2 -c "$T/small.jsonl" >"$T/small.bz2"
$TK train -q --vocab-size 600 -o "$T/tok.json" "$T/small.jsonl"
ok $? "tokenize train on the plain documents"
for f in small.gz small.bz2; do
	run $TK train -q --vocab-size 600 -o "$T/tok-$f.json" "$T/$f"
	[ "$rc" -eq 0 ] && cmp -s "$T/tok.json" "$T/tok-$f.json"
	ok $? "tokenize train: $f gives the same tokenizer" || diag "$(cat "$T/err")"
done
$TK encode -q -t "$T/tok.json" -o "$T/want.ts" "$T/docs.jsonl"
for f in members.gz streams.bz2; do
	run $TK encode -q -t "$T/tok.json" -f -o "$T/got.ts" "$T/$f"
	[ "$rc" -eq 0 ] && cmp -s "$T/want.ts" "$T/got.ts"
	ok $? "tokenize encode: $f gives the stream of the plain file" || diag "$(cat "$T/err")"
done
cut=$(($(wc -c <"$T/members.gz") - 100))
run $TK encode -q -t "$T/tok.json" -o "$T/cut.ts" "$T/cut-members.gz"
[ "$rc" -eq 1 ] && [ ! -e "$T/cut.ts" ] &&
	grep -q "^bonsai-tokenize: $T/cut-members.gz: at byte $cut: gzip: .*truncated" "$T/err"
ok $? "tokenize encode: a gzip file cut short is an error naming it and the byte" ||
	diag "exit $rc: $(cat "$T/err")"
$TK decode -t "$T/tok.json" -o "$T/want.dec" "$T/want.ts"
gzip -c "$T/want.ts" >"$T/want.ts.gz"
run $TK decode -t "$T/tok.json" -o "$T/got.dec" - <"$T/want.ts.gz"
[ "$rc" -eq 0 ] && cmp -s "$T/want.dec" "$T/got.dec"
ok $? "tokenize decode: a gzip token stream on stdin" || diag "$(cat "$T/err")"

done_testing
