#!/bin/sh
# bonsai-shard --force over an existing set: the new set is built beside the
# old one and swapped in when complete, so a truncated input or a kill -9
# part-way leaves the old set verifying as before.
. tests/tap.sh

awk 'BEGIN { srand(5); for (d = 0; d < 400; d++) { line = ""; for (i = 0; i < 300; i++) line = line (i ? " " : "") int(rand() * 1000); print line } }' >"$T/ids"
$TOOLS/mkstream 1000 <"$T/ids" >"$T/stream"
head -n 100 "$T/ids" | $TOOLS/mkstream 1000 >"$T/small"
bin/bonsai-shard -q -o "$T/set" -n 5000 "$T/small" || echo "# setup failed"
sums() { cat "$1/manifest"; for f in "$1"/*.bin; do cksum <"$f"; done; }
sums "$T/set" >"$T/old.sums"

same_old_set() { # DIR still verifies and holds exactly the old set
	bin/bonsai-shard verify "$1" >/dev/null 2>"$T/verr" && sums "$1" | cmp -s - "$T/old.sums"
}
no_siblings() { [ -z "$(ls -d "$T"/set.tmp-* 2>/dev/null)" ]; }

# A stream cut part-way: with -n 5000 the new run has finished shards
# (train_000000.bin ... are the old set's names too) before the cut.
head -c 150000 "$T/stream" >"$T/cut"
run bin/bonsai-shard -q -o "$T/set" -n 5000 --force "$T/cut"
fails_with 1 "cut: truncated" "a truncated stream fails"
same_old_set "$T/set"; ok $? "truncated stream over an existing set: the old set verifies, same files"
no_siblings; ok $? "truncated stream: the temporary set is removed"

# kill -9 while shards are written: the stream is fed slowly through a pipe.
# The loops are bounded (at most 10 s).
mkfifo "$T/fifo"
bin/bonsai-shard -q -o "$T/set" -n 5000 --force "$T/fifo" 2>"$T/err" &
pid=$!
(head -c 150000 "$T/stream"; exec sleep 20) >"$T/fifo" &
feeder=$!
i=0
while [ $i -lt 100 ] && [ -z "$(ls "$T"/set.tmp-*/train_000001.bin 2>/dev/null)" ]; do sleep 0.1; i=$((i + 1)); done
[ -n "$(ls "$T"/set.tmp-*/train_000001.bin 2>/dev/null)" ]
ok $? "the new set is built in a sibling directory (set.tmp-PID)"
kill -9 $pid 2>/dev/null
kill $feeder 2>/dev/null
wait 2>/dev/null
same_old_set "$T/set"; ok $? "kill -9 part-way: the old set verifies, same files"

# The next run cleans what the killed one left, and a complete run replaces the set.
run bin/bonsai-shard -q -o "$T/set" -n 7000 --force "$T/stream"
ok $rc "a complete --force run succeeds"
grep -q "removing what a killed run left" "$T/err"; ok $? "it says it removes the killed run's directory"
no_siblings; ok $? "no temporary set is left beside the directory"
bin/bonsai-shard verify "$T/set" >/dev/null && bin/bonsai-shard cat "$T/set" | cmp -s - "$T/stream"
ok $? "the new set verifies and holds the new stream"
[ "$(ls "$T/set" | wc -l)" -eq "$(($(grep -c '"file"' "$T/set/manifest") + 1))" ]
ok $? "only the new set's shards and its manifest are in the directory"

# Other files of the directory stay; a symlink to a set replaces the set it points to.
echo note >"$T/set/README"
ln -s set "$T/link"
run bin/bonsai-shard -q -o "$T/link" -n 5000 --force "$T/small"
ok $rc "--force through a symlink"
[ -L "$T/link" ] && same_old_set "$T/set"
ok $? "the symlink stays a symlink and the set it points to is replaced"
[ "$(cat "$T/set/README" 2>/dev/null)" = note ]; ok $? "a file that is not part of the set stays"

# Killed between the two renames of the fallback swap (a file system
# without RENAME_EXCHANGE): the set is only at set.tmp-PID.old. The next run
# puts it back before anything else, and without --force keeps it.
sh -c 'exit 0' &
dead=$!
wait $dead
mv "$T/set" "$T/set.tmp-$dead.old"
run bin/bonsai-shard -q -o "$T/set" -n 5000 "$T/small"
fails_with 1 "already holds shards" "a set moved aside by a killed run is back, so a run without --force is refused"
grep -q "restoring the set a killed run had moved aside" "$T/err"
ok $? "it says it restores the set"
same_old_set "$T/set" && [ ! -e "$T/set.tmp-$dead.old" ]
ok $? "the restored set verifies, same files, nothing left aside"

# A directory with shards but no manifest (removed by hand, a copy cut
# short) is written in place: the old shards are not the new set's, and
# left there they made the set fail verify after an exit 0.
bin/bonsai-shard -q -o "$T/bare" -n 1000 "$T/stream" && rm "$T/bare/manifest" && echo note >"$T/bare/README"
run bin/bonsai-shard -q -o "$T/bare" -n 50000 "$T/small"
fails_with 1 "bare: holds shards \(train_0000[0-9]*.bin\) but no manifest; use -f/--force" \
	"shards without a manifest: refused without --force, naming one"
[ ! -e "$T/bare/manifest" ]; ok $? "and nothing is written"
rm -f "$T/bare/manifest" # as the test before left it, passed or not
run bin/bonsai-shard -q -o "$T/bare" -n 50000 --force "$T/small"
ok $rc "shards without a manifest: --force replaces them"
bin/bonsai-shard verify "$T/bare" >/dev/null 2>"$T/verr" && bin/bonsai-shard cat "$T/bare" | cmp -s - "$T/small" &&
	[ "$(LC_ALL=C ls "$T/bare")" = "$(printf 'README\nmanifest\ntrain_000000.bin')" ]
ok $? "the new set verifies, alone beside the other file" || diag "$(head -n 2 "$T/verr"; ls "$T/bare")"

# A run still going (a live process id) is not touched.
mkdir "$T/set.tmp-$$" && touch "$T/set.tmp-$$/train_000000.bin"
run bin/bonsai-shard -q -o "$T/set" -n 5000 --force "$T/small"
[ $rc -eq 0 ] && [ -e "$T/set.tmp-$$/train_000000.bin" ]; ok $? "a sibling of a running process is left alone"

done_testing
