#!/bin/sh
# bonsai-eval: its command line, every input format of the tasks (read
# from ../shared/fixtures/eval), and perplexity over shards checked against
# the log-likelihood of the same text.
. tests/eval-common.sh
E=$F/eval
eval_setup "$M/model.safetensors" "$TOK" "$E/piqa/valid.jsonl" "$E/arc_easy/ai2_arc_easy_test.json" \
	"$E/hellaswag/hellaswag_val_full.txt.bz2" "$F/text/tinyshakespeare.txt"
EV="bin/bonsai-eval -m $M -t $TOK -q -j 1"

# the command line
bin/bonsai-eval --help | grep -q '^usage: bonsai-eval tasks'; ok $? "--help prints the usage on stdout"
bin/bonsai-eval --version >/dev/null; ok $? "--version exits 0"
bin/bonsai-eval 2>/dev/null; [ $? -eq 2 ]; ok $? "no command: exit 2"
bin/bonsai-eval frobnicate -m "$M" 2>/dev/null; [ $? -eq 2 ]; ok $? "an unknown command: exit 2"
bin/bonsai-eval tasks piqa 2>/dev/null; [ $? -eq 2 ]; ok $? "no model: exit 2"
$EV tasks piqa -f -o "$TMP/same.json" --samples "$TMP/same.json" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q -- "-o and --samples name the same file" "$TMP/err" && [ ! -e "$TMP/same.json" ]
ok $? "-o and --samples on one file: exit 2 (the samples replaced the scores)"
$EV tasks nosuchtask 2>/dev/null; [ $? -eq 2 ]; ok $? "an unknown task: exit 2"
$EV tasks "piqa=$TMP/none" 2>"$TMP/err"; [ $? -eq 1 ] && grep -q "$TMP/none" "$TMP/err"
ok $? "a missing task file: exit 1, naming it"
$EV tasks piqa --eval-dir "$TMP" 2>"$TMP/err"; [ $? -eq 1 ] && grep -q "bonsai-fetch --eval" "$TMP/err"
ok $? "a task not downloaded: exit 1, saying how to get it"
printf '{"goal": "x", "sol1": "a"}\n' > "$TMP/bad.jsonl"; echo 0 > "$TMP/bad-labels.lst"
$EV tasks "piqa=$TMP/bad.jsonl" 2>"$TMP/err"; [ $? -eq 1 ] && grep -q "bad.jsonl:1: \"sol2\"" "$TMP/err"
ok $? "a malformed item: exit 1 with FILE:LINE"

# --no-bos and an empty context leave the continuation's first token with
# no position before it: loglik read before the input (a crash), tasks
# stopped on an "internal error"
printf '{"context": "", "continuation": "hello world again"}\n' > "$TMP/nobos.jsonl"
$EV loglik "$TMP/nobos.jsonl" --no-bos -o "$TMP/nobos.out" 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "nobos.jsonl:1: an empty context and no BOS token (--no-bos)" "$TMP/err" &&
	[ ! -e "$TMP/nobos.out" ]
ok $? "loglik --no-bos, empty context: exit 1 with FILE:LINE" || diag "$(cat "$TMP/err")"
printf '{"context": "", "choices": ["hello world", "good night"], "gold": 0}\n' > "$TMP/nobos2.jsonl"
$EV tasks "$TMP/nobos2.jsonl" --no-bos -o /dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "nobos2 ($TMP/nobos2.jsonl): item 0, choice 0: an empty context and no BOS" "$TMP/err"
ok $? "tasks --no-bos, empty context: exit 1 naming the task and item" || diag "$(cat "$TMP/err")"
# a continuation longer than --max-length: the limit named is the one
# given (it blamed "the model's 2 positions")
$EV loglik "$TMP/nobos.jsonl" --max-length 2 -o /dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "longer than a model input may be, 2 tokens (--max-length" "$TMP/err"
ok $? "loglik: a continuation past --max-length: exit 1, the option named" || diag "$(cat "$TMP/err")"

# ARC: the original JSONL and the Hugging Face JSON array give the same items
$EV tasks "arc_easy=$E/arc_easy/ARC-Easy-Test.jsonl" --limit 3 --samples "$TMP/a1" -o /dev/null &&
$EV tasks "arc_easy=$E/arc_easy/ai2_arc_easy_test.json" --limit 3 --samples "$TMP/a2" -o /dev/null &&
cmp -s "$TMP/a1" "$TMP/a2"; ok $? "ARC JSONL and ai2_arc JSON: identical samples"
# an item whose labels are 1..4 (the answer key "1" is the first label)
grep '"answerKey": "1"' "$E/arc_easy/ARC-Easy-Test.jsonl" | head -n 1 > "$TMP/num.jsonl"
$EV tasks "arc_easy=$TMP/num.jsonl" --samples "$TMP/a3" -o /dev/null && grep -q '"gold": 0,' "$TMP/a3"
ok $? "ARC with numeric labels: gold is the index of answerKey among them"

