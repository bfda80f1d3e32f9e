#!/bin/sh
# The shell tests' TAP helpers (tests/tap.sh) when the data in ../shared
# is absent: a test that needs it from the start is skipped whole; one that
# needs it after some tests ends there with a plan that counts them (not
# "1..0" after them, which prove reports as a bad plan).
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

done_testing
