#!/bin/sh
# bonsai-tokenize encode keeps a batch's ids in one region, room for a
# token every two bytes of a batch (1 MB of text a thread); the documents
# past it get ids of their own. A batch that overflows it, and many small
# documents on two threads, give the ids of the documents encoded one at a
# time.
. tests/tap.sh
need_shared
TOK=bin/bonsai-tokenize
R50K=$SHARED/fixtures/tokenizers/tiktoken/r50k_base.tiktoken

# " a" is one token: 300,000 tokens a document, two in one batch at -j 1
# (1.2 MB), the second past the region's 524,288 ids
doc() { yes "$1" | head -n 300000 | tr -d '\n' | awk '{ print "{\"text\":\"" $0 "\"}" }'; }
doc ' a' > "$T/a.jsonl"
doc ' b' > "$T/b.jsonl"
cat "$T/a.jsonl" "$T/b.jsonl" > "$T/ab.jsonl"
$TOK encode -q --ids -t "$R50K" "$T/a.jsonl" > "$T/a.ids" &&
$TOK encode -q --ids -t "$R50K" "$T/b.jsonl" > "$T/b.ids" &&
$TOK encode -q --ids -t "$R50K" "$T/ab.jsonl" > "$T/ab.ids"
ok $? "two documents of 300,000 tokens encode"
[ "$(wc -w < "$T/b.ids")" -eq 300000 ] && cat "$T/a.ids" "$T/b.ids" | cmp -s - "$T/ab.ids"
ok $? "in one batch (the second past the batch's region) they give their ids alone"

# FineWeb documents on two threads against one at a time
F=$SHARED/fixtures/fineweb-edu/sample/10BT/000_00000.parquet
bin/bonsai-fetch -q --columns text "$F" -o "$T/fw.jsonl"
head -n 100 "$T/fw.jsonl" > "$T/fw100.jsonl"
: > "$T/one.ids"
while IFS= read -r line; do
	printf '%s\n' "$line" | $TOK encode -q --ids -t "$R50K" >> "$T/one.ids" || break
done < "$T/fw100.jsonl"
$TOK encode -q --ids -j 2 -t "$R50K" "$T/fw100.jsonl" > "$T/two.ids"
[ "$(wc -l < "$T/two.ids")" -eq 100 ] && cmp -s "$T/one.ids" "$T/two.ids"
ok $? "100 FineWeb documents in one batch on two threads: the ids of each alone"

done_testing
