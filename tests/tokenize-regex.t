#!/bin/sh
# Pre-tokenizer patterns other than the three built in, matched by PCRE2:
# - cl100k_base's and o200k_base's ranks with their patterns spelt
#   differently (so the built-in matchers do not recognise them) give the
#   reference ids of all 324 cases, also from the compiled form and -j 2;
# - Qwen 2's pattern (digits one by one) on cl100k_base's ranks gives what
#   tiktoken itself gives (node and its tiktoken package, else skipped);
# - a Hugging Face tokenizer.json with its regex spelt differently gives
#   the ids of the built-in matcher, and the text between the matches of a
#   regex that leaves gaps is kept (Split, Isolated);
# - bytes that are not UTF-8 are kept, each a piece, also where tiktoken's
#   rule (only the matches are pieces) would drop the text between matches;
# - a regex that does not compile, or a misspelt name, is an error naming
#   the file.
. tests/tap.sh
TK=bin/bonsai-tokenize
S=$SHARED/fixtures/tokenizers
[ -f "$S/cases.jsonl" ] || skip_all "$S/cases.jsonl not found"
export BONSAI_CACHE="$T/cache"

want() { # want NAME: the reference ids of each case
	sed -E "s/.*\"$1\":\[([0-9,]*)\].*/\1/; s/,/ /g" "$S/cases.jsonl"
}
differ() { # differ GOT WANT: the number of lines that differ (324 lines each)
	[ "$(wc -l < "$1")" -eq 324 ] && [ "$(wc -l < "$2")" -eq 324 ] || { echo 324; return; }
	paste -d '|' "$1" "$2" | awk -F'|' '$1 != $2' | wc -l
}

# cl100k_base: the contractions as one class, the letter prefix possessive,
# \s*[\r\n] for \s*[\r\n]+ (the greedy \s* leaves one newline either way)
CL="'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"
# o200k_base: its optional contractions as classes
C="(?i:'[sdmt]|'ll|'ve|'re)?"
U="[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
L="[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"
O2="[^\\r\\n\\p{L}\\p{N}]?$U*$L+$C|[^\\r\\n\\p{L}\\p{N}]?$U+$L*$C|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

for name in cl100k_base o200k_base; do
	# another name: the built-in encodings' own pattern cannot be changed
	cp "$S/tiktoken/$name.tiktoken" "$T/$name-ranks.tiktoken"
	if [ $name = cl100k_base ]; then pat=$CL; else pat=$O2; fi
	want $name > "$T/want"
	run $TK encode --ids --pattern "$pat" -t "$T/$name-ranks.tiktoken" "$S/cases.jsonl"
	ok $rc "$name ranks, pattern respelt: encode runs" || sed 's/^/# /' "$T/err"
	bad=$(differ "$T/out" "$T/want")
	[ "$bad" -eq 0 ]
	ok $? "$name ranks, pattern respelt: all 324 cases give the reference ids ($bad differ)"
	ls "$BONSAI_CACHE"/tokenizers/*.bin > /dev/null 2>&1
	ok $? "$name ranks, pattern respelt: a compiled form is kept"
	$TK encode --ids -j 2 --pattern "$pat" -t "$T/$name-ranks.tiktoken" "$S/cases.jsonl" > "$T/again"
	cmp -s "$T/out" "$T/again" && [ -s "$T/again" ]
	ok $? "$name ranks, pattern respelt: from the compiled form, -j 2: the same ids"
	rm -rf "$BONSAI_CACHE"
done

# Qwen 2: cl100k_base's pattern with \p{N} for \p{N}{1,3}
Q="(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
r=$T/cl100k_base-ranks.tiktoken
run $TK encode --ids --pattern "$Q" -t "$r" "$S/cases.jsonl"
cp "$T/out" "$T/qwen"
ok $rc "Qwen 2 pattern: encode runs"
want cl100k_base > "$T/want"
bad=$(differ "$T/qwen" "$T/want")
[ "$bad" -gt 0 ] && [ "$bad" -lt 324 ]
ok $? "Qwen 2 pattern: the cases with numbers of several digits differ from cl100k_base ($bad)"
$TK decode --ids --pattern "$Q" -t "$r" "$T/qwen" > "$T/dec.jsonl"
sed -E 's/^(\{"text":"([^"\\]|\\.)*").*/\1}/' "$S/cases.jsonl" > "$T/texts.jsonl"
cmp -s "$T/dec.jsonl" "$T/texts.jsonl"
ok $? "Qwen 2 pattern: the ids decode to the cases' texts"
if command -v node > /dev/null 2>&1 && node -e 'require("tiktoken/lite")' 2> /dev/null; then
	node tests/tools/tiktoken_ids.js "$r" "$Q" "$S/cases.jsonl" > "$T/ref"
	bad=$(differ "$T/qwen" "$T/ref")
	[ "$bad" -eq 0 ]
	ok $? "Qwen 2 pattern: all 324 cases give tiktoken's ids ($bad differ)"
