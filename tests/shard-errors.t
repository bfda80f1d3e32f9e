#!/bin/sh
# bonsai-shard: bad input gets a clear message naming the file, a non-zero
# exit, and no half-written output.
. tests/tap.sh

awk 'BEGIN { srand(3); for (d = 0; d < 50; d++) { line = ""; for (i = 0; i < 200; i++) line = line (i ? " " : "") int(rand() * 1000); print line } }' >"$T/ids"
$TOOLS/mkstream 1000 <"$T/ids" >"$T/stream"
bin/bonsai-shard -q -o "$T/good" -n 3000 "$T/stream" || echo "# setup failed"

no_leftovers() { # no temporary or finished files in DIR other than the allowed ones
	[ -z "$(ls -A "$1" 2>/dev/null)" ]
}

# -o "$DIR" with DIR unset: refused before the work, which used to run
# to its end and fail at the last rename, "cannot rename .tmp-PID into place"
mkdir "$T/cwd"
run sh -c 'cd "$1" && exec "$2" -q -o "" "$3"' sh "$T/cwd" "$PWD/bin/bonsai-shard" "$T/stream"
fails_with 2 "^bonsai-shard: -o: an empty directory name" "-o '': a usage error"
no_leftovers "$T/cwd"; ok $? "-o '': nothing written in the current folder"

# Input streams.
# A later input that is not there is named before the first is read: here
# the first never ends (a pipe whose writer sleeps), as a long input would
# be sharded for hours before the error.
mkfifo "$T/slow"
(exec sleep 30) > "$T/slow" &
writer=$!
run timeout 10 bin/bonsai-shard -q -o "$T/late" - "$T/not-there.ts" < "$T/slow"
kill $writer
fails_with 1 "not-there.ts" "a missing later input: refused before the first is read"
[ ! -e "$T/late" ]; ok $? "and no output directory"
# --zstd 5 (its level is optional, so joined): 5 was taken as a stream
run bin/bonsai-shard -q -o "$T/z" --zstd 5 "$T/stream"
fails_with 2 "^bonsai-shard: --zstd 5: give the level joined, --zstd=5" "--zstd 5: a usage error saying how"
[ ! -e "$T/z" ]; ok $? "and no output directory"
# standard input named twice: the second read found it empty, after the
# first was sharded ("stdin: empty input")
run bin/bonsai-shard -q -o "$T/twice" - - < "$T/stream"
fails_with 2 "^bonsai-shard: - \(standard input\) is named twice" "- - : a usage error"
[ ! -e "$T/twice" ]; ok $? "and no output directory"
run bin/bonsai-shard -o "$T/o1" /dev/null
fails_with 1 "/dev/null: empty input" "empty input is an error"
no_leftovers "$T/o1"; ok $? "empty input: nothing written"

printf 'hello world, not tokens at all.............................................' >"$T/junk"
run bin/bonsai-shard -o "$T/o2" "$T/junk"
fails_with 1 "junk: not a bonsai token stream" "wrong magic in a token stream"

head -c 3000 "$T/stream" >"$T/cut"
run bin/bonsai-shard -o "$T/o3" -n 100 "$T/cut"
fails_with 1 "cut: truncated" "truncated token stream"
no_leftovers "$T/o3"; ok $? "truncated stream: no shard or manifest left behind"

# 48-byte header + 10 frames of 4 + 200*2 bytes: cut right after document 10
$TOOLS/mkstream --truncate 4088 1000 <"$T/ids" >"$T/noend"
run bin/bonsai-shard -o "$T/o3b" "$T/noend"
fails_with 1 "noend: truncated: the token stream ends without its end mark" "stream without its end mark (writer died between documents)"

echo "1 2 1000" | $TOOLS/mkstream 1001 >"$T/big"
# patch the vocab field (byte 20) down to 1000 and fix nothing else: header check fails
printf '\350\003' | dd of="$T/big" bs=1 seek=20 conv=notrunc 2>/dev/null
run bin/bonsai-shard -o "$T/o4" "$T/big"
fails_with 1 "big: damaged token stream header" "damaged stream header"

