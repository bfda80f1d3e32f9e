#!/bin/sh
# bonsai-eval --check: the command, the task names and the device, with no
# model, tokenizer, sets or shards there (make run asks it before its first
# stage); one line and exit 0, or the error the evaluation would stop with.
. tests/tap.sh
C="bin/bonsai-eval -m $T/no-model -q --check"

run $C tasks piqa,hellaswag,arc_easy --device cpu
[ $rc -eq 0 ] && grep -qx "bonsai-eval --check: tasks piqa,hellaswag,arc_easy, device cpu" "$T/out" &&
	[ ! -s "$T/err" ]
ok $? "tasks with no sets and no model there: one line, exit 0" || diag "$(cat "$T/out" "$T/err")"
run $C tasks "piqa=$T/later/piqa,mine=$T/later/m.jsonl" --device cpu
[ $rc -eq 0 ]
ok $? "NAME=PATH whose files are still to come: exit 0" || diag "$(cat "$T/err")"
run $C tasks piqa,hellaswg --device cpu
fails_with 2 'unknown task "hellaswg"' "a misspelt task: exit 2, named"
run $C tasks piqa,piqa --device cpu
fails_with 2 "task piqa named twice" "a task named twice: exit 2"
run $C tasks --device cpu
fails_with 2 "name the tasks" "tasks without a list: exit 2"
run $C ppl --device cpu
[ $rc -eq 0 ] && grep -qx "bonsai-eval --check: ppl, device cpu" "$T/out"
ok $? "ppl: exit 0" || diag "$(cat "$T/err")"
run $C ppl extra --device cpu
fails_with 2 "ppl takes no argument" "ppl with an argument: exit 2"
run $C score --device cpu
fails_with 2 'unknown command "score"' "an unknown command: exit 2"
run bin/bonsai-eval tasks piqa --check
fails_with 2 "no model" "no -m: exit 2, as without --check"
if command -v nvidia-smi > /dev/null && nvidia-smi -L > /dev/null 2>&1; then
	skip "a GPU answers here"
else
	run $C ppl --device cuda
	fails_with 1 "^bonsai-eval: --device cuda: " "--device cuda without a usable GPU: exit 1, says why"
fi
# an option of another command was taken and ignored: ppl --max-length
# left the windows at --seq-len, ppl --samples wrote no samples, tasks
# --max-tokens scored every item
for a in "--max-length 16" "--bos 5" "--no-bos" "--samples $T/s.jsonl" "--limit 3" "--eval-dir $T"; do
	run $C ppl $a --device cpu
	fails_with 2 "^bonsai-eval: ppl: ${a%% *} is an option of tasks( and loglik)? only$" \
		"ppl $a: exit 2, the option named"
done
for a in "--data $T" "--seq-len 64" "--max-tokens 1k"; do
	run $C tasks piqa $a --device cpu
	fails_with 2 "^bonsai-eval: tasks: ${a%% *} is an option of ppl only$" "tasks $a: exit 2"
done
run $C loglik --samples "$T/s.jsonl" --device cpu
fails_with 2 "^bonsai-eval: loglik: --samples is an option of tasks only$" "loglik --samples: exit 2"
bin/bonsai-eval ppl -h > "$T/ppl.help" && ! grep -q -e "--bos" -e "--max-length" -e "--samples" "$T/ppl.help" &&
	bin/bonsai-eval loglik -h | grep -q -e "--max-length"
ok $? "ppl -h lists neither --bos nor --max-length; loglik -h lists --max-length"

# an output that cannot be made is refused before the model is read, not
# after the scoring (the results then lost)
run bin/bonsai-eval ppl -m "$T/no-model" --data "$T/no-data" -q --device cpu -o "$T/nodir/p.json"
fails_with 1 "^bonsai-eval: $T/nodir/p.json: cannot create" "-o in a missing folder: exit 1 before the model is read"
run bin/bonsai-eval tasks piqa -m "$T/no-model" --eval-dir "$T" -q --device cpu -o /dev/null \
	--samples "$T/nodir/s.jsonl"
fails_with 1 "^bonsai-eval: $T/nodir/s.jsonl: cannot create" "--samples in a missing folder: the same"
run $C ppl --device cpu -o "$T/p.json"
[ $rc -eq 0 ] && [ -z "$(ls "$T" | grep '^p\.json')" ]
ok $? "--check with -o: no output file, nor a temporary one"

touch "$T/afile"
run $C tasks piqa --device cpu --eval-dir "$T/afile"
fails_with 1 "afile: not a directory \(--eval-dir" "--eval-dir naming a file: exit 1, said so"
[ ! -e "$T/no-model" ]
ok $? "nothing written"
done_testing
