#!/bin/sh
# bonsai-filter: inputs (files, stdin, zstd, blank and bad lines), outputs
# (-o only when complete, --stats JSON), and a 100 MB line.
. tests/tap.sh

F="bin/bonsai-filter -f" # -f: the tests write their outputs again
printf '{"id":1,"text":"one"}\n{"id":2,"text":"two"}\n' >"$T/a"
printf '{"id":3,"text":"three"}\n' >"$T/b"
cat "$T/a" "$T/b" >"$T/ab"

run $F -q "$T/a" - <"$T/b"
cmp -s "$T/ab" "$T/out"
ok $? "files and - (stdin) are read in order"
run $F -q -o "$T/o.jsonl" "$T/a" "$T/b"
[ "$rc" -eq 0 ] && [ ! -s "$T/out" ] && cmp -s "$T/ab" "$T/o.jsonl"
ok $? "-o writes the file"

# a file that starts with a UTF-8 byte order mark (saved by a Windows
# editor): its documents, the mark not carried into the output
printf '\357\273\277' | cat - "$T/ab" >"$T/bom"
run $F -q "$T/bom"
[ "$rc" -eq 0 ] && cmp -s "$T/ab" "$T/out"
ok $? "a file with a byte order mark: its documents, the mark dropped" || diag "exit $rc: $(head -n 2 "$T/err")"

# An input that cannot be read fails before any document is written
for bad in "$T/missing" "$T"; do
	run $F -q "$T/a" "$bad"
	[ "$rc" -eq 1 ] && [ ! -s "$T/out" ] && grep -q "^bonsai-filter: $bad: " "$T/err"
	ok $? "$bad after a good input: exit 1, named, nothing on stdout" ||
		diag "exit $rc, $(wc -c < "$T/out") bytes out: $(head -n 2 "$T/err")"
done

if command -v zstd >/dev/null 2>&1; then
	zstd -q -c "$T/ab" >"$T/ab.zst"
	run $F -q "$T/ab.zst"
	cmp -s "$T/ab" "$T/out"
	ok $? "zstd input (made by the zstd CLI) is decompressed"
	run $F -q <"$T/ab.zst"
	cmp -s "$T/ab" "$T/out"
	ok $? "zstd on stdin too"
else
	ok 0 "# SKIP zstd CLI not installed"
	ok 0 "# SKIP zstd CLI not installed"
fi

printf '{"id":1,"text":"one"}\n\n   \n{"id":2,"text":"two"}\n' >"$T/blank"
run $F -q --stats "$T/stats" "$T/blank"
printf '{"id":1,"text":"one"}\n{"id":2,"text":"two"}\n' >"$T/want"
cmp -s "$T/want" "$T/out" && grep -q '"blank_lines": 2,' "$T/stats"
ok $? "blank lines are skipped and counted"

# Bad lines: an error naming file and line, exit 1, no -o file left behind.
for bad in '{"id":2,"text":"tw' '[1,2]' '{"id":2}' '{"id":2,"text":7}' '"text"' '{"text":"a"} x'; do
	printf '{"id":1,"text":"one"}\n%s\n{"id":3,"text":"three"}\n' "$bad" >"$T/bad"
	run $F -q -o "$T/bad.out" "$T/bad"
	fails_with 1 "^bonsai-filter: $T/bad:2: " "bad line '$bad': FILE:2: error, exit 1"
	[ ! -e "$T/bad.out" ] && [ -z "$(ls "$T" | grep 'bad.out.tmp')" ]
	ok $? "... and no output file is left behind"
done
printf '{"id":1,"text":"one"}\n[1]\n' >"$T/bad"
run $F -q <"$T/bad"
fails_with 1 '^bonsai-filter: stdin:2: not a JSON object' "stdin is named 'stdin'"
printf '{"id":1,"text":"one"}\nnope\n{"id":2}\n{"id":3,"text":"three"}\n' >"$T/bad"
run $F --skip-bad --stats "$T/stats" "$T/bad"
printf '{"id":1,"text":"one"}\n{"id":3,"text":"three"}\n' >"$T/want"
[ "$rc" -eq 0 ] && cmp -s "$T/want" "$T/out" && grep -q '"bad_lines": 2,' "$T/stats" &&
	grep -q 'bad:3: no string member "text" (skipped)' "$T/err"
ok $? "--skip-bad skips, warns and counts bad lines"