cp "$T/stream" "$T/v2"; printf '\002' | dd of="$T/v2" bs=1 seek=8 conv=notrunc 2>/dev/null
run bin/bonsai-shard -o "$T/o5" "$T/v2"
fails_with 1 "v2: token stream version 2 is not supported" "unknown stream version"

# Shards.
s="$T/good/train_000000.bin"
cp "$s" "$T/magic.bin"; printf 'X' | dd of="$T/magic.bin" bs=1 seek=0 conv=notrunc 2>/dev/null
run bin/bonsai-shard info "$T/magic.bin"
fails_with 1 "magic.bin: not a bonsai shard \(wrong magic\)" "shard with wrong magic"

cp "$s" "$T/ver.bin"; printf '\011' | dd of="$T/ver.bin" bs=1 seek=8 conv=notrunc 2>/dev/null
run bin/bonsai-shard info "$T/ver.bin"
fails_with 1 "ver.bin: shard format version 9 is not supported" "shard of a later version"

head -c 1000 "$s" >"$T/trunc.bin"
run bin/bonsai-shard info "$T/trunc.bin"
fails_with 1 "trunc.bin: truncated" "truncated shard"
head -c 50 "$s" >"$T/trunc2.bin"
run bin/bonsai-shard info "$T/trunc2.bin"
fails_with 1 "trunc2.bin: truncated: file ends inside the shard header" "shard cut inside its header"

cp -r "$T/good" "$T/flip"
printf '\377' | dd of="$T/flip/train_000000.bin" bs=1 seek=500 conv=notrunc 2>/dev/null
run bin/bonsai-shard verify "$T/flip"
fails_with 1 "flip/train_000000.bin: checksum mismatch" "verify: a flipped byte is a checksum mismatch"
run bin/bonsai-shard cat "$T/flip"
fails_with 1 "checksum mismatch" "cat also refuses a damaged shard"

cp -r "$T/good" "$T/nomani"; rm "$T/nomani/manifest"
run bin/bonsai-shard verify "$T/nomani"
fails_with 1 "nomani/manifest: cannot open" "verify: missing manifest"

cp -r "$T/good" "$T/extra"; cp "$T/good/train_000000.bin" "$T/extra/train_000099.bin"
# a file where the folder goes: said so, not "FILE/manifest: ... Not a directory"
run bin/bonsai-shard verify "$T/stream"
fails_with 1 "^bonsai-shard: $T/stream: not a directory \(a shard folder made by bonsai-shard\)\$" "verify FILE: not a directory, a shard folder expected"

run bin/bonsai-shard verify "$T/extra"
fails_with 1 "train_000099.bin: shard not listed" "verify: a shard the manifest does not list"

cp -r "$T/good" "$T/gone"; rm "$T/gone/train_000001.bin"
run bin/bonsai-shard verify "$T/gone"
fails_with 1 "gone/train_000001.bin: cannot open" "verify: a listed shard is missing"

# Token ids at or above the vocabulary size: written by hand, since the
# stream writer refuses them (checked too).
echo "1 2 3" | $TOOLS/mkstream 3 >/dev/null 2>"$T/err"
grep -q "token id 3 is not below the vocabulary size 3" "$T/err"
ok $? "the stream writer refuses a token id >= vocab size"
echo "1 2 2" | $TOOLS/mkstream 3 >"$T/oob"
# the last token (bytes 48+4+4 .. +6) becomes 7 (>= 3)
printf '\007' | dd of="$T/oob" bs=1 seek=56 conv=notrunc 2>/dev/null
run bin/bonsai-shard -o "$T/o6" "$T/oob"
fails_with 1 "oob: document 1: token id 7 is not below the vocabulary size 3" "the shard writer refuses a token id >= vocab size"
no_leftovers "$T/o6"; ok $? "bad token id: nothing left behind"

