#!/bin/sh
# bonsai-generate on the tiny lm_eval model: the KV-cache decoder's greedy
# tokens are the full forward pass's argmax (checked with bonsai-eval
# loglik), seeds reproduce, and the command line behaves.
. tests/eval-common.sh
eval_setup "$M/model.safetensors" "$TOK"
G="bin/bonsai-generate -m $M -t $TOK -q -j 1"
P="The water cycle"

bin/bonsai-generate --help | grep -q '^usage: bonsai-generate'; ok $? "--help prints the usage"
bin/bonsai-generate --version >/dev/null; ok $? "--version exits 0"
bin/bonsai-generate -p x 2>/dev/null; [ $? -eq 2 ]; ok $? "no model: exit 2"
$G --top-p 1.5 2>/dev/null; [ $? -eq 2 ]; ok $? "--top-p above 1: exit 2"

# the last of -v and -q counts ($G has -q)
$G -v -p "$P" -n 2 --seed 5 2> "$TMP/v.err" > /dev/null && grep -q "seed 5" "$TMP/v.err" &&
	$G -v -q -p "$P" -n 2 2> "$TMP/vq.err" > /dev/null && [ ! -s "$TMP/vq.err" ]
ok $? "-q then -v: verbose; -v then -q: quiet" || diag "$(cat "$TMP/v.err" "$TMP/vq.err")"

$G -p "$P" -n 12 --temperature 0 > "$TMP/g1" && $G -p "$P" -n 12 --temperature 0 > "$TMP/g2" &&
cmp -s "$TMP/g1" "$TMP/g2"; ok $? "greedy decoding is deterministic"
head -c ${#P} "$TMP/g1" | grep -qx "$P"; ok $? "the prompt is echoed first"
$G -p "$P" -n 12 --top-k 1 --seed 5 > "$TMP/g3" && cmp -s "$TMP/g1" "$TMP/g3"
ok $? "top-k 1 is greedy"
$G -p "$P" -n 12 --temperature 0 --no-echo > "$TMP/cont"
$G -p "$P" -n 12 --temperature 0 --no-echo --ids > "$TMP/ids"
[ "$(wc -l < "$TMP/ids")" -eq 12 ]; ok $? "--ids: 12 ids for -n 12"
# the greedy continuation is what the full forward pass calls greedy
perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[1] or die; my $c = <$f>;
	print encode_json({context => $ARGV[0], continuation => $c}), "\n"' "$P" "$TMP/cont" \
	> "$TMP/req.jsonl"
bin/bonsai-eval loglik "$TMP/req.jsonl" -m "$M" -t "$TOK" -q -j 1 > "$TMP/ll.jsonl"
grep -q '"is_greedy": true, "context_tokens": 3, "continuation_tokens": 12' "$TMP/ll.jsonl"
ok $? "KV-cache greedy tokens = the full forward's argmax at every position"

$G -p "$P" -n 16 --seed 7 --temperature 1 > "$TMP/s1" &&
$G -p "$P" -n 16 --seed 7 --temperature 1 > "$TMP/s2" && cmp -s "$TMP/s1" "$TMP/s2"
ok $? "one seed, one text"
$G -p "$P" -n 16 --seed 8 --temperature 1 > "$TMP/s3" && ! cmp -s "$TMP/s1" "$TMP/s3"
ok $? "another seed, another text"
$G -p "$P" -n 16 --seed 7 --temperature 0.7 --top-k 40 --top-p 0.9 > "$TMP/s4"
ok $? "temperature, top-k and top-p together"
$G -p "$P" -n 0 > "$TMP/n0" && [ "$(cat "$TMP/n0")" = "$P" ]; ok $? "-n 0 writes just the prompt"
printf '%s' "$P" | $G -f - -n 12 --temperature 0 > "$TMP/g4" && cmp -s "$TMP/g1" "$TMP/g4"
ok $? "--prompt-file - reads the prompt from stdin"
done_testing
