#!/bin/sh
# bonsai-tokenize train: a valid tokenizer of the asked size, the same for
# the same input whatever -j, that encodes and decodes back exactly.
T=bin/bonsai-tokenize
S=${BONSAI_SHARED:-../shared}/fixtures/tokenizers
if [ ! -f "$S/cases.jsonl" ]; then
	echo "1..0 # SKIP $S/cases.jsonl not found"
	exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

# a corpus: the reference cases four times (their other members are ignored)
for i in 1 2 3 4; do cat "$S/cases.jsonl"; done > "$tmp/corpus.jsonl"
$T train -q -v 1000 -o "$tmp/a.json" "$tmp/corpus.jsonl"; t $? "train runs"
$T info "$tmp/a.json" > "$tmp/info"
grep -q '"vocab_size": 1000, "bos_id": 2, "eos_id": 1' "$tmp/info"
t $? "1000 tokens, <bos> = 2, <eos> = 1"
$T train -q -v 1000 -j 2 -o "$tmp/b.json" < "$tmp/corpus.jsonl"
cmp -s "$tmp/a.json" "$tmp/b.json"; t $? "deterministic: the same file again, with -j 2 and from stdin"
grep -q '"type": "ByteLevel"' "$tmp/a.json" && grep -q '"merges"' "$tmp/a.json"
t $? "a byte-level BPE tokenizer.json"
$T encode -q -t "$tmp/a.json" -o "$tmp/s" "$S/cases.jsonl" &&
$T decode -t "$tmp/a.json" "$tmp/s" > "$tmp/dec.jsonl" &&
$T encode --ids -t "$tmp/a.json" "$S/cases.jsonl" > "$tmp/ids1" &&
$T encode --ids -t "$tmp/a.json" "$tmp/dec.jsonl" > "$tmp/ids2"
cmp -s "$tmp/ids1" "$tmp/ids2"; t $? "encode -> decode -> encode gives the same ids"
$T decode --ids --raw -t "$tmp/a.json" "$tmp/ids1" > "$tmp/raw1"
$T decode --raw -t "$tmp/a.json" "$tmp/s" > "$tmp/raw2"
cmp -s "$tmp/raw1" "$tmp/raw2"; t $? "decode of the stream and of the ids agree"
# every byte is in the base vocabulary: any bytes encode
printf '{"text":"\\u0000\\u0001\377\376 \360\237\231\202"}\n' | $T encode -t "$tmp/a.json" |
	$T decode -t "$tmp/a.json" > "$tmp/bytes.out"
printf '{"text":"\\u0000\\u0001\377\376 \360\237\231\202"}\n' | cmp -s - "$tmp/bytes.out"
t $? "bytes unseen in training (NUL, 0xFF, an emoji) round-trip"
$T train -q -v 1000 --special '<s>' --special '</s>' -o "$tmp/c.json" "$tmp/corpus.jsonl"
$T info "$tmp/c.json" | grep -q '"bos_id": 0, "eos_id": 1'; t $? "--special sets the special tokens"
$T train -q -v 100 -o "$tmp/d.json" "$tmp/corpus.jsonl" 2> /dev/null; [ $? -eq 2 ]
t $? "-v below specials + 256: exit 2"
[ ! -e "$tmp/d.json" ]; t $? "... and no output"
$T train -q -v 100000 -o "$tmp/e.json" "$tmp/corpus.jsonl" 2> "$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -q "only" "$tmp/err"; t $? "a vocabulary the corpus cannot fill: a warning, the merges it has"
echo "1..$n"