# Output side.
run bin/bonsai-shard -o "$T/good" "$T/stream"
fails_with 1 "already holds shards" "an existing shard directory is not overwritten without --force"
run bin/bonsai-shard -q -o "$T/good" -n 100000 --force "$T/stream"
ok $rc "--force replaces it"
[ "$(ls "$T/good" | wc -l)" -eq 2 ]
ok $? "--force removes the old set's other shards"

touch "$T/afile"
run bin/bonsai-shard -o "$T/afile/sub" "$T/stream"
fails_with 1 "afile/sub: cannot create directory" "output under a regular file"

run bin/bonsai-shard cat "$T/good"
ok 0 "cat to a pipe or file works"
bin/bonsai-shard cat "$T/good" >/dev/full 2>"$T/err"
rc=$?
fails_with 1 "stdout: write failed: No space left on device" "cat: a full output is an error"

if unshare -m true 2>/dev/null && [ "$(id -u)" = 0 ]; then
	mkdir -p "$T/full" "$T/ro"
	unshare -m sh -c "mount -t tmpfs -o size=16k tmpfs '$T/full' && \
		bin/bonsai-shard -o '$T/full/d' -n 2000 '$T/stream'; echo \$? >'$T/rc'; ls -A '$T/full/d' >'$T/left'" 2>"$T/err"
	rc=$(cat "$T/rc")
	fails_with 1 "No space left on device" "a full disk (ENOSPC) is a clear error"
	[ ! -s "$T/left" ]
	ok $? "full disk: no shard, temporary file or manifest left behind"
	unshare -m sh -c "mount -t tmpfs -o ro tmpfs '$T/ro' && \
		bin/bonsai-shard -o '$T/ro' '$T/stream'; echo \$? >'$T/rc'" 2>"$T/err"
	rc=$(cat "$T/rc")
	fails_with 1 "ro: directory is not writable" "an unwritable directory is a clear error"
else
	for i in 1 2 3; do skip "needs root and mount namespaces for the full-disk tests"; done
fi

run bin/bonsai-shard --tokens-per-shard 0 -o "$T/x"
fails_with 2 "out of range" "a bad option value is a usage error (exit 2)"
run bin/bonsai-shard
fails_with 2 "no output directory" "no -o is a usage error"
run bin/bonsai-shard --help
ok $rc "--help exits 0"
grep -q "usage: bonsai-shard" "$T/out"; ok $? "--help prints usage to stdout"

# Each subcommand has its own usage: --help and -h print it on stdout and
# exit 0; an unknown option is a usage error (exit 2) with the usage on stderr.
for sub in info verify cat; do
	for h in --help -h; do
		run bin/bonsai-shard $sub $h
		[ $rc -eq 0 ] && head -n 1 "$T/out" | grep -q "^usage: bonsai-shard $sub " && [ ! -s "$T/err" ]
		ok $? "$sub $h: its own usage on stdout, exit 0"
	done
	run bin/bonsai-shard $sub --no-such-option "$T/good"
	fails_with 2 "bonsai-shard: $sub: unknown option '--no-such-option'" "$sub: an unknown long option is a usage error"
	grep -q "^usage: bonsai-shard $sub " "$T/err" && [ ! -s "$T/out" ]
	ok $? "$sub: the usage goes to stderr then"
	run bin/bonsai-shard $sub -Z "$T/good"
	fails_with 2 "$sub: unknown option '-Z'" "$sub: an unknown short option is a usage error"
done
run bin/bonsai-shard info -- "$s"
[ $rc -eq 0 ] && grep -q '"split": "train"' "$T/out"
ok $? "info: -- ends the options"
run bin/bonsai-shard verify
fails_with 2 "verify: give one shard directory" "verify without a directory is a usage error"

done_testing