# HellaSwag's 6-line text form, bzip2-compressed or not, file or stdin
$EV tasks "hellaswag=$E/hellaswag/hellaswag_val_full.txt.bz2" --limit 2 --samples "$TMP/h1" \
	-o "$TMP/h1.json"; ok $? "HellaSwag .txt.bz2 read directly"
grep -q '"context": "Roof shingle removal: A man is sitting on a roof. he", "choices": \["is using wrap to wrap a pair of skis.", "is ripping level tiles off.", "is holding a rubik'"'"'s cube.", "starts pulling up roofing on a roof."\], "gold": 3' "$TMP/h1"
ok $? "HellaSwag text form: first item's context, endings and label"
grep -q '"original": 10042, "effective": 2' "$TMP/h1.json"; ok $? "all 10042 items read, 2 evaluated"
bzcat "$E/hellaswag/hellaswag_val_full.txt.bz2" | head -n 12 > "$TMP/hs.txt"
$EV tasks hellaswag=- --samples "$TMP/h2" -o /dev/null < "$TMP/hs.txt" && cmp -s "$TMP/h1" "$TMP/h2"
ok $? "the same from plain text on stdin"

# HellaSwag's official JSON Lines (rowanz/hellaswag's fields), zstd-compressed
cat > "$TMP/hs.jsonl" <<'END'
{"ind": 24, "activity_label": "Roof shingle removal", "ctx_a": "A man is sitting on a roof.", "ctx_b": "he", "ctx": "A man is sitting on a roof. he", "split": "val", "split_type": "indomain", "label": 3, "endings": ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.", "is holding a rubik's cube.", "starts pulling up roofing on a roof."], "source_id": "activitynet~v_-JhWjGDPHMY"}
{"ind": 92, "activity_label": "Home and Garden", "ctx_a": "[header] How to clean a grill. [title] Scrub the grates.", "ctx_b": "", "ctx": "", "split": "val", "split_type": "zeroshot", "label": "0", "endings": ["Use a [substeps] wire brush.", "b", "c", "d"], "source_id": "wikihow~1"}
END
if command -v zstd >/dev/null; then zstd -q "$TMP/hs.jsonl" -o "$TMP/hs.jsonl.zst"; else cp "$TMP/hs.jsonl" "$TMP/hs.jsonl.zst"; fi
$EV tasks "hellaswag=$TMP/hs.jsonl.zst" --samples "$TMP/h3" -o /dev/null &&
grep -q '"context": "Roof shingle removal: A man is sitting on a roof. He", .*"gold": 3' "$TMP/h3" &&
grep -q '"context": "Home and Garden: How to clean a grill.. Scrub the grates.", "choices": \["Use a wire brush.", "b", "c", "d"\], "gold": 0' "$TMP/h3"
ok $? "HellaSwag official JSON Lines: lm-eval's query and endings"

# PIQA from the default directory and by name of its file
mkdir -p "$TMP/evdir/piqa"
head -n 3 "$E/piqa/valid.jsonl" > "$TMP/evdir/piqa/valid.jsonl"
head -n 3 "$E/piqa/valid-labels.lst" > "$TMP/evdir/piqa/valid-labels.lst"
BONSAI_EVAL_DIR="$TMP/evdir" $EV tasks piqa --samples "$TMP/p1" -o /dev/null &&
$EV tasks "piqa=$E/piqa/valid.jsonl" --limit 3 --samples "$TMP/p2" -o /dev/null &&
cmp -s "$TMP/p1" "$TMP/p2"; ok $? "PIQA found in \$BONSAI_EVAL_DIR/piqa, and by file"

# ready-made items, grouped by their "task" member
head -n 2 "$E/lm_eval_tiny/loglikelihoods.jsonl" > "$TMP/mine.jsonl"
$EV tasks "$TMP/mine.jsonl" --samples "$TMP/g1" -o "$TMP/g1.json" &&
grep -q '"piqa": {' "$TMP/g1.json" && [ "$(wc -l < "$TMP/g1")" -eq 2 ]
ok $? "a JSON Lines file of {context, choices, gold} is a task"

# perplexity: one window over [BOS] + text equals the text's log-likelihood after BOS
TEXT="The water cycle is the path that all water follows as it moves around Earth in different states."
printf '{"text": "%s"}\n{"text": "Another document, for the train split."}\n' "$TEXT" |
	bin/bonsai-tokenize encode -t "$TOK" -q -o "$TMP/s.tok" &&
	bin/bonsai-shard -q -o "$TMP/sh" --val-docs 1 "$TMP/s.tok"
ok $? "shards made (bonsai-tokenize, bonsai-shard)"
$EV ppl --data "$TMP/sh" -o "$TMP/ppl.json"; ok $? "ppl runs"
$EV ppl --data "$TMP/sh" --seq-len 4 -o "$TMP/ppl4.json" --batch-tokens 8
$EV ppl --data "$TMP/sh" --max-tokens 5 -o "$TMP/ppl5.json"
printf '{"context": "", "continuation": "%s"}\n' "$TEXT" > "$TMP/req.jsonl"
$EV loglik "$TMP/req.jsonl" -o "$TMP/ll.jsonl"
perl -MJSON::PP -e '
	local $/;
	my @j = map { open my $f, "<", $_ or die "$_\n"; decode_json(<$f>) } @ARGV;
	my ($p, $p4, $p5, $l) = @j;
	my $n = $p->{tokens};
	printf "# loss %.12g over %d tokens, loglik %.12g over %d\n", $p->{loss}, $n,
	    $l->{loglikelihood}, $l->{continuation_tokens};
	exit !($n == $l->{continuation_tokens} && $n == $p->{val_tokens} - 1 &&
	       abs($p->{loss} * $n + $l->{loglikelihood}) < 1e-6 * abs($l->{loglikelihood}) &&
	       abs(exp($p->{loss}) - $p->{ppl}) < 1e-9 * $p->{ppl} &&
	       $p4->{tokens} == $n && $p4->{windows} == int(($n + 3) / 4) && $p5->{tokens} == 5);
' "$TMP/ppl.json" "$TMP/ppl4.json" "$TMP/ppl5.json" "$TMP/ll.jsonl"
ok $? "ppl: loss x tokens = -loglik of the text; windows of --seq-len; --max-tokens"
bin/bonsai-eval ppl -m "$M" -t "$F/tokenizers/tiktoken/cl100k_base.tiktoken" --data "$TMP/sh" -q 2>/dev/null
[ $? -eq 1 ]; ok $? "ppl: a tokenizer that does not fit the model is refused"
bin/bonsai-eval ppl -m "$M" --data "$TMP/sh" -q --seq-len 2000 2>/dev/null
[ $? -eq 2 ]; ok $? "ppl: --seq-len beyond the model's positions is a usage error"
bin/bonsai-eval ppl -m "$M" --data "$TMP/sh/manifest" -q 2> "$TMP/err"
[ $? -eq 1 ] && grep -qx "bonsai-eval: $TMP/sh/manifest: not a directory (a shard folder made by bonsai-shard)" "$TMP/err"
ok $? "ppl --data FILE: not a directory, a shard folder expected" || diag "$(cat "$TMP/err")"

# a checkpoint and its export give the same numbers (one training step of
# the tiny model on Shakespeare, so that the weights are bonsai-train's own)
head -c 6000 "$F/text/tinyshakespeare.txt" |
	perl -MJSON::PP -0777 -ne 'print encode_json({text => $_}), "\n" for split /\n\n/' |
	bin/bonsai-tokenize encode -t "$TOK" -q -o "$TMP/sk.tok" &&
	bin/bonsai-shard -q -o "$TMP/skd" --val-docs 5 "$TMP/sk.tok" &&
	bin/bonsai-train --data "$TMP/skd" --model "$M/config.json" --init "$M" -o "$TMP/run" \
		--steps 1 --batch-tokens 32 --seq 16 --micro-batch 2 --warmup 1 -q 2>/dev/null &&
	bin/bonsai-train export "$TMP/run" -o "$TMP/exp" 2>/dev/null
ok $? "a one-step run of bonsai-train, exported"
for m in run exp; do
	$EV ppl -m "$TMP/$m" --data "$TMP/skd" -o "$TMP/ppl_$m.json" &&
	$EV tasks "piqa=$E/piqa" --limit 2 -m "$TMP/$m" --samples "$TMP/s_$m" -o /dev/null
done
cmp -s "$TMP/s_run" "$TMP/s_exp" && [ -s "$TMP/s_run" ]
ok $? "task scores from the checkpoint and from its export are equal"
a=$(grep '"loss"' "$TMP/ppl_run.json") && [ -n "$a" ] && [ "$a" = "$(grep '"loss"' "$TMP/ppl_exp.json")" ]
ok $? "perplexity from the checkpoint and from its export is equal"
done_testing
