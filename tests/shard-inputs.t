#!/bin/sh
# bonsai-shard with several input streams (make run tokenizes each parquet
# file on its own): two streams give the very shards that one stream of the
# same documents gives; streams of two tokenizers are refused.
. tests/tap.sh
need_shared
TS=$SHARED/fixtures/text/tinyshakespeare.txt
TK=$SHARED/fixtures/tokenizers/tiktoken
head -c 60000 "$TS" | awk 'BEGIN { RS = "" } {
	gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\n/, "\\n")
	print "{\"text\":\"" $0 "\"}" }' > "$T/all.jsonl"
head -n 150 "$T/all.jsonl" > "$T/a.jsonl"
tail -n +151 "$T/all.jsonl" > "$T/b.jsonl"
E="bin/bonsai-tokenize encode -q -t $TK/r50k_base.tiktoken"
$E -o "$T/all.ts" "$T/all.jsonl" && $E -o "$T/a.ts" "$T/a.jsonl" && $E -o "$T/b.ts" "$T/b.jsonl"
ok $? "three streams encoded"

S="bin/bonsai-shard -q --tokens-per-shard 5000 --val-fraction 0.1"
$S -o "$T/one" "$T/all.ts" && $S -o "$T/two" "$T/a.ts" "$T/b.ts"
ok $? "sharding one stream and two streams exits 0"
[ "$(ls "$T/one" | wc -l)" -gt 3 ] && diff -r "$T/one" "$T/two" > /dev/null
ok $? "two streams make the same shards and manifest as one ($(ls "$T/two" | wc -l) files)"
bin/bonsai-shard verify "$T/two" > /dev/null 2>&1
ok $? "and they verify"

bin/bonsai-tokenize encode -q -t "$TK/cl100k_base.tiktoken" -o "$T/c.ts" "$T/b.jsonl"
run bin/bonsai-shard -q -o "$T/mixed" "$T/a.ts" "$T/c.ts"
fails_with 1 "c.ts: made by another tokenizer than .*a.ts" "streams of two tokenizers are refused, naming both"
[ ! -e "$T/mixed/manifest" ]
ok $? "and leave no manifest"
done_testing
