#!/bin/sh
# Progress lines: on a terminal (a pseudo-terminal from script(1)) the long
# stages show their rate and time left on one redrawn line; with stderr a
# file they print nothing of it; BONSAI_PROGRESS=1/0 and -q decide instead.
. tests/tap.sh
. tests/train-common.sh

command -v script > /dev/null || skip_all "script (util-linux) not found"

# ontty LOG CMD: runs CMD with its stdin, stdout and stderr on a
# pseudo-terminal; what it printed there goes to LOG.
ontty() {
	log=$1
	shift
	script -qefc "$*" /dev/null < /dev/null > "$log" 2>&1
}

# has_progress FILE WORD...: a line redrawn with \r that holds every WORD.
has_progress() {
	f=$1
	shift
	tr '\r' '\n' < "$f" > "$f.lines"
	grep -q "$(printf '\r')" "$f" || return 1
	for w in "$@"; do
		grep -q -- "$w" "$f.lines" || return 1
	done
}

awk 'BEGIN { srand(7); for (i = 0; i < 4000; i++) {
	s = ""; for (j = 0; j < 30; j++) s = s sprintf("word%d ", int(rand() * 500))
	printf "{\"text\":\"document %d: %s\"}\n", i, s } }' > "$T/docs.jsonl"
make_byte_tokenizer "$T/bytes.tiktoken"

ontty "$T/f.tty" bin/bonsai-filter "$T/docs.jsonl" -o "$T/clean.jsonl"
has_progress "$T/f.tty" "docs/s" "MB/s" "ETA"
ok $? "filter on a terminal: documents, docs/s, MB/s, ETA"
bin/bonsai-filter "$T/docs.jsonl" -o "$T/clean2.jsonl" 2> "$T/f.err"
! grep -q "$(printf '\r')" "$T/f.err" && ! grep -q "ETA" "$T/f.err" && grep -q "documents in" "$T/f.err"
ok $? "filter, stderr a file: its summary only, no progress line"

ontty "$T/t.tty" bin/bonsai-tokenize encode -t "$T/bytes.tiktoken" --pattern r50k_base --no-bos -o "$T/stream" "$T/clean.jsonl"
has_progress "$T/t.tty" "MB/s" "ETA"
ok $? "tokenize encode on a terminal: MB/s and ETA"
bin/bonsai-tokenize encode -t "$T/bytes.tiktoken" --pattern r50k_base --no-bos -o "$T/stream2" "$T/clean.jsonl" 2> "$T/t.err"
[ ! -s "$T/t.err" ] && cmp -s "$T/stream" "$T/stream2"
ok $? "tokenize encode, stderr a file: nothing on it, the same stream"

ontty "$T/s.tty" bin/bonsai-shard -o "$T/sh" --val-docs 50 "$T/stream"
has_progress "$T/s.tty" "tokens/s" "ETA"
ok $? "shard on a terminal: tokens/s and ETA"
bin/bonsai-shard -o "$T/sh2" --val-docs 50 "$T/stream" 2> "$T/s.err"
[ ! -s "$T/s.err" ]
ok $? "shard, stderr a file: nothing on it"
BONSAI_PROGRESS=1 bin/bonsai-shard -f -o "$T/sh2" --val-docs 50 "$T/stream" 2> "$T/s1.err"
has_progress "$T/s1.err" "ETA"
ok $? "BONSAI_PROGRESS=1 shows it on a file"
ontty "$T/s0.tty" BONSAI_PROGRESS=0 bin/bonsai-shard -f -o "$T/sh2" --val-docs 50 "$T/stream"
ontty "$T/sq.tty" BONSAI_PROGRESS=1 bin/bonsai-shard -q -f -o "$T/sh2" --val-docs 50 "$T/stream"
! grep -q "tokens/s" "$T/s0.tty" && ! grep -q "tokens/s" "$T/sq.tty"
ok $? "BONSAI_PROGRESS=0 hides it on a terminal; -q wins over BONSAI_PROGRESS=1"

