#!/bin/sh
# make run's refusals: an unknown run names the runs there are; a RUN_DIR
# or SHARED with a space in it (make cannot name such files) is refused
# naming the setting, and nothing is written; the demo without its test data
# names the folder it looked in ($BONSAI_SHARED when set).
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

# the test data's folder: $BONSAI_SHARED, as for the tests (a run of the
# demo there names the folder it found no parquet files in)
mkd run RUN=demo "RUN_DIR=$T/d2" "BONSAI_SHARED=$T/none"
[ "$rc" -ne 0 ] && grep -q "no .parquet files in $T/none/fixtures/fineweb-edu" "$T/err"
ok $? "make run reads the test data from \$BONSAI_SHARED (exit $rc)" || diag "$(tail -n 3 "$T/err")"
[ ! -e "$T/d2/files.tsv" ]
ok $? "and leaves no list of files behind"

done_testing
