#!/bin/bash
# bonsai-fetch over HTTP: a real server (lighttpd, Range support) laid out as
# the Hugging Face Hub, and a fault-injecting proxy (tests/tools/faultproxy.c)
# that cuts connections, answers 429/500 and corrupts bytes. Everything on
# 127.0.0.1. References: the fixture files themselves (cmp), sha256sum, and
# a direct local read.
. tests/tap.sh
FIX=$SHARED/fixtures/fineweb-edu
PROXY=$BUILD/tests/tools/faultproxy
[ -f "$FIX/sample/10BT/000_00000.parquet" ] || skip_all "no fixtures in $SHARED"
command -v lighttpd >/dev/null || [ -x /usr/sbin/lighttpd ] || skip_all "lighttpd not installed"
[ -x "$PROXY" ] || skip_all "$PROXY not built (make $PROXY)"

. tests/http-server.sh

# --- the Hub, as static files ---
R=$T/root
REPO=test/fineweb-edu
mkdir -p "$R/datasets/$REPO/resolve/main/sample/10BT" "$R/api/datasets/$REPO/tree/main/sample" \
	"$R/api/datasets/test/corrupt/tree/main/sample" "$R/datasets/test/corrupt/resolve/main/sample/10BT"
entries=
for f in 000_00000 001_00000; do
	cp "$FIX/sample/10BT/$f.parquet" "$R/datasets/$REPO/resolve/main/sample/10BT/"
	sz=$(stat -c %s "$FIX/sample/10BT/$f.parquet")
	sha=$(sha256sum "$FIX/sample/10BT/$f.parquet" | cut -d' ' -f1)
	eval "SHA_$f=$sha"
	entries="$entries${entries:+,}{\"type\":\"file\",\"oid\":\"x\",\"size\":$sz,\"lfs\":{\"oid\":\"$sha\",\"size\":$sz,\"pointerSize\":134},\"path\":\"sample/10BT/$f.parquet\"}"
done
echo "[{\"type\":\"directory\",\"oid\":\"y\",\"size\":0,\"path\":\"sample/10BT/sub\"},$entries]" > "$R/api/datasets/$REPO/tree/main/sample/10BT"
# A dataset whose listed hash does not match its file.
cp "$FIX/sample/10BT/001_00000.parquet" "$R/datasets/test/corrupt/resolve/main/sample/10BT/"
sz=$(stat -c %s "$FIX/sample/10BT/001_00000.parquet")
echo "[{\"type\":\"file\",\"size\":$sz,\"lfs\":{\"oid\":\"$SHA_000_00000\",\"size\":$sz},\"path\":\"sample/10BT/001_00000.parquet\"}]" \
	> "$R/api/datasets/test/corrupt/tree/main/sample/10BT"

# The revision API gives the commit the cache's snapshot is named by.
COMMIT=0123456789abcdef0123456789abcdef01234567
for r in $REPO test/corrupt; do
	mkdir -p "$R/api/datasets/$r/revision"
	echo "{\"id\":\"$r\",\"sha\":\"$COMMIT\"}" > "$R/api/datasets/$r/revision/main"
done
# where the Hub cache keeps the dataset's files
HB=datasets--test--fineweb-edu/blobs

# --- lighttpd on a free port ---
start_lighttpd "$R" "$T" || skip_all "could not start lighttpd"

F="bin/bonsai-fetch -q --backoff 0.01"
export HF_ENDPOINT=http://127.0.0.1:$PORT
unset HF_TOKEN

# The reference: a direct local read of the two files.
bin/bonsai-fetch -q "$FIX/sample/10BT/000_00000.parquet" "$FIX/sample/10BT/001_00000.parquet" > "$T/local.jsonl"

# 1. A clean download.
$F $REPO --config sample-10BT --cache "$T/c1" > "$T/a.jsonl" 2> "$T/a.err"
ok $? "dataset download exits 0"
check "same documents over HTTP as a direct local read" cmp "$T/a.jsonl" "$T/local.jsonl"
check "cached 000_00000 is byte-identical" cmp "$T/c1/$HB/$SHA_000_00000" "$FIX/sample/10BT/000_00000.parquet"
check "cached 001_00000 is byte-identical" cmp "$T/c1/$HB/$SHA_001_00000" "$FIX/sample/10BT/001_00000.parquet"
[ "$(ls "$T/c1/$HB" | grep -c "part\|incomplete")" = 0 ]; ok $? "no unfinished (.incomplete) files left (count)"

# 2. A cached, verified file is never downloaded again.
start_proxy o
HF_ENDPOINT=$PX $F $REPO --config sample-10BT --cache "$T/c1" > "$T/b.jsonl"
ok $? "second run from the cache exits 0"
check "second run gives the same documents" cmp "$T/b.jsonl" "$T/local.jsonl"
! grep -q resolve "$T/plog"; ok $? "second run downloads nothing (only the listing)"

