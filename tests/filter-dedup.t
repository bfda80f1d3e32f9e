#!/bin/sh
# bonsai-filter --dedup (exact, on the cleaned text) and --near-dedup
# (MinHash LSH).
. tests/tap.sh

F="bin/bonsai-filter -f" # -f: the tests write their outputs again
{
	printf '{"id":1,"text":"alpha caf\303\251"}\n'
	printf '{"id":2,"text":"beta"}\n'
	printf '{"id":3,"text":"alpha caf\303\251","other":"field"}\n'   # same text
	printf '{"id":4,"text":"alpha cafe\314\201"}\n'                 # same after NFC
	printf '{"id":5,"text":"alpha caf\\u00e9"}\n'                  # same after unescaping
	printf '{"id":6,"text":"alpha caf\303\251\\u0007"}\n'           # same after control removal
	printf '{"id":7,"text":"Alpha caf\303\251"}\n'                  # differs in case: kept
	printf '{"id":8,"text":"beta"}\n'
	printf '{"id":9,"text":""}\n'
	printf '{"id":10,"text":""}\n'
} >"$T/in"
ids() { grep -o '"id":[0-9]*' "$T/out" | sed 's/"id"://' | tr '\n' ' ' | sed 's/ $//'; }

run $F -q "$T/in"
[ "$(ids)" = "1 2 3 4 5 6 7 8 9 10" ]
ok $? "without --dedup every document is kept"
run $F -q --dedup --stats "$T/stats" "$T/in"
got=$(ids)
[ "$got" = "1 2 7 9" ]
ok $? "--dedup keeps the first of each cleaned text (kept: $got)"
grep -q '"duplicate": 6,' "$T/stats"
ok $? "--stats: duplicate 6"
grep -q '"dedup_table_bytes": [1-9]' "$T/stats"
ok $? "--stats: the table's memory is reported"
run $F -q --dedup --no-nfc "$T/in"
got=$(ids)
[ "$got" = "1 2 4 7 9" ]
ok $? "--dedup --no-nfc: the NFD spelling is a different text (kept: $got)"
run $F -q --dedup --min-chars 5 "$T/in"
got=$(ids)
[ "$got" = "1 7" ]
ok $? "documents dropped by an earlier rule do not count as seen (kept: $got)"

# Near duplicates: 3 texts of 400 random words; B is A with 2 words
# changed, C unrelated; D is A in upper case with other punctuation.
awk 'BEGIN { srand(11); for (i = 0; i < 400; i++) { a[i] = sprintf("w%c%c%c", 97 + int(rand() * 26), 97 + int(rand() * 26), 97 + int(rand() * 26)); c[i] = sprintf("v%c%c%c", 97 + int(rand() * 26), 97 + int(rand() * 26), 97 + int(rand() * 26)) }
	s = ""; for (i = 0; i < 400; i++) s = s (i ? " " : "") a[i]; printf "{\"id\":1,\"text\":\"%s\"}\n", s
	s = ""; for (i = 0; i < 400; i++) s = s (i ? " " : "") (i == 100 || i == 300 ? "changed" : a[i]); printf "{\"id\":2,\"text\":\"%s\"}\n", s
	s = ""; for (i = 0; i < 400; i++) s = s (i ? " " : "") c[i]; printf "{\"id\":3,\"text\":\"%s\"}\n", s
	s = ""; for (i = 0; i < 400; i++) s = s (i ? (i % 9 ? " " : ". ") : "") toupper(a[i]); printf "{\"id\":4,\"text\":\"%s!\"}\n", s
}' >"$T/near"
run $F -q --dedup "$T/near"
[ "$(ids)" = "1 2 3 4" ]
ok $? "--dedup alone keeps near duplicates"
run $F -q --near-dedup --stats "$T/stats" "$T/near"
got=$(ids)
[ "$got" = "1 3" ]
ok $? "--near-dedup drops the edited and the re-cased copy (kept: $got)"
grep -q '"near-duplicate": 2$' "$T/stats"
ok $? "--stats: near-duplicate 2"
done_testing
