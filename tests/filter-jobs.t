#!/bin/sh
# bonsai-filter -j: the output, the counts and the errors are the same
# whatever the number of threads.
. tests/tap.sh

F=bin/bonsai-filter
# 10,000 lines (more than two batches of 4096): repeats, near repeats, NFD,
# invalid UTF-8, controls, blank and bad lines, missing fields.
awk 'BEGIN { srand(5); L = ""; for (k = 0; k < 60; k++) L = L sprintf(" l%c%c", 97 + int(rand() * 26), 97 + int(rand() * 26))
	for (i = 0; i < 10000; i++) {
	if (i % 997 == 500) { print "not json"; continue }
	if (i % 991 == 0) { print ""; continue }
	w = ""; n = 3 + int(rand() * 40)
	for (k = 0; k < n; k++) w = w sprintf("%s%c%c", k ? " " : "", 97 + int(rand() * 5), 97 + int(rand() * 26))
	if (i % 7 == 0) w = w " cafe\314\201"
	if (i % 11 == 0) w = w "\377\\u0003"
	if (i % 13 == 0) w = "repeated text"
	if (i % 19 == 0) w = L " v" i
	s = (i % 17 == 0) ? "" : sprintf(",\"int_score\":%d", i % 5)
	printf "{\"id\":%d,\"text\":\"%s\"%s}\n", i, w, s } }' >"$T/in"

args="--skip-bad --min-int-score 1 --min-chars 10 --dedup --near-dedup"
$F -q $args --stats "$T/s1" "$T/in" >"$T/o1"
ok $? "-j 1 runs"
for j in 2 3 8; do
	$F -q -j $j $args --stats "$T/s$j" "$T/in" >"$T/o$j"
	cmp -s "$T/o1" "$T/o$j" && grep -v seconds "$T/s1" >"$T/a" && grep -v seconds "$T/s$j" >"$T/b" && cmp -s "$T/a" "$T/b"
	ok $? "-j $j: same output and counts as -j 1"
done
grep -q '"near-duplicate": [1-9]' "$T/s1" && grep -q '"duplicate": [1-9]' "$T/s1" && grep -q '"bad_lines": [1-9]' "$T/s1"
ok $? "the input exercised every step ($(tr -d ' \n' <"$T/s1" | cut -c1-200))"

# A bad line in the third batch stops at the same place with -j 4.
grep -av '^not json$' "$T/in" | sed '9000s/.*/[9000]/' >"$T/bad"
$F -q "$T/bad" >"$T/e1" 2>"$T/err1"
r1=$?
$F -q -j 4 "$T/bad" >"$T/e4" 2>"$T/err4"
r4=$?
[ $r1 -eq 1 ] && [ $r4 -eq 1 ] && cmp -s "$T/e1" "$T/e4" && cmp -s "$T/err1" "$T/err4" &&
	grep -q "bad:9000: not a JSON object" "$T/err4" && [ "$(wc -l <"$T/e4")" -gt 8000 ]
ok $? "a bad line: same error and same output before it with -j 4"
run $F -j 0 "$T/in"
fails_with 2 'jobs' "-j 0 is a usage error"
done_testing