# 3. --max-docs reads the footer and the needed row groups with Range.
start_proxy o
HF_ENDPOINT=$PX $F $REPO --config sample-10BT --cache "$T/c3" --max-docs 1500 > "$T/m.jsonl"
ok $? "--max-docs 1500 exits 0"
head -n 1500 "$T/local.jsonl" | cmp - "$T/m.jsonl" >/dev/null; ok $? "--max-docs 1500 = the first 1500 documents"
! grep resolve "$T/plog" | grep -q '| - |'; ok $? "--max-docs: every file request is a Range request"
[ "$(grep resolve "$T/plog" | grep -c 001_00000)" = 0 ]; ok $? "--max-docs: the second file is not touched"
[ ! -e "$T/c3/$HB" ] || [ -z "$(ls "$T/c3/$HB")" ]; ok $? "--max-docs: nothing put in the cache"
HF_ENDPOINT=$PX $F $REPO --config sample-10BT --cache "$T/c3" --max-docs 3400 --columns id,url > "$T/m2.jsonl"
bin/bonsai-fetch -q --columns id,url "$FIX/sample/10BT/000_00000.parquet" "$FIX/sample/10BT/001_00000.parquet" | head -n 3400 | cmp - "$T/m2.jsonl" >/dev/null
ok $? "--max-docs 3400 --columns id,url crosses into the second file"

# (The first connection of each run asks the revision API for the commit.)
# 4. Faults: 429, 500 and cut connections, with two parallel transfers.
start_proxy "oo4c5ccoc4cc5c"
HF_ENDPOINT=$PX $F -j 2 $REPO --config sample-10BT --cache "$T/c4" > "$T/f.jsonl" 2> "$T/f.err"
ok $? "download through 429/500/cut connections exits 0"
check "same documents despite the faults" cmp "$T/f.jsonl" "$T/local.jsonl"
check "resumed 000_00000 is byte-identical" cmp "$T/c4/$HB/$SHA_000_00000" "$FIX/sample/10BT/000_00000.parquet"
check "resumed 001_00000 is byte-identical" cmp "$T/c4/$HB/$SHA_001_00000" "$FIX/sample/10BT/001_00000.parquet"
plog_resumed resolve; ok $? "cut transfers resume with Range: bytes=N-"
plog_identity resolve; ok $? "file requests ask for Accept-Encoding: identity (a resumed range is a range of the file itself)"
grep -q "HTTP 429" "$T/f.err" && grep -q "HTTP 500" "$T/f.err"; ok $? "429 and 500 are reported and retried"

# 5. A partial file from an earlier run is resumed, not restarted.
mkdir -p "$T/c5/$HB"
head -c 1000000 "$FIX/sample/10BT/000_00000.parquet" > "$T/c5/$HB/$SHA_000_00000.incomplete"
start_proxy o
HF_ENDPOINT=$PX $F --progress $REPO --config sample-10BT --cache "$T/c5" > "$T/r.jsonl" 2> "$T/r.err"
ok $? "run with a leftover .part exits 0"
grep -q "MB/s, ETA" "$T/r.err"; ok $? "--progress shows bytes, rate and ETA on stderr"
grep 000_00000 "$T/plog" | grep -q '| bytes=1000000- |'; ok $? "leftover .part resumed from byte 1000000"
check "resumed file byte-identical" cmp "$T/c5/$HB/$SHA_000_00000" "$FIX/sample/10BT/000_00000.parquet"

# 6. Corruption is caught by the sha256 check.
start_proxy "oox"
HF_ENDPOINT=$PX $F $REPO --config sample-10BT --cache "$T/c6" -j 1 -o "$T/x.jsonl" 2> "$T/x.err"
[ $? = 1 ]; ok $? "a corrupted download fails (exit 1)"
grep -q "sha256 mismatch" "$T/x.err"; ok $? "... saying sha256 mismatch"
[ ! -e "$T/x.jsonl" ]; ok $? "... and leaves no output file"
[ -z "$(ls "$T/c6/$HB" 2>/dev/null)" ]; ok $? "... and nothing in the cache"
$F test/corrupt --config sample-10BT --cache "$T/c7" > /dev/null 2> "$T/y.err"
[ $? = 1 ] && grep -q "sha256 mismatch" "$T/y.err"; ok $? "a file not matching its listed hash is rejected"

