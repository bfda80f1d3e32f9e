#!/bin/sh
# bonsai-filter: invalid UTF-8 repaired or dropped, NFC, control characters.
# Expected bytes are written out by hand with printf (Unicode Standard 3.9,
# Table 3-8 for the U+FFFD substitution).
. tests/tap.sh

F="bin/bonsai-filter -f" # -f: the tests write their outputs again
R='\357\277\275' # U+FFFD

# same "ARGS" INPUT_PRINTF WANT_PRINTF DESCRIPTION
same() {
	printf "$2" >"$T/in"
	printf "$3" >"$T/want"
	run $F -q $1 "$T/in"
	cmp -s "$T/want" "$T/out"
	if [ "$rc" -eq 0 ] && cmp -s "$T/want" "$T/out"; then ok 0 "$4"; else
		ok 1 "$4"; echo "#   got: $(od -An -c "$T/out" | tr -s ' ' | head -3)"; fi
}

same "" '{"text":"a\361\200\200\341\200\302b\200c\200\277d","id":7}\n' \
	"{\"text\":\"a$R$R${R}b${R}c$R${R}d\",\"id\":7}\n" "Table 3-8: one U+FFFD per maximal subpart"
same "" '{"text":"x\300\257\355\240\200\364\220\200\200y"}\n' \
	"{\"text\":\"x$R$R$R$R$R$R$R$R${R}y\"}\n" "overlong, surrogate, above U+10FFFF: one U+FFFD a byte"
same "" '{"text":"end\360\237\230"}\n' "{\"text\":\"end$R\"}\n" "truncated sequence at the end: one U+FFFD"
same "" '{"u":"\377","text":"ok\377","v":"\300"}\n' "{\"u\":\"\377\",\"text\":\"ok$R\",\"v\":\"\300\"}\n" \
	"only the text is repaired; other fields pass untouched"
printf '{"text":"good"}\n{"text":"bad\377"}\n{"text":"good2"}\n' >"$T/in"
run $F -q --invalid-utf8=drop --stats "$T/stats" "$T/in"
printf '{"text":"good"}\n{"text":"good2"}\n' >"$T/want"
cmp -s "$T/want" "$T/out" && grep -q '"invalid-utf8": 1,' "$T/stats"
ok $? "--invalid-utf8=drop drops the document and counts it"

same "" '{"text":"e\314\201"}\n' '{"text":"\303\251"}\n' "NFC: e + U+0301 -> U+00E9"
same "--no-nfc" '{"text":"e\314\201"}\n' '{"text":"e\314\201"}\n' "--no-nfc leaves it"
same "" '{"text":"\342\204\253 \341\204\200\341\205\241"}\n' '{"text":"\303\205 \352\260\200"}\n' \
	"NFC: U+212B -> U+00C5, Hangul jamo L+V -> U+AC00"
same "" '{"text":"\352\260\200\341\206\247 \352\260\200\341\206\247\314\201"}\n' \
	'{"text":"\352\260\200\341\206\247 \352\260\200\341\206\247\314\201"}\n' \
	"NFC keeps U+11A7 after U+AC00 (not a trailing consonant; utf8proc 2.8 would drop it)"
same "" '{"text":"\\u00e9\\/\\u0041"}\n' '{"text":"\\u00e9\\/\\u0041"}\n' \
	"text already clean: its escapes are kept as written"
same "" '{"text":"a\\u0000b\\u0001c\\u001fd\177e\302\200f\302\237g\302\240h"}\n' \
	'{"text":"abcdefg\302\240h"}\n' "C0, DEL and C1 controls removed, NBSP kept"
same "" '{"text":"t\\tn\\nr\\r\\u0001"}\n' '{"text":"t\\tn\\nr\\r"}\n' "TAB, LF, CR kept"
same "" '{"text":"\\ud800x"}\n' "{\"text\":\"${R}x\"}\n" "a lone surrogate escape becomes U+FFFD"
same "" '{"text":"\\ud83d\\ude00"}\n' '{"text":"\\ud83d\\ude00"}\n' "a surrogate pair is kept as written"
same "" '{"text":"\\\\ \\" \\u0002"}\n' '{"text":"\\\\ \\" "}\n' "quote and backslash re-escaped"

printf '{"text":"e\314\201\\u0001\377"}\n' >"$T/in"
run $F --stats "$T/stats" "$T/in"
grep -q '"utf8_repaired": 1,' "$T/stats" && grep -q '"controls_removed": 1,' "$T/stats" &&
	grep -q '"nfc_changed": 1,' "$T/stats"
ok $? "--stats counts repaired, control-stripped and NFC-changed documents"
done_testing
