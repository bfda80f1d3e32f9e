#!/bin/sh
# make run's refusals: an unknown run names the runs there are; a RUN_DIR
# or SHARED with a space in it (make cannot name such files) is refused
# naming the setting, and nothing is written; the demo without its test data
# names the folder it looked in ($BONSAI_SHARED when set); TOKENS and
# BATCH_TOKENS that are not numbers of tokens, FILES, BURST_STEPS and
# TOKENIZER_SAMPLE that are not whole numbers, and a TOKENIZER that is
# neither bpe:SIZE nor a file, are refused.
. tests/tap.sh

mkd() { make --no-print-directory "$@" > "$T/out" 2> "$T/err"; rc=$?; }

mkd run RUN=nosuch
fails_with 2 'RUN=nosuch: no runs/nosuch\.mk; the runs are: .*demo' "an unknown RUN: exit 2, the runs listed"

mkdir "$T/with space"
mkd run RUN=demo "RUN_DIR=$T/with space/demo"
fails_with 2 'RUN_DIR ".*with space/demo" has a space in it' "a RUN_DIR with a space: exit 2, named"
[ ! -e "$T/with space/demo" ]
ok $? "nothing written there"

mkd run RUN=demo "RUN_DIR=$T/demo" "SHARED=$T/with space"
fails_with 2 'SHARED ".*with space" has a space in it' "a SHARED with a space: exit 2, named"
[ ! -e "$T/demo" ]
ok $? "nothing written to RUN_DIR"

# a budget awk would misread ('2B' as 2 tokens: one step) is refused
# before anything is written
mkd run RUN=demo "RUN_DIR=$T/d3" TOKENS=2B
fails_with 2 'TOKENS=2B is not a number of tokens' "TOKENS=2B: exit 2, named"
mkd run RUN=demo "RUN_DIR=$T/d3" BATCH_TOKENS=1.5k
fails_with 2 'BATCH_TOKENS=1.5k is not a number of tokens' "BATCH_TOKENS=1.5k: exit 2, named"
mkd run RUN=demo "RUN_DIR=$T/d3" FILES=all
fails_with 2 'FILES=all is not a whole number of files' "FILES=all (awk: every file): exit 2, named"
mkd run RUN=demo "RUN_DIR=$T/d3" BURST_STEPS=five
fails_with 2 'BURST_STEPS=five is not a whole number' "BURST_STEPS=five: exit 2, named"
mkd run RUN=demo "RUN_DIR=$T/d3" BURST_STEPS=1
fails_with 2 'BURST_STEPS=1 times no step after the first' "BURST_STEPS=1 (no rate after its warm-up step): exit 2, named"
mkd run RUN=demo "RUN_DIR=$T/d3" TOKENIZER_SAMPLE=two
fails_with 2 'TOKENIZER_SAMPLE=two is not a whole number of files' "TOKENIZER_SAMPLE=two (make's wordlist failed): exit 2, named"
# a tokenizer that is not there, found after the fetch and the filter
mkd run RUN=demo "RUN_DIR=$T/d3" "TOKENIZER=$T/none.json"
fails_with 2 "TOKENIZER=$T/none.json: no such file" "TOKENIZER naming no file: exit 2, named"
mkd run RUN=demo "RUN_DIR=$T/d3" TOKENIZER=bpe:
fails_with 2 'TOKENIZER=bpe:: bpe:SIZE wants a vocabulary size' "TOKENIZER=bpe: (no size): exit 2, named"
mkd run RUN=demo "RUN_DIR=$T/d3" PEAK_FLOPS=989T
fails_with 2 "PEAK_FLOPS=989T is not a number of FLOP/s" "PEAK_FLOPS=989T (known only at the report): exit 2 at once, named"
mkd run RUN=demo "RUN_DIR=$T/d3" "PARQUET=$T/nope.parquet"
fails_with 2 "PARQUET: .*nope.parquet: no such file" "PARQUET naming a file that is not there: exit 2, named"
[ ! -e "$T/d3" ]
ok $? "nothing written to RUN_DIR"
make -n --no-print-directory train RUN=demo "RUN_DIR=$T/d4" TOKENS=3M BATCH_TOKENS=4k > "$T/out" 2> "$T/err" &&
	grep -q -- "--steps 768 --batch-tokens 4k " "$T/out"
ok $? "TOKENS=3M over BATCH_TOKENS=4k: 768 steps, the sizes' k and M being 1024s"

# a stage whose progress line cannot be written is still done
sh mk/stage.sh "$T/st" demo "$T/st/x/out" true 2> /dev/full && [ -s "$T/st/repro/times.tsv" ] &&
	grep -qx 'mkdir -p "$D"/x' "$T/st/repro/commands.sh"
ok $? "mk/stage.sh: exit 0 with stderr unwritable, the stage recorded with its folder"
# commands.sh names the run's files through $D (the folder it is in); one
# begun without that line goes on naming the folder itself
sh mk/stage.sh -o "$T/st" demo "$T/st/y" echo "$T/st/z" 2> /dev/null &&
	grep -Fqx 'echo "$D"/z > "$D"/y' "$T/st/repro/commands.sh" && [ "$(cat "$T/st/y")" = "$T/st/z" ] &&
	mkdir -p "$T/old/repro" && echo "# list: $T/old/files.tsv" > "$T/old/repro/commands.sh" &&
	sh mk/stage.sh "$T/old" demo "$T/old/x/out" true 2> /dev/null &&
	grep -qx "mkdir -p $T/old/x" "$T/old/repro/commands.sh" && ! grep -q '^D=' "$T/old/repro/commands.sh"
ok $? "commands.sh: the run's files as \"\$D\"/FILE; an older commands.sh goes on with the folder's name" ||
	diag "$(cat "$T/st/repro/commands.sh" "$T/old/repro/commands.sh")"

# the test data's folder: $BONSAI_SHARED, as for the tests (a run of the
# demo there names the folder it found no parquet files in)
mkd run RUN=demo "RUN_DIR=$T/d2" "BONSAI_SHARED=$T/none"
[ "$rc" -ne 0 ] && grep -q "no .parquet files in $T/none/fixtures/fineweb-edu" "$T/err"
ok $? "make run reads the test data from \$BONSAI_SHARED (exit $rc)" || diag "$(tail -n 3 "$T/err")"
[ ! -e "$T/d2/files.tsv" ]
ok $? "and leaves no list of files behind"
grep -q "files.tsv\] Error" "$T/err" && ! grep -q "No rule to make target" "$T/err"
ok $? "make stops at the list, saying so (not: no rule to make files.tsv)" || diag "$(tail -n 2 "$T/err")"

done_testing
