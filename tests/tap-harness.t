#!/bin/sh
# The shell tests' TAP helpers (tests/tap.sh): when the data in ../shared
# is absent, a test that needs it from the start is skipped whole, one that
# needs it after some tests ends there with a plan that counts them (not
# "1..0" after them, which prove reports as a bad plan); the scratch folder
# avoids a $TMPDIR with a space in it.
. tests/tap.sh

# a test script in $T: some tests, need_shared, one more test
mk() { # mk NAME NUMBER_BEFORE
	{
		echo "#!/bin/sh"
		echo ". tests/tap.sh"
		i=0
		while [ $i -lt "$2" ]; do
			echo "ok 0 \"before $i\""
			i=$((i + 1))
		done
		echo "need_shared"
		echo "ok 0 \"after\""
		echo "done_testing"
	} > "$T/$1.t"
}

mk none 0
BONSAI_SHARED=$T/absent sh "$T/none.t" > "$T/none.out"
rc=$?
[ $rc -eq 0 ] && [ "$(cat "$T/none.out")" = "1..0 # SKIP test data not found at $T/absent (see ../shared/README.md)" ]
ok $? "need_shared first, data absent: the whole test skipped (exit $rc)"

mk two 2
BONSAI_SHARED=$T/absent sh "$T/two.t" > "$T/two.out"
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '^ok' "$T/two.out")" -eq 2 ] && [ "$(tail -n 1 "$T/two.out")" = "1..2" ] &&
	! grep -q '^1\.\.0' "$T/two.out"
ok $? "need_shared after 2 tests, data absent: ends with plan 1..2 (exit $rc)" || diag "$(cat "$T/two.out")"

if command -v prove > /dev/null; then
	BONSAI_SHARED=$T/absent prove "$T/two.t" > "$T/prove.out" 2>&1 </dev/null
	rc=$?
	ok $rc "prove accepts that output" || diag "$(cat "$T/prove.out")"
else
	skip "prove not installed"
fi

mkdir -p "$T/present/fixtures"
BONSAI_SHARED=$T/present sh "$T/two.t" > "$T/present.out"
rc=$?
[ $rc -eq 0 ] && [ "$(tail -n 1 "$T/present.out")" = "1..3" ]
ok $? "with the data present the test goes on past need_shared (exit $rc)"

# a $TMPDIR with a space: the scratch folder goes to /tmp (make, which the
# run tests drive, splits file names at spaces); without one, under $TMPDIR
mkdir -p "$T/a b" "$T/ab"
printf '%s\n' '#!/bin/sh' '. tests/tap.sh' 'echo "$T"; [ -d "$T" ]' > "$T/where.t"
w=$(TMPDIR="$T/a b" sh "$T/where.t")
rc=$?
case $w in *" "*) rc=1 ;; /tmp/bonsai-test.*) ;; *) rc=1 ;; esac
ok $rc "TMPDIR with a space: the scratch folder is $w"
w=$(TMPDIR="$T/ab" sh "$T/where.t")
rc=$?
case $w in "$T/ab/bonsai-test."*) ;; *) rc=1 ;; esac
ok $rc "TMPDIR without one: the scratch folder is under it ($w)"

done_testing