# 7. Clear errors.
$F $HF_ENDPOINT/datasets/$REPO/resolve/main/sample/10BT/nope.parquet > /dev/null 2> "$T/e1"
[ $? = 1 ] && grep -q "404" "$T/e1"; ok $? "404 on a URL: exit 1, names the status"
$F test/nope --config sample-10BT --cache "$T/c8" > /dev/null 2> "$T/e2"
[ $? = 1 ] && grep -q "no dataset 'test/nope'" "$T/e2"; ok $? "unknown dataset: exit 1, says so ($(head -c 120 "$T/e2"))"
$F 'not a/data set' > /dev/null 2> "$T/e3"
[ $? = 2 ]; ok $? "malformed dataset name is a usage error"
$F $REPO --config sample-99BT --cache "$T/c8" > /dev/null 2> "$T/e4"
[ $? = 1 ] && grep -q "sample/99BT" "$T/e4"; ok $? "unknown config names its directory"
start_proxy 55555555555555
HF_ENDPOINT=$PX $F --retries 2 $REPO --config sample-10BT --cache "$T/c9" > /dev/null 2> "$T/e5"
[ $? = 1 ] && grep -q "giving up after 3 attempts" "$T/e5"; ok $? "persistent 500s: gives up after the retries"

# 8. An explicit URL, by range requests.
$F --max-docs 10 $HF_ENDPOINT/datasets/$REPO/resolve/main/sample/10BT/001_00000.parquet > "$T/u.jsonl"
bin/bonsai-fetch -q --max-docs 10 "$FIX/sample/10BT/001_00000.parquet" | cmp - "$T/u.jsonl" >/dev/null
ok $? "explicit URL with --max-docs equals the local read"

$F --list $HF_ENDPOINT/datasets/$REPO/resolve/main/sample/10BT/001_00000.parquet > "$T/u.out" 2> "$T/u.err"
[ $? = 2 ] && [ ! -s "$T/u.out" ] && grep -q -- "--list applies to a dataset name, not to the URL" "$T/u.err"
ok $? "--list with a URL: exit 2, no rows written, said"

# 9. HF_TOKEN goes to the Hub endpoint as a bearer token.
start_proxy o
HF_TOKEN=secret HF_ENDPOINT=$PX $F --list $REPO --config sample-10BT > "$T/l.txt"
grep -q "| auth$" "$T/plog"; ok $? "HF_TOKEN sent as Authorization: Bearer"
[ "$(wc -l < "$T/l.txt")" = 2 ] && grep -q "$SHA_001_00000" "$T/l.txt"; ok $? "--list prints the files with their hashes"

# 10. A hostile or broken server cannot fill the disk, loop or hold a run
# (issue 17). Every run is bounded by timeout(1); the faults come from the
# proxy (tests/tools/faultproxy.c).
SZ0=$(stat -c %s "$FIX/sample/10BT/000_00000.parquet")
sent_of() { awk -v c="$1" '$1 == c && $2 == "sent" { print $3 }' "$T/plog"; }

# A file that streams without end stops at the listed size.
start_proxy ooe
HF_ENDPOINT=$PX timeout 60 $F -j 1 $REPO --config sample-10BT --cache "$T/c10" > /dev/null 2> "$T/h1"
[ $? = 1 ] && grep -q "the server sent more than the $SZ0 bytes the Hub lists; stopped" "$T/h1"
ok $? "an endless file stops at the Hub's listed size, saying so"
sleep 0.2
s1=$(sent_of 1); [ -n "$s1" ] && [ "$s1" -lt $((SZ0 + 16000000)) ]
ok $? "... after $s1 bytes sent (listed $SZ0; the proxy would send 300 MB)"
[ ! -e "$T/c10/$HB/$SHA_000_00000" ]; ok $? "... and nothing is put in the cache"

# A Link rel="next" back to the same page is a loop, refused at once.
start_proxy oL+
HF_ENDPOINT=$PX timeout 60 $F --list $REPO --config sample-10BT > "$T/h2.out" 2> "$T/h2"
[ $? = 1 ] && grep -q "is a page already read" "$T/h2"; ok $? "a pagination loop is an error (exit 1), said"
[ "$(grep -c " GET /api/datasets/.*/tree/" "$T/plog")" = 1 ] && [ ! -s "$T/h2.out" ]
ok $? "... after 1 request (the page links to itself), with nothing printed"

# Pages that never end stop at the page cap.
start_proxy N+
HF_ENDPOINT=$PX timeout 100 $F --list $REPO --config sample-10BT > /dev/null 2> "$T/h3"
[ $? = 1 ] && grep -q "the listing has more than 1000 pages" "$T/h3"; ok $? "more than 1000 listing pages: exit 1, said"

# A server that ignores Range and always cuts after a few hundred bytes:
# resending the same first bytes is no progress, so --retries holds.
start_proxy oor+
HF_ENDPOINT=$PX timeout 60 $F -j 1 --retries 2 $REPO --config sample-10BT --cache "$T/c11" > /dev/null 2> "$T/h4"
[ $? = 1 ] && grep -q "giving up after 3 attempts" "$T/h4"; ok $? "no progress past the high-water mark: --retries 2 gives up after 3 attempts"
[ "$(grep -c "resolve.* | " "$T/plog")" = 3 ]; ok $? "... 3 requests for the file"

