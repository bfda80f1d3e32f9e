#!/bin/sh
# bonsai-tokenize train: a valid tokenizer of the asked size, the same for
# the same input whatever -j, that encodes and decodes back exactly.
. tests/tap.sh
TK=bin/bonsai-tokenize
S=$SHARED/fixtures/tokenizers
[ -f "$S/cases.jsonl" ] || skip_all "$S/cases.jsonl not found"
tmp=$T

# a corpus: the reference cases four times (their other members are ignored)
for i in 1 2 3 4; do cat "$S/cases.jsonl"; done > "$tmp/corpus.jsonl"
$TK train -q --vocab-size 1000 -o "$tmp/a.json" "$tmp/corpus.jsonl"; ok $? "train runs"
$TK info "$tmp/a.json" > "$tmp/info"
grep -q '"vocab_size": 1000, "bos_id": 2, "eos_id": 1' "$tmp/info"
ok $? "1000 tokens, <bos> = 2, <eos> = 1"
$TK info "$tmp/a.json" > /dev/full 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "stdout: write failed: No space left on device" "$tmp/err"
ok $? "info to a full disk: an error, exit 1 (was exit 0 with its line lost)"
$TK train -q --vocab-size 1000 -j 2 -o "$tmp/b.json" < "$tmp/corpus.jsonl"
cmp -s "$tmp/a.json" "$tmp/b.json"; ok $? "deterministic: the same file again, with -j 2 and from stdin"
grep -q '"type": "ByteLevel"' "$tmp/a.json" && grep -q '"merges"' "$tmp/a.json"
ok $? "a byte-level BPE tokenizer.json"
$TK encode -q -t "$tmp/a.json" -o "$tmp/s" "$S/cases.jsonl" &&
$TK decode -t "$tmp/a.json" "$tmp/s" > "$tmp/dec.jsonl" &&
$TK encode --ids -t "$tmp/a.json" "$S/cases.jsonl" > "$tmp/ids1" &&
$TK encode --ids -t "$tmp/a.json" "$tmp/dec.jsonl" > "$tmp/ids2"
cmp -s "$tmp/ids1" "$tmp/ids2"; ok $? "encode -> decode -> encode gives the same ids"
$TK decode --ids --raw -t "$tmp/a.json" "$tmp/ids1" > "$tmp/raw1"
$TK decode --raw -t "$tmp/a.json" "$tmp/s" > "$tmp/raw2"
cmp -s "$tmp/raw1" "$tmp/raw2"; ok $? "decode of the stream and of the ids agree"
# every byte is in the base vocabulary: any bytes encode
printf '{"text":"\\u0000\\u0001\377\376 \360\237\231\202"}\n' | $TK encode -t "$tmp/a.json" |
	$TK decode -t "$tmp/a.json" > "$tmp/bytes.out"
printf '{"text":"\\u0000\\u0001\377\376 \360\237\231\202"}\n' | cmp -s - "$tmp/bytes.out"
ok $? "bytes unseen in training (NUL, 0xFF, an emoji) round-trip"
$TK train -q --vocab-size 1000 --special '<s>' --special '</s>' -o "$tmp/c.json" "$tmp/corpus.jsonl"
$TK info "$tmp/c.json" | grep -q '"bos_id": 0, "eos_id": 1'; ok $? "--special sets the special tokens"
$TK train -q --vocab-size 100 -o "$tmp/d.json" "$tmp/corpus.jsonl" 2> /dev/null; [ $? -eq 2 ]
ok $? "--vocab-size below specials + 256: exit 2"
[ ! -e "$tmp/d.json" ]; ok $? "... and no output"
$TK train -q --vocab-size 100000 -o "$tmp/e.json" "$tmp/corpus.jsonl" 2> "$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -q "only" "$tmp/err"; ok $? "a vocabulary the corpus cannot fill: a warning, the merges it has"

# -v is --verbose, as in every tool: each phase's counts and the size
# written, on stderr even when it is not a terminal; nothing without it.
run $TK train --vocab-size 1000 -v -o "$tmp/v.json" "$tmp/corpus.jsonl"
[ $rc -eq 0 ] && grep -q "distinct words in" "$T/err" && grep -q "merges in" "$T/err" &&
	grep -q "wrote $tmp/v.json: 1000 tokens (3 special, 256 bytes, 741 merges)" "$T/err" &&
	cmp -s "$tmp/a.json" "$tmp/v.json"
