#!/bin/sh
# bonsai-filter: the rules by field, absent fields, code point counts, and
# that kept documents come out byte for byte as they went in.
. tests/tap.sh

F=bin/bonsai-filter
# Documents with odd spacing, key order and escapes, which must all survive.
{
	printf '{"id":1,"text":"aaaa","int_score":3,"score":3.2,"language":"en","language_score":0.9}\n'
	printf '{ "score" : 2.6 , "id":2, "text":"bbbb","int_score":2,"language":"fr","language_score":0.5,"url":"http:\\/\\/x.org\\/\\u00e9"}\n'
	printf '{"id":3,"text":"cccc","meta":{"a":[1,2,{"b":null}]}}\n'
	printf '{"id":4,"text":"dddd","int_score":null,"score":"3","language":5,"language_score":0.95}\n'
	printf '{"id":5,"text":"\303\251\303\251\\u00e9\303\251\303\251","int_score":4,"score":3.9,"language":"en","language_score":1}\r\n'
	printf '{"id":6,"text":"e\314\201e\314\201e\314\201","int_score":5,"score":5.0,"language":"de","language_score":0.99e0}\n'
} >"$T/in"

ids() { grep -o '"id":[0-9]*' "$T/out" | sed 's/"id"://' | tr '\n' ' ' | sed 's/ $//'; }
# keeps "ARGS" "IDS" DESCRIPTION
keeps() {
	run $F -q $1 "$T/in"
	got=$(ids)
	[ "$rc" -eq 0 ] && [ "$got" = "$2" ]
	ok $? "$3 (kept: $got; want $2)"
}
# stat KEY VALUE: the --stats file has "KEY": VALUE
stat() { grep -q "\"$1\": $2[,}]*\$" "$T/stats"; }

run $F -q "$T/in"
head -n 5 "$T/in" >"$T/want"
head -n 5 "$T/out" >"$T/got"
cmp -s "$T/want" "$T/got"
ok $? "no rules: documents 1-5 come out byte for byte (spacing, escapes, CRLF)"

keeps "--min-int-score 3" "1 5 6" "--min-int-score 3"
keeps "--min-int-score 3 --keep-missing" "1 3 4 5 6" "--min-int-score 3 --keep-missing"
keeps "--min-score 3" "1 5 6" "--min-score 3 (a string score counts as missing)"
keeps "--min-score 3 --keep-missing" "1 3 4 5 6" "--min-score 3 --keep-missing"
keeps "--min-language-score 0.8" "1 4 5 6" "--min-language-score 0.8"
keeps "--lang en" "1 5" "--lang en"
keeps "--lang fr,en" "1 2 5" "--lang fr,en"
keeps "--lang fr --lang en" "1 2 5" "--lang repeated: the lists add up"
keeps "--lang de --keep-missing" "3 4 6" "--lang de --keep-missing (a number is not a language)"
keeps "--min-int-score 3 --lang en --min-score 3.5" "5" "rules combine"
keeps "--min-chars 5" "5" "--min-chars 5: 5 code points in 10 bytes pass"
keeps "--max-chars 4" "1 2 3 4 6" "--max-chars 4 (after NFC doc 6 has 3 code points)"
keeps "--max-chars 4 --no-nfc" "1 2 3 4" "--max-chars 4 --no-nfc (doc 6 has 6 code points)"
keeps "--min-chars 4 --max-chars 4" "1 2 3 4" "--min-chars 4 --max-chars 4"
keeps "--min-chars 0 --max-chars 0" "" "--max-chars 0 drops every non-empty text"

run $F -q --stats "$T/stats" --min-int-score 3 --min-chars 4 "$T/in"
stat documents_in 6 && stat documents_out 2 && stat dropped 4 && stat missing-field 2 &&
	stat int-score 1 && stat too-short 1 && stat nfc_changed 0
ok $? "--stats counts by reason (missing-field 2, int-score 1, too-short 1; changes only of kept documents)"
run $F --min-int-score 3 "$T/in"
grep -q 'dropped: missing-field 2 int-score 1' "$T/err" && grep -q '6 documents in, 3 kept, 3 dropped' "$T/err"
ok $? "summary on stderr"

run $F --min-chars 5 --max-chars 4 "$T/in"
fails_with 2 'min-chars' "--min-chars above --max-chars is a usage error"
run $F --invalid-utf8=maybe "$T/in"
fails_with 2 'invalid-utf8' "--invalid-utf8 takes repair or drop"
run $F --min-score abc "$T/in"
fails_with 2 'min-score' "--min-score needs a number"
run $F --frobnicate "$T/in"
fails_with 2 'help' "unknown option: exit 2"
run $F --help
[ "$rc" -eq 0 ] && grep -q -- '--near-dedup' "$T/out"
ok $? "--help on stdout, exit 0"
run $F --version
[ "$rc" -eq 0 ] && grep -q 'bonsai-filter' "$T/out"
ok $? "--version"
done_testing