# A trickle (2 bytes/s) is slower than the default --min-rate of 1 kB/s.
start_proxy oot+
t0=$(date +%s)
HF_ENDPOINT=$PX timeout 30 $F -j 1 --retries 1 --timeout 2 $REPO --config sample-10BT --cache "$T/c12" > /dev/null 2> "$T/h5"
rc=$?
t1=$(date +%s)
[ $rc = 1 ] && grep -q "giving up after 2 attempts: slower than 1024 bytes/s for 2 s" "$T/h5"
ok $? "a 2 bytes/s trickle fails the low-speed limit, said ($(tail -n 1 "$T/h5" | head -c 160))"
[ $((t1 - t0)) -lt 20 ]; ok $? "... in $((t1 - t0)) s"

# A listing that never ends: a real message at the 256 MB cap.
start_proxy oe
HF_ENDPOINT=$PX timeout 60 $F --list $REPO --config sample-10BT > /dev/null 2> "$T/h6"
[ $? = 1 ] && grep -q "the reply is larger than 268435456 bytes" "$T/h6" && ! grep -q "File too large" "$T/h6"
ok $? "an endless listing stops at 256 MB with a message that says so"

# A cached blob damaged since it was verified is fetched again, not used
# (a byte changed at 3000 silently changes the first document).
cp -r "$T/c1" "$T/c13"
chmod u+w "$T/c13/$HB/$SHA_000_00000"
printf '\377' | dd of="$T/c13/$HB/$SHA_000_00000" bs=1 seek=3000 conv=notrunc 2>/dev/null
start_proxy o
HF_ENDPOINT=$PX $F $REPO --config sample-10BT --cache "$T/c13" > "$T/h7.jsonl" 2> "$T/h7"
ok $? "a run over a bit-flipped cached blob exits 0"
grep -q "cached copy's sha256 is" "$T/h7" && grep -q "resolve/main/sample/10BT/000_00000" "$T/plog"
ok $? "... says the copy is damaged and downloads it again"
check "... and gives the right documents" cmp "$T/h7.jsonl" "$T/local.jsonl"
check "... and the cache holds the right file again" cmp "$T/c13/$HB/$SHA_000_00000" "$FIX/sample/10BT/000_00000.parquet"
printf '\377' | dd of="$T/c13/$HB/$SHA_000_00000" bs=1 seek=3000 conv=notrunc 2>/dev/null
HF_ENDPOINT=$PX $F --max-docs 5 $REPO --config sample-10BT --cache "$T/c13" > "$T/h8.jsonl" 2> "$T/h8"
head -n 5 "$T/local.jsonl" | cmp -s - "$T/h8.jsonl"; ok $? "--max-docs does not read a damaged cached copy either"

# SIGTERM and SIGINT of bonsai-fetch -o: no out.jsonl.tmp.XXXXXX left.
for sig in TERM INT; do
	start_proxy oot+
	rm -f "$T/sig.jsonl"*
	HF_ENDPOINT=$PX $F -j 1 $REPO --config sample-10BT --cache "$T/c14$sig" -o "$T/sig.jsonl" 2> "$T/h9" &
	pid=$!
	i=0; while [ $i -lt 50 ] && ! grep -q resolve "$T/plog" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
	sleep 0.3
	kill -$sig $pid
	i=0; while [ $i -lt 100 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
	kill -0 $pid 2>/dev/null && { kill -9 $pid; echo "# still running 10 s after SIG$sig"; }
	wait $pid
	rc=$?
	[ $rc = 1 ] && [ -z "$(ls "$T"/sig.jsonl* 2>/dev/null)" ] && grep -q "interrupted by signal" "$T/h9"
	ok $? "SIG$sig during a download: exit 1, 'interrupted', no output or temporary file left"
done

# 11. --file: one file of the dataset (make run fetches file by file).
start_proxy o
HF_ENDPOINT=$PX $F $REPO --config sample-10BT --cache "$T/c20" --file 001_00000.parquet > "$T/one.jsonl"
ok $? "--file 001_00000.parquet exits 0"
bin/bonsai-fetch -q "$FIX/sample/10BT/001_00000.parquet" | cmp - "$T/one.jsonl" >/dev/null
ok $? "--file gives that file's documents only"
[ "$(ls "$T/c20/$HB")" = "$SHA_001_00000" ] && ! grep resolve "$T/plog" | grep -q 000_00000
ok $? "--file downloads and caches that file only (verified: named by its sha256)"
$F $REPO --config sample-10BT --cache "$T/c20" --file 002_00000.parquet > /dev/null 2> "$T/e20"
[ $? = 1 ] && grep -q "no file 002_00000.parquet" "$T/e20"; ok $? "--file of an unlisted name: exit 1, names it"

done_testing
