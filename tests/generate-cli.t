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

# Ctrl-C while a long prompt goes through the model (one token at a time on
# the CPU: a minute here for 7,000 tokens) was only seen after it, and one
# token was written first. A random model of 8,192 positions for it.
sed -e 's/"hidden_size": 64/"hidden_size": 256/; s/"intermediate_size": 128/"intermediate_size": 1024/' \
	-e 's/"max_position_embeddings": 1024/"max_position_embeddings": 8192/' "$M/config.json" \
	> "$TMP/long.json"
$TOOLS/g3_random_model "$TMP/long.json" 50257 "$TMP/long" > /dev/null &&
	head -c 24000 "$F/text/tinyshakespeare.txt" > "$TMP/long.txt"
ok $? "a model of 8,192 positions and a prompt of about 7,000 tokens"
bin/bonsai-generate -m "$TMP/long" -t "$TOK" -j 1 -f "$TMP/long.txt" -n 4 --no-echo \
	> "$TMP/int.out" 2> "$TMP/int.err" &
pid=$!
sleep 1
kill -INT $pid
i=0; while [ $i -lt 100 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill -0 $pid 2>/dev/null && { kill -9 $pid; echo "# still running 10 s after SIGINT"; }
wait $pid
[ $? -eq 1 ] && grep -q "interrupted by signal 2" "$TMP/int.err" && [ ! -s "$TMP/int.out" ]
ok $? "SIGINT during the prompt: exit 1 at once, no token written" || diag "$(cat "$TMP/int.err")"
done_testing