ok $? "-v: the phases and the size on stderr, the same tokenizer" || diag "$(cat "$T/err")"
run $TK train --vocab-size 1000 -o "$tmp/nv.json" "$tmp/corpus.jsonl"
[ $rc -eq 0 ] && [ ! -s "$T/err" ]; ok $? "without -v (stderr not a terminal): nothing on stderr"
# The old -v SIZE stops, pointing to --vocab-size: never a tokenizer of
# another size, nor SIZE read as a file.
for old in "-v 1000:1000" "-v1000:1000" "-qv 1000:1000" "-v 32k:32k"; do
	size=${old#*:} old=${old%:*}
	run $TK train $old -o "$tmp/old.json" "$tmp/corpus.jsonl"
	[ $rc -eq 2 ] && [ ! -e "$tmp/old.json" ] &&
		grep -q "^bonsai-tokenize: train: -v is --verbose; give the vocabulary size with --vocab-size $size\$" "$T/err"
	ok $? "train $old: refused with a pointer to --vocab-size" || diag "exit $rc: $(cat "$T/err")"
done
# The output is made before the work: a folder that is not there, or an
# input that is not (after a good one), is told before any document is
# read. A FIFO with no writer stands for a long input: reading it would
# wait, so an error found only after reading times out instead.
mkfifo "$tmp/fifo"
run timeout 10 $TK train -q --vocab-size 1000 -o "$tmp/nodir/t.json" "$tmp/fifo"
[ $rc -eq 1 ] && grep -q "nodir/t.json: cannot create: No such file or directory" "$T/err"
ok $? "train -o in a missing folder: refused before reading the input" || diag "exit $rc: $(cat "$T/err")"
run timeout 10 $TK train -q --vocab-size 1000 -o "$tmp/m.json" "$tmp/fifo" "$tmp/missing.jsonl"
[ $rc -eq 1 ] && grep -q "missing.jsonl: cannot open" "$T/err" && [ -z "$(ls "$tmp"/m.json* 2>/dev/null)" ]
ok $? "train with a missing input after another: refused before reading, no output" || diag "exit $rc: $(cat "$T/err")"
# ... and SIGINT or SIGTERM while it works removes it: exit 1 saying so
for i in 1 2 3 4 5 6 7 8; do cat "$tmp/corpus.jsonl"; done > "$tmp/many"
for sig in INT TERM; do
	signal_mid_run $sig "$tmp/sig.json.tmp.*" $TK train -q --vocab-size 50000 --min-frequency 1 \
		-o "$tmp/sig.json" "$tmp/many"
	[ "$rc" -eq 1 ] && grep -q "interrupted by signal" "$T/err" && [ -z "$(ls "$tmp"/sig.json* 2>/dev/null)" ]
	ok $? "train: SIG$sig mid-run exits 1 and leaves no output" || diag "exit $rc: $(cat "$T/err"); $(ls "$tmp")"
done
# A special token is cut out of the text before the words are counted, as
# encoding cuts it out: --special '###' on Markdown made a merge of the same
# text as well, a vocab key twice that no loader takes (exit 0 before).
for i in 1 2 3 4 5 6 7 8; do echo '{"text":"### Intro\\n### Next ### more"}'; done > "$tmp/md.jsonl"
run $TK train -q --vocab-size 300 --special '<pad>' --special '###' -o "$tmp/md.json" "$tmp/md.jsonl"
[ $rc -eq 0 ] && $TK info "$tmp/md.json" > /dev/null 2> "$T/err" &&
	[ "$(echo '{"text":"x ### y"}' | $TK encode --ids -t "$tmp/md.json" | tr ' ' '\n' | grep -cx 1)" = 1 ]
ok $? "train --special '###' on text holding it: a tokenizer that loads, ### its special token" ||
	diag "exit $rc: $(cat "$T/err")"
# A special spelt as a token's byte-level vocab text cannot be written.
run $TK train -q --vocab-size 1000 --special a -o "$tmp/sa.json" "$tmp/corpus.jsonl"
[ $rc -eq 2 ] && [ ! -e "$tmp/sa.json" ] && grep -q -- "--special a: the vocab text of the byte 0x61" "$T/err"
ok $? "--special a (a byte's vocab text): exit 2 before the work, no output" || diag "exit $rc: $(cat "$T/err")"
run $TK train -q --vocab-size 1000 --special 'Ġthe' -o "$tmp/sg.json" "$tmp/corpus.jsonl"
[ $rc -eq 1 ] && [ -z "$(ls "$tmp"/sg.json* 2>/dev/null)" ] &&
	grep -q -- "--special Ġthe: the training made token [0-9]* of the same vocab text" "$T/err"
ok $? "--special Ġthe (the vocab text of a merge of \" the\"): exit 1, no output" || diag "exit $rc: $(cat "$T/err")"
done_testing