PQ=$SHARED/fixtures/fineweb-edu/sample/10BT/000_00000.parquet
if [ -f "$PQ" ]; then
	ontty "$T/fetch.tty" bin/bonsai-fetch "$PQ" -o "$T/fetched.jsonl"
	has_progress "$T/fetch.tty" "MB of parquet" "MB/s" "ETA"
	ok $? "fetch on a terminal: MB of parquet read, MB/s, ETA"
	bin/bonsai-fetch "$PQ" -o "$T/fetched2.jsonl" 2> "$T/fetch.err"
	[ ! -s "$T/fetch.err" ]
	ok $? "fetch, stderr a file: nothing on it"
else
	ok 0 "fetch on a terminal # SKIP $PQ absent"
	ok 0 "fetch, stderr a file # SKIP $PQ absent"
fi

# A step of 80 micro-batches takes over a second: the line shows which one.
write_small_config "$T/small.json" 256
ontty "$T/train.tty" bin/bonsai-train --data "$T/sh" --model "$T/small.json" -o "$T/run" --steps 1 \
	--seq 64 --micro-batch 8 --batch-tokens 40960 --save-every 0 --device cpu ">" "$T/train.out"
has_progress "$T/train.tty" "micro-batch [0-9]* of 80" "ETA" && has_progress "$T/train.tty" "step 1/1 loss"
ok $? "train on a terminal: micro-batch k of 80 inside a step, the step line with its ETA"
bin/bonsai-train --data "$T/sh" --model "$T/small.json" -o "$T/run2" --steps 1 --seq 64 \
	--micro-batch 8 --batch-tokens 4096 --save-every 0 --device cpu > "$T/train2.out" 2> "$T/train.err"
! grep -q "$(printf '\r')" "$T/train.err" && ! grep -q "micro-batch\|ETA" "$T/train.err"
ok $? "train, stderr a file: no progress line"

ontty "$T/e.tty" bin/bonsai-eval ppl -m "$T/run" --data "$T/sh" --seq-len 64 --device cpu -o "$T/ppl.json"
has_progress "$T/e.tty" "tokens/s" "ETA"
ok $? "eval ppl on a terminal: tokens/s and ETA"
bin/bonsai-eval ppl -m "$T/run" --data "$T/sh" --seq-len 64 --device cpu -o "$T/ppl2.json" 2> "$T/e.err"
! grep -q "$(printf '\r')" "$T/e.err" && ! grep -q "ETA" "$T/e.err"
ok $? "eval ppl, stderr a file: no progress line"

EM=$SHARED/fixtures/eval/lm_eval_tiny
ETOK=$SHARED/fixtures/tokenizers/tiktoken/r50k_base.tiktoken
if [ -f "$EM/loglikelihoods.jsonl" ] && [ -f "$ETOK" ]; then
	head -n 20 "$EM/loglikelihoods.jsonl" > "$T/items.jsonl"
	ontty "$T/tasks.tty" bin/bonsai-eval tasks "$T/items.jsonl" -m "$EM" -t "$ETOK" -j 1 --device cpu -o "$T/tasks.json"
	has_progress "$T/tasks.tty" "scored [0-9]*/[0-9]* choices" "choices/s" "ETA"
	ok $? "eval tasks on a terminal: choices scored of all, choices/s, ETA"
	printf '{"context":"The sky is","continuation":" blue"}\n' > "$T/ll.jsonl"
	ontty "$T/ll.tty" bin/bonsai-eval loglik "$T/ll.jsonl" -m "$EM" -t "$ETOK" -j 1 --device cpu -o "$T/ll.out"
	has_progress "$T/ll.tty" "scored 1/1 choices" "ETA"
	ok $? "eval loglik on a terminal: the same line"
else
	ok 0 "eval tasks on a terminal # SKIP the eval fixtures are absent"
	ok 0 "eval loglik on a terminal # SKIP the eval fixtures are absent"
fi

done_testing
