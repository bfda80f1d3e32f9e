#!/bin/sh
# mk/deps.sh, the package check `make` runs before compiling: with stubs of
# dpkg-query (one package reported missing), id, apt-get and sudo on a PATH
# of nothing else, it names the missing package, installs exactly it (as
# root with apt-get, else through sudo), or says the command to run; with
# nothing missing it runs no apt-get at all. Nothing is really installed.
. tests/tap.sh

S=$T/bin
mkdir -p "$S"
for t in sh sed tr awk dirname cat; do
	p=$(command -v $t) || skip_all "$t not found"
	ln -s "$p" "$S/$t"
done
# dpkg-query -W -f=FORMAT PKG...: every PKG installed except $MISSING
cat > "$S/dpkg-query" <<'STUB'
#!/bin/sh
shift 2
for p; do [ "$p" = "$MISSING" ] || echo "ii  $p"; done
STUB
printf '#!/bin/sh\necho "${UID_:-0}"\n' > "$S/id"
printf '#!/bin/sh\necho "apt-get $*" >> "$LOG"\n' > "$S/apt-get"
chmod +x "$S/dpkg-query" "$S/id" "$S/apt-get"
export LOG=$T/log

deps() { PATH=$S MISSING=$1 UID_=$2 sh mk/deps.sh $3 > "$T/out" 2> "$T/err"; rc=$?; }

deps "" 0
[ $rc = 0 ] && [ ! -e "$LOG" ] && [ ! -s "$T/err" ]
ok $? "nothing missing: exit 0, silent, no apt-get (not even update)"

deps libutf8proc-dev 0 --check
[ $rc = 1 ] && grep -q "missing Debian packages: libutf8proc-dev$" "$T/err" && [ ! -e "$LOG" ]
ok $? "--check names the missing package and installs nothing"

deps libutf8proc-dev 0
[ $rc = 0 ] && grep -q "^apt-get update" "$LOG" &&
	grep -q "^apt-get install -y -qq --no-install-recommends libutf8proc-dev$" "$LOG"
ok $? "as root: apt-get update, then install of exactly the missing package"

rm -f "$LOG"
printf '#!/bin/sh\necho "sudo $*" >> "$LOG"\n' > "$S/sudo"
chmod +x "$S/sudo"
deps librsvg2-bin 1000
[ $rc = 0 ] && grep -q "^sudo apt-get install -y -qq --no-install-recommends librsvg2-bin$" "$LOG" &&
	! grep -q "^apt-get" "$LOG"
ok $? "not root, sudo available: through sudo"

rm -f "$LOG" "$S/sudo"
deps lighttpd 1000
[ $rc = 1 ] && [ ! -e "$LOG" ] && [ "$(wc -l < "$T/err")" = 1 ] &&
	grep -q "apt-get install -y --no-install-recommends lighttpd" "$T/err"
ok $? "not root, no sudo: exit 1 and one line with the command ($(cat "$T/err"))"

# The list itself: every line of mk/packages is a package name or a comment.
! sed 's/#.*//' mk/packages | grep -v '^[[:space:]]*$' | grep -qv '^[a-z0-9][a-z0-9.+-]*$'
ok $? "mk/packages holds one package name a line"
grep -q "mk/deps.sh" .ci/run
ok $? ".ci/run installs through the same check"

done_testing
