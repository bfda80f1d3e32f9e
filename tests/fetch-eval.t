#!/bin/bash
# bonsai-fetch --eval: evaluation sets from a mirror on 127.0.0.1 (lighttpd
# with Range support, behind tests/tools/faultproxy.c), into the directory
# bonsai-eval reads. References: the fixture files (cmp), sha256sum, the
# pinned PIQA hashes (the fixture is the official file), and bonsai-eval's
# own reading of the fixtures. The HellaSwag file and the ARC zip are built
# here from the fixtures (python3), so they are checked with --eval-sha256
# against the hashes sha256sum gives.
. tests/tap.sh
E=$SHARED/fixtures/eval
TOK=$SHARED/fixtures/tokenizers/tiktoken/r50k_base.tiktoken
M=$E/lm_eval_tiny
PROXY=$BUILD/tests/tools/faultproxy
for f in "$E/piqa/valid.jsonl" "$E/piqa/valid-labels.lst" "$E/arc_easy/ARC-Easy-Test.jsonl" \
	"$E/arc_easy/ARC-Easy-Dev.jsonl" "$E/hellaswag/hellaswag_val_full.txt.bz2"; do
	[ -f "$f" ] || skip_all "$f is absent"
done
command -v lighttpd >/dev/null || [ -x /usr/sbin/lighttpd ] || skip_all "lighttpd not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
[ -x "$PROXY" ] || skip_all "$PROXY not built (make $PROXY)"

. tests/http-server.sh
# nothing_in DIR: no file at all below DIR (no partial, no temporary file)
nothing_in() { [ -z "$(find "$1" -type f 2>/dev/null)" ]; }

PIQA_SHA=93503cc97c679e459b065c3d13e848282e44b2a25213985bed3e5d458abef72d
LABELS_SHA=b4192dc3a2a0363d9d60ccf79800cbbe2f32ebb17726efdde6970e0b8131bceb
ARC_MEMBER=ARC-V1-Feb2018-2/ARC-Easy/ARC-Easy-Test.jsonl

# --- mirrors, each laid out as piqa/, hellaswag/, arc/ ---
R=$T/root
mkdir -p "$R/m/piqa" "$R/m/hellaswag" "$R/m/arc" "$R/empty"
cp "$E/piqa/valid.jsonl" "$E/piqa/valid-labels.lst" "$R/m/piqa/"
# HellaSwag in the official JSON Lines form, from the fixture's 6-line text
# form (all 10,042 items).
python3 - "$E/hellaswag/hellaswag_val_full.txt.bz2" "$R/m/hellaswag/hellaswag_val.jsonl" <<'PY' || exit 1
import bz2, json, sys
lines = bz2.open(sys.argv[1], "rt", encoding="utf-8").read().split("\n")
if lines and lines[-1] == "":
    lines.pop()
assert len(lines) % 6 == 0
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for i in range(0, len(lines), 6):
        act, ctx = lines[i].split(": ", 1)
        f.write(json.dumps({"ind": i // 6, "activity_label": act, "ctx_a": ctx, "ctx_b": "",
            "ctx": ctx, "split": "val", "split_type": "indomain", "label": int(lines[i + 1]),
            "endings": lines[i + 2:i + 6]}) + "\n")
PY
# ARC zips: the release's layout with a large stored corpus first (so that
# reading only the member shows), deflated test files; and variants.
python3 - "$E/arc_easy/ARC-Easy-Test.jsonl" "$E/arc_easy/ARC-Easy-Dev.jsonl" "$R" <<'PY' || exit 1
import io, os, random, struct, sys, zipfile
test, dev, root = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), sys.argv[3]
corpus = random.Random(7).randbytes(1500000)
top = "ARC-V1-Feb2018-2/"
member = top + "ARC-Easy/ARC-Easy-Test.jsonl"

class Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in: it writes data descriptors."""
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)
    def seekable(self): return False
    def tell(self): raise OSError("unseekable")

def build(name, members, stream=False):
    os.makedirs(os.path.join(root, name, "arc"), exist_ok=True)
    path = os.path.join(root, name, "arc", "ARC-V1-Feb2018.zip")
    with open(path, "wb") as raw:
        with zipfile.ZipFile(Unseekable(raw) if stream else raw, "w") as z:
            for n, data, how in members:
                z.writestr(zipfile.ZipInfo(n, (2018, 2, 1, 0, 0, 0)), data, compress_type=how)
    return path

D, S = zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED
full = [(top + "ARC_Corpus.txt", corpus, S), (top + "ARC-Easy/ARC-Easy-Dev.jsonl", dev, D),
        (member, test, D), (top + "README.txt", b"ARC\n", D)]
good = build("m", full)
build("dd", [(top + "ARC_Corpus.txt", corpus, S), (member, test, S)], stream=True)
build("nomember", [m for m in full if m[0] != member])
short = test[:test.rstrip(b"\n").rfind(b"\n") + 1]
build("short", [(member, short, D)])
open(os.path.join(root, "short.sha"), "w").write(__import__("hashlib").sha256(short).hexdigest())
# A flipped byte inside the member's deflate data.
blob = bytearray(open(good, "rb").read())
with zipfile.ZipFile(good) as z:
    off = z.getinfo(member).header_offset
nl, xl = struct.unpack("<HH", blob[off + 26:off + 30])
blob[off + 30 + nl + xl + 5000] ^= 0x55
os.makedirs(os.path.join(root, "crc", "arc"))
open(os.path.join(root, "crc", "arc", "ARC-V1-Feb2018.zip"), "wb").write(blob)
# The archive cut short: no end record.
os.makedirs(os.path.join(root, "cut", "arc"))
open(os.path.join(root, "cut", "arc", "ARC-V1-Feb2018.zip"), "wb").write(open(good, "rb").read()[:-300])
PY
# PIQA with one byte changed (same size), and cut short.
mkdir -p "$R/bad/piqa" "$R/trunc/piqa"
sed '5s/a/b/' "$E/piqa/valid.jsonl" > "$R/bad/piqa/valid.jsonl"
head -c 400000 "$E/piqa/valid.jsonl" > "$R/trunc/piqa/valid.jsonl"
cp "$E/piqa/valid-labels.lst" "$R/bad/piqa/"
cp "$E/piqa/valid-labels.lst" "$R/trunc/piqa/"
# HellaSwag with a label out of range.
mkdir -p "$R/badhs/hellaswag"
sed '7s/"label": [0-9]/"label": 7/' "$R/m/hellaswag/hellaswag_val.jsonl" > "$R/badhs/hellaswag/hellaswag_val.jsonl"

HS=$R/m/hellaswag/hellaswag_val.jsonl
HS_SHA=$(sha256sum "$HS" | cut -d' ' -f1)
ARC_SHA=$(sha256sum "$E/arc_easy/ARC-Easy-Test.jsonl" | cut -d' ' -f1)
PINS="--eval-sha256 hellaswag/hellaswag_val.jsonl=$HS_SHA --eval-sha256 arc_easy/ARC-Easy-Test.jsonl=$ARC_SHA"
ZIPSIZE=$(stat -c %s "$R/m/arc/ARC-V1-Feb2018.zip")

start_lighttpd "$R" "$T" || skip_all "could not start lighttpd"
U=http://127.0.0.1:$PORT
F="bin/bonsai-fetch -q --backoff 0.01"
unset BONSAI_EVAL_BASE_URL BONSAI_EVAL_DIR BONSAI_CACHE XDG_CACHE_HOME

# 1. The command line.
bin/bonsai-fetch --help > "$T/help"; ok $? "--help exits 0"
for o in "--eval LIST" "--eval-dir DIR" "--eval-base-url URL" "--eval-sha256 FILE=SHA256" BONSAI_EVAL_DIR BONSAI_EVAL_BASE_URL; do
	m=${o%% *}; m=${m/#--/Fl -}   # an option is written .Fl -NAME in mdoc
	grep -q -- "$o" "$T/help" && grep -qw -- "$m" man/man1/bonsai-fetch.1; ok $? "--help and bonsai-fetch(1) describe $o"
done
$F --eval nosuch --eval-dir "$T/x" 2> "$T/e"; [ $? = 2 ] && grep -q 'unknown set "nosuch"' "$T/e"; ok $? "an unknown set: exit 2, named"
$F --eval piqa some.parquet 2> "$T/e"; [ $? = 2 ] && grep -q "takes no SOURCE" "$T/e"; ok $? "--eval with a SOURCE: exit 2, said"
$F --eval piqa -o "$T/x.out" 2> "$T/e"; [ $? = 2 ] && grep -q "do not go with --eval" "$T/e"; ok $? "--eval with -o: exit 2, said"
$F --eval "" 2> "$T/e"; [ $? = 2 ] && grep -q -- "--eval: empty list" "$T/e"; ok $? "an empty --eval: exit 2, said"
$F --eval piqa, --eval-dir "$T/x" 2> "$T/e"; [ $? = 2 ] && grep -q 'unknown set ""' "$T/e"; ok $? "an empty name in the list: exit 2, said"
$F --eval piqa --eval-sha256 piqa/valid.jsonl=abc 2> "$T/e"; [ $? = 2 ] && grep -q "not 64 hexadecimal digits" "$T/e"
ok $? "--eval-sha256 with a short hash: exit 2, said"
$F --eval piqa --eval-sha256 "piqa/valid.jsonl=$(echo "$PIQA_SHA" | tr 0-9 g)" 2> "$T/e"; [ $? = 2 ] && grep -q "not 64 hexadecimal digits" "$T/e"
ok $? "--eval-sha256 with 64 characters that are not hexadecimal: exit 2, said"
$F --eval piqa --eval-sha256 "piqa/valid.jsonl=${PIQA_SHA}0" 2> "$T/e"; [ $? = 2 ] && grep -q "not 64 hexadecimal digits" "$T/e"
ok $? "--eval-sha256 with 65 digits: exit 2, said"
$F --eval piqa --eval-sha256 piqa/other=$PIQA_SHA 2> "$T/e"; [ $? = 2 ] && grep -q 'want FILE=SHA256 with FILE one of .*piqa/valid.jsonl' "$T/e"
ok $? "--eval-sha256 naming no set file: exit 2, the files listed"
$F --eval piqa --eval-sha256 piqa/valid.jsonl=$PIQA_SHA --eval-sha256 "piqa/valid.jsonl=$(echo "$PIQA_SHA" | tr 0-9 1-9a)" \
	--eval-dir "$T/x" 2> "$T/e"
[ $? = 2 ] && grep -q 'two hashes for piqa/valid.jsonl' "$T/e"; ok $? "--eval-sha256 giving one file two hashes: exit 2, said"
$F --eval piqa --eval-sha256 piqa/valid.jsonl 2> "$T/e"; [ $? = 2 ] && grep -q 'want FILE=SHA256' "$T/e"; ok $? "--eval-sha256 without =: exit 2, said"
$F --eval piqa --eval-base-url ftp://x 2> "$T/e"; [ $? = 2 ] && grep -q "is not an http:// or https:// URL" "$T/e"; ok $? "--eval-base-url not http(s): exit 2, said"
$F --eval-dir "$T/x" some.parquet 2> "$T/e"; [ $? = 2 ] && grep -q "go with --eval" "$T/e"; ok $? "--eval-dir without --eval: exit 2, said"
for o in "--eval-base-url $U/m" "--eval-sha256 piqa/valid.jsonl=$PIQA_SHA"; do
	$F $o some.parquet 2> "$T/e"; [ $? = 2 ] && grep -q "go with --eval" "$T/e"; ok $? "${o%% *} without --eval: exit 2, said"
done
[ ! -e "$T/x" ]; ok $? "usage errors create nothing"

# 2. A clean install of the three sets, through the proxy (for its log).
start_proxy o
bin/bonsai-fetch --backoff 0.01 --eval piqa,hellaswag,arc_easy --eval-base-url "$PX/m" --eval-dir "$T/ev1" $PINS \
	> "$T/sums" 2> "$T/err1"
ok $? "--eval piqa,hellaswag,arc_easy exits 0"
check "piqa/valid.jsonl byte-identical to the official file" cmp "$T/ev1/piqa/valid.jsonl" "$E/piqa/valid.jsonl"
check "piqa/valid-labels.lst byte-identical" cmp "$T/ev1/piqa/valid-labels.lst" "$E/piqa/valid-labels.lst"
check "hellaswag/hellaswag_val.jsonl byte-identical to the served file" cmp "$T/ev1/hellaswag/hellaswag_val.jsonl" "$HS"
check "arc_easy/ARC-Easy-Test.jsonl byte-identical to the zip's member" cmp "$T/ev1/arc_easy/ARC-Easy-Test.jsonl" "$E/arc_easy/ARC-Easy-Test.jsonl"
grep -q "^$PIQA_SHA  $T/ev1/piqa/valid.jsonl\$" "$T/sums" && grep -q "^$LABELS_SHA  $T/ev1/piqa/valid-labels.lst\$" "$T/sums"
ok $? "PIQA checked against the pinned official hashes (no override)"
(cd / && sha256sum --quiet -c "$T/sums"); ok $? "the SHA256  PATH lines on stdout pass sha256sum -c"
[ "$(wc -l < "$T/sums")" = 4 ]; ok $? "one line per file (4)"
grep -q "piqa/valid.jsonl: downloaded, 1838 items" "$T/err1" && grep -q "10042 items" "$T/err1" && grep -q "2376 items" "$T/err1"
ok $? "stderr reports each file with its item count"
[ "$(find "$T/ev1" -type f | wc -l)" = 4 ]; ok $? "nothing but the four files left (no .part, no temporary)"
# The zip is read with range requests only, and little of it.
awk -v z="$ZIPSIZE" '/ARC-V1-Feb2018.zip/ { n++; if ($0 !~ /\| bytes=[0-9]+-[0-9]+ \|/) bad = 1;
	match($0, /bytes=[0-9]+-[0-9]+/); split(substr($0, RSTART + 6, RLENGTH - 6), r, "-"); got += r[2] - r[1] + 1 }
	END { exit !(n > 0 && !bad && got < z / 3) }' "$T/plog"
ok $? "the ARC zip ($ZIPSIZE bytes) is read by bounded ranges, under a third of it"

# 3. Installed, verified files are not downloaded again.
start_proxy o
$F --eval piqa,hellaswag,arc_easy --eval-base-url "$PX/m" --eval-dir "$T/ev1" $PINS > "$T/sums2"
ok $? "second run exits 0"
[ ! -s "$T/plog" ]; ok $? "second run makes no request at all"
cmp -s "$T/sums" "$T/sums2"; ok $? "second run prints the same checksums"
$F --eval piqa,hellaswag,arc_easy --eval-base-url "http://127.0.0.1:1/none" --eval-dir "$T/ev1" $PINS > /dev/null
ok $? "... and needs no server"

# 4. bonsai-eval finds the files where bonsai-fetch put them, and reads the
#    same items as from the fixtures.
if [ -f "$M/model.safetensors" ] && [ -f "$TOK" ]; then
	EV="bin/bonsai-eval -m $M -t $TOK -q -j 1 --limit 3"
	$EV tasks piqa,arc_easy,hellaswag --eval-dir "$T/ev1" --samples "$T/s1" -o /dev/null
	ok $? "bonsai-eval tasks piqa,arc_easy,hellaswag reads the fetched directory"
	$EV tasks "piqa=$E/piqa/valid.jsonl,arc_easy=$E/arc_easy/ARC-Easy-Test.jsonl,hellaswag=$E/hellaswag/hellaswag_val_full.txt.bz2" \
		--samples "$T/s2" -o /dev/null
	cmp -s "$T/s1" "$T/s2"; ok $? "same items and log-likelihoods as the fixtures read directly"
	# Each default place, the same for both tools.
	for how in "BONSAI_EVAL_DIR=$T/d1" "BONSAI_CACHE=$T/d2" "XDG_CACHE_HOME=$T/d3" "HOME=$T/d4"; do
		env "$how" $F --eval piqa --eval-base-url "$U/m" > "$T/where" &&
		env "$how" $EV tasks piqa -o /dev/null
		ok $? "with $how alone: fetched where bonsai-eval looks ($(cut -d' ' -f3 "$T/where" | head -1))"
	done
	$F --eval piqa --eval-base-url "$U/m" --cache "$T/d5" > /dev/null && BONSAI_CACHE=$T/d5 $EV tasks piqa -o /dev/null
	ok $? "--cache DIR: bonsai-eval finds it with BONSAI_CACHE=DIR"
else
	for i in 1 2 3 4 5 6 7; do ok 0 "# SKIP no $M or $TOK"; done
fi
BONSAI_EVAL_BASE_URL=$U/m $F --eval piqa --eval-dir "$T/d6" > /dev/null && [ -f "$T/d6/piqa/valid.jsonl" ]
ok $? "BONSAI_EVAL_BASE_URL names the mirror"
BONSAI_EVAL_DIR=$T/d7 $F --eval piqa --eval-base-url "$U/m" --cache "$T/d8" > /dev/null &&
	[ -f "$T/d8/eval/piqa/valid.jsonl" ] && [ ! -e "$T/d7" ]
ok $? "--cache DIR goes before BONSAI_EVAL_DIR"
bin/bonsai-fetch --progress --eval piqa,arc_easy --eval-base-url "$U/m" --eval-dir "$T/d9" $PINS 2> "$T/e" > /dev/null &&
	grep -q "MB/s" "$T/e" && grep -q "ARC-Easy-Test.jsonl: [0-9]* of [0-9]* kB" "$T/e"
ok $? "--progress: download rate and the member's progress on stderr"

# 5. A file that is not the pinned one is refused, and nothing stays.
$F --eval piqa --eval-base-url "$U/bad" --eval-dir "$T/ev2" 2> "$T/e"
[ $? = 1 ] && grep -q "sha256 mismatch: got [0-9a-f]*, pinned $PIQA_SHA" "$T/e"; ok $? "wrong sha256: exit 1, both hashes named"
nothing_in "$T/ev2"; ok $? "... nothing left in the directory (not even a .part)"
$F --eval piqa --eval-base-url "$U/trunc" --eval-dir "$T/ev3" 2> "$T/e"
[ $? = 1 ] && grep -q "downloaded 400000 bytes, pinned 495929" "$T/e"; ok $? "a file served cut short: exit 1, sizes named"
nothing_in "$T/ev3"; ok $? "... nothing left"
$F --eval arc_easy --eval-base-url "$U/m" --eval-dir "$T/ev3" 2> "$T/e"
[ $? = 1 ] && grep -q "sha256 mismatch: got $ARC_SHA, pinned ce32a0774b4beb19" "$T/e"
ok $? "ARC member not the pinned official file: exit 1"
nothing_in "$T/ev3"; ok $? "... nothing written"

# 6. Cut connections, 429 and 500: resumed with Range, byte-identical.
start_proxy "ccc4c5cc"
$F --eval hellaswag,arc_easy --eval-base-url "$PX/m" --eval-dir "$T/ev4" $PINS 2> "$T/e" >/dev/null
ok $? "install through cut connections, 429 and 500 exits 0"
check "resumed hellaswag file byte-identical" cmp "$T/ev4/hellaswag/hellaswag_val.jsonl" "$HS"
check "ARC member read through faults byte-identical" cmp "$T/ev4/arc_easy/ARC-Easy-Test.jsonl" "$E/arc_easy/ARC-Easy-Test.jsonl"
plog_resumed hellaswag_val; ok $? "cut download resumed with Range: bytes=N-"
plog_identity hellaswag_val; ok $? "every request asks for Accept-Encoding: identity"
grep -q "HTTP 429" "$T/e" && grep -q "HTTP 500" "$T/e"; ok $? "429 and 500 reported and retried"

# 7. A .part left by an interrupted run is resumed; a bad one is refused
#    and removed, and the next run starts over.
mkdir -p "$T/ev5/hellaswag"
head -c 1000000 "$HS" > "$T/ev5/hellaswag/hellaswag_val.jsonl.part"
start_proxy o
$F --eval hellaswag --eval-base-url "$PX/m" --eval-dir "$T/ev5" $PINS > /dev/null
ok $? "run with a leftover .part exits 0"
grep hellaswag_val "$T/plog" | grep -q '| bytes=1000000- |'; ok $? "leftover .part resumed from byte 1000000"
check "resumed file byte-identical" cmp "$T/ev5/hellaswag/hellaswag_val.jsonl" "$HS"
mkdir -p "$T/ev6/hellaswag"
head -c 1000000 /dev/zero > "$T/ev6/hellaswag/hellaswag_val.jsonl.part"
$F --eval hellaswag --eval-base-url "$U/m" --eval-dir "$T/ev6" $PINS 2> "$T/e" > /dev/null
[ $? = 1 ] && grep -q "sha256 mismatch" "$T/e" && nothing_in "$T/ev6"; ok $? "a corrupt .part: refused and removed"
$F --eval hellaswag --eval-base-url "$U/m" --eval-dir "$T/ev6" $PINS > /dev/null && cmp -s "$T/ev6/hellaswag/hellaswag_val.jsonl" "$HS"
ok $? "... the next run downloads it whole"

# 8. A different file already in place is replaced, with a warning.
mkdir -p "$T/ev7/piqa"
echo '{"goal": "x", "sol1": "a", "sol2": "b"}' > "$T/ev7/piqa/valid.jsonl"
bin/bonsai-fetch --eval piqa --eval-base-url "$U/m" --eval-dir "$T/ev7" > /dev/null 2> "$T/e"
[ $? = 0 ] && grep -q "not the pinned file" "$T/e" && cmp -s "$T/ev7/piqa/valid.jsonl" "$E/piqa/valid.jsonl"
ok $? "a file that is not the pinned one is replaced, with a warning"

# 9. Zip archives: a data-descriptor/stored layout reads; damage is refused.
$F --eval arc_easy --eval-base-url "$U/dd" --eval-dir "$T/ev8" $PINS > /dev/null
cmp -s "$T/ev8/arc_easy/ARC-Easy-Test.jsonl" "$E/arc_easy/ARC-Easy-Test.jsonl"; ok $? "stored member with a data descriptor: extracted byte-identical"
$F --eval arc_easy --eval-base-url "$U/crc" --eval-dir "$T/ev9" $PINS 2> "$T/e"
[ $? = 1 ] && grep -Eq "CRC-32|corrupt deflate" "$T/e" && nothing_in "$T/ev9"; ok $? "a flipped byte in the member: refused ($(head -c 150 "$T/e"))"
$F --eval arc_easy --eval-base-url "$U/cut" --eval-dir "$T/ev9" $PINS 2> "$T/e"
[ $? = 1 ] && grep -q "no end of central directory" "$T/e" && nothing_in "$T/ev9"; ok $? "a truncated archive: refused"
$F --eval arc_easy --eval-base-url "$U/nomember" --eval-dir "$T/ev9" $PINS 2> "$T/e"
[ $? = 1 ] && grep -q "no $ARC_MEMBER in the archive" "$T/e"; ok $? "an archive without the member: refused, named"

# 10. The content check: item counts and fields, even with a matching hash.
$F --eval arc_easy --eval-base-url "$U/short" --eval-dir "$T/ev9" \
	--eval-sha256 "arc_easy/ARC-Easy-Test.jsonl=$(cat "$R/short.sha")" 2> "$T/e"
[ $? = 1 ] && grep -q "2375 items, expected 2376" "$T/e" && nothing_in "$T/ev9"; ok $? "one ARC item missing: refused"
BADHS_SHA=$(sha256sum "$R/badhs/hellaswag/hellaswag_val.jsonl" | cut -d' ' -f1)
$F --eval hellaswag --eval-base-url "$U/badhs" --eval-dir "$T/ev9" \
	--eval-sha256 "hellaswag/hellaswag_val.jsonl=$BADHS_SHA" 2> "$T/e"
[ $? = 1 ] && grep -q 'line 7: "label" is not 0, 1, 2 or 3' "$T/e" && nothing_in "$T/ev9"; ok $? "a HellaSwag label out of range: refused with its line"

# 11. Clear errors.
$F --eval piqa --eval-base-url "$U/empty" --eval-dir "$T/ev9" 2> "$T/e"
[ $? = 1 ] && grep -q "404" "$T/e" && nothing_in "$T/ev9"; ok $? "404: exit 1, names the status"
start_proxy 55555555555555
$F --retries 2 --eval piqa --eval-base-url "$PX/m" --eval-dir "$T/ev9" 2> "$T/e"
[ $? = 1 ] && grep -q "giving up after 3 attempts" "$T/e"; ok $? "persistent 500s: gives up after the retries"

# 12. A mirror that streams without end stops at the pinned size (issue 17:
# 104 MB were written for PIQA's 495,929-byte file).
start_proxy e
timeout 60 $F --eval piqa --eval-base-url "$PX/m" --eval-dir "$T/ev12" 2> "$T/e"
[ $? = 1 ] && grep -q "the server sent more than the 495929 bytes pinned; stopped" "$T/e"
ok $? "an endless mirror stops at the pinned size, saying so"
[ -z "$(find "$T/ev12" -type f -size +1000k 2>/dev/null)" ]; ok $? "... and no file past it is left"

done_testing