else
	skip "Qwen 2 pattern against tiktoken: needs node and the tiktoken package (NODE_PATH)"
fi

# Hugging Face: a byte-level BPE trained here (it writes cl100k_base's
# regex), then the same with the regex respelt
$TK train -q --vocab-size 600 -o "$T/hf.json" "$S/cases.jsonl"
ok $? "train a tokenizer.json"
perl -pe 's/\\\\p\{N\}\{1,3\}/\\\\p{N}{1,2}\\\\p{N}?/' "$T/hf.json" > "$T/hf-respelt.json"
! cmp -s "$T/hf.json" "$T/hf-respelt.json"
ok $? "the respelt tokenizer.json differs in its regex"
$TK encode --ids -t "$T/hf.json" "$S/cases.jsonl" > "$T/hf-ids"
run $TK encode --ids -t "$T/hf-respelt.json" "$S/cases.jsonl"
cmp -s "$T/out" "$T/hf-ids" && [ -s "$T/out" ]
ok $? "tokenizer.json, regex respelt: the same ids as the built-in matcher"
# only runs of letters match: the rest is kept between them
perl -pe 's/"Regex": "(?:[^"\\]|\\.)*"/"Regex": "\\\\p{L}+"/' "$T/hf.json" > "$T/hf-letters.json"
run $TK encode --ids -t "$T/hf-letters.json" "$S/cases.jsonl"
$TK decode --ids -t "$T/hf-letters.json" "$T/out" > "$T/dec.jsonl"
cmp -s "$T/dec.jsonl" "$T/texts.jsonl" && ! cmp -s "$T/out" "$T/hf-ids"
ok $? "tokenizer.json, a regex of letters only: other ids, and the text between matches is kept"

# bytes that are not UTF-8 match nothing: with tiktoken's rule (only the
# matches are pieces) they would be lost; they stay, each a piece
printf '{"text":"caf\\u00e9 \377\376 ok \303 end"}\n' > "$T/bad.jsonl"
$TK encode --ids --pattern "$CL" -t "$r" "$T/bad.jsonl" > "$T/bad.ids" &&
$TK decode --ids --pattern "$CL" -t "$r" "$T/bad.ids" > "$T/bad.dec"
printf '{"text":"caf\303\251 \377\376 ok \303 end"}\n' > "$T/bad.want"
cmp -s "$T/bad.dec" "$T/bad.want"
ok $? "tiktoken ranks, pattern respelt: bytes that are not UTF-8 are kept"

# errors
run $TK encode --ids --pattern "(?i:'s|\\p{L}+" -t "$r" "$S/cases.jsonl"
fails_with 1 "cl100k_base-ranks.tiktoken: .*regex does not compile: missing closing parenthesis" \
	"a .tiktoken pattern that does not compile: an error naming the file"
perl -pe 's/"Regex": "(?:[^"\\]|\\.)*"/"Regex": "[\\\\p{L}"/' "$T/hf.json" > "$T/hf-bad.json"
run $TK encode --ids -t "$T/hf-bad.json" "$S/cases.jsonl"
fails_with 1 "hf-bad.json: .*regex does not compile" \
	"a tokenizer.json regex that does not compile: an error naming the file"
run $TK encode --ids --pattern cl100k -t "$r" "$S/cases.jsonl"
fails_with 1 "cl100k_base-ranks.tiktoken: pattern \"cl100k\" is not a known name" \
	"a misspelt pattern name is an error, not a regex"
done_testing