# --stats is valid JSON whose numbers add up.
printf '{"text":"a","int_score":1}\n{"text":"b","int_score":4}\n{"text":"b","int_score":4}\n' >"$T/s"
run $F -q --min-int-score 2 --dedup --stats "$T/stats" "$T/s"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); d=s["dropped_by_reason"]
assert s["documents_in"]==3 and s["documents_out"]==1 and s["dropped"]==sum(d.values())==2, s
assert d["int-score"]==1 and d["duplicate"]==1, s' "$T/stats"
	ok $? "--stats is JSON (python3 reads it) and adds up"
else
	grep -q '"documents_out": 1,' "$T/stats"
	ok $? "--stats written"
fi
run $F -q --stats /nonexistent/dir/stats.json "$T/s"
fails_with 1 'nonexistent' "an unwritable --stats is an error"
# found before the work: neither documents on stdout nor an -o file that
# looks like the run's result are left after the failure
[ ! -s "$T/out" ]
ok $? "an unwritable --stats: nothing written on stdout" || diag "$(wc -c < "$T/out") bytes out"
rm -f "$T/o.jsonl"
run $F -q -o "$T/o.jsonl" --stats /nonexistent/dir/stats.json "$T/s"
[ "$rc" -eq 1 ] && [ ! -e "$T/o.jsonl" ]
ok $? "an unwritable --stats with -o: exit 1 and no -o file" || diag "exit $rc: $(ls "$T")"
# -o "$OUT" with OUT unset: refused before any document is read (a bad
# first line would be named), not at the final rename after all the work
printf 'not json\n' >"$T/badfirst"
for opt in -o --stats; do
	run $F -q $opt "" "$T/badfirst"
	fails_with 1 '^bonsai-filter: "": an empty output file name' "$opt '': refused before the input is read"
done
# -o and --stats on one file: the stats replaced the documents (exit 0),
# -f or not; refused before any work, however the file is named
cp "$T/s" "$T/keep"
for pair in "$T/keep $T/keep" "$T/keep $T/../${T##*/}/keep" "$T/new $T/./new"; do
	set -- $pair
	run $F -q -o "$1" --stats "$2" "$T/s"
	[ "$rc" -eq 2 ] && grep -q -- "-o and --stats name the same file" "$T/err" && cmp -s "$T/s" "$T/keep" &&
		[ ! -e "$T/new" ]
	ok $? "-o $1 --stats $2: refused (exit 2), nothing written" || diag "exit $rc: $(head -n 1 "$T/err")"
done

# A 100 MB line: a text of 100,000,000 'a' with a control escape and an NFD
# pair at the end, so that the text is cleaned and re-encoded.
{
	printf '{"id":1,"text":"'
	head -c 100000000 /dev/zero | tr '\0' a
	printf 'e\314\201\\u0001","tail":true}\n{"id":2,"text":"small"}\n'
} >"$T/big"
{
	printf '{"id":1,"text":"'
	head -c 100000000 /dev/zero | tr '\0' a
	printf '\303\251","tail":true}\n'
} >"$T/bigwant"
start=$(date +%s)
run $F -q --dedup --min-chars 100000001 --max-chars 100000001 --stats "$T/stats" "$T/big"
end=$(date +%s)
[ "$rc" -eq 0 ] && cmp -s "$T/bigwant" "$T/out" && grep -q '"too-short": 1,' "$T/stats"
ok $? "a 100 MB line is cleaned, counted (100000001 code points) and written whole"
[ $((end - start)) -lt 30 ]
ok $? "... in $((end - start)) s"
rm -f "$T/big" "$T/bigwant" "$T/out"

# SIGINT or SIGTERM in the middle of a run: exit 1 saying so, and no
# temporary output left (killed by the signal, it was left behind)
awk 'BEGIN { for (i = 0; i < 40000; i++) printf "{\"id\":%d,\"text\":\"%0500d words %d\"}\n", i, i, i }' >"$T/many"
for sig in INT TERM; do
	rm -f "$T"/sig.jsonl*
	signal_mid_run $sig "$T/sig.jsonl.tmp.*" $F -q -o "$T/sig.jsonl" "$T/many"
	[ "$rc" -eq 1 ] && grep -q "interrupted by signal" "$T/err" && [ -z "$(ls "$T"/sig.jsonl* 2>/dev/null)" ]
	ok $? "SIG$sig during a run: exit 1, 'interrupted', no output or temporary file left" ||
		diag "exit $rc: $(ls "$T"/sig.jsonl* 2>/dev/null) $(head -n 2 "$T/err")"
done
rm -f "$T/many"
done_testing
