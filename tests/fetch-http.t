#!/bin/bash
# bonsai-fetch over HTTP: a real server (lighttpd, Range support) laid out as
# the Hugging Face Hub, and a fault-injecting proxy (tests/tools/faultproxy.c)
# that cuts connections, answers 429/500 and corrupts bytes. Everything on
# 127.0.0.1. References: the fixture files themselves (cmp), sha256sum, and
# a direct local read.
FIX=${BONSAI_SHARED:-../shared}/fixtures/fineweb-edu
BUILD=${BUILD:-build}
PROXY=$BUILD/tests/tools/faultproxy
[ -f "$FIX/sample/10BT/000_00000.parquet" ] || { echo "1..0 # SKIP no fixtures in ${BONSAI_SHARED:-../shared}"; exit 0; }
command -v lighttpd >/dev/null || [ -x /usr/sbin/lighttpd ] || { echo "1..0 # SKIP lighttpd not installed"; exit 0; }
[ -x "$PROXY" ] || { echo "1..0 # SKIP $PROXY not built (make $PROXY)"; exit 0; }

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

# --- lighttpd on a free port ---
start_lighttpd "$R" "$T" || { echo "1..0 # SKIP could not start lighttpd"; exit 0; }

F="bin/bonsai-fetch -q --backoff 0.01"
export HF_ENDPOINT=http://127.0.0.1:$PORT
unset HF_TOKEN

# The reference: a direct local read of the two files.
bin/bonsai-fetch -q "$FIX/sample/10BT/000_00000.parquet" "$FIX/sample/10BT/001_00000.parquet" > "$T/local.jsonl"

# 1. A clean download.
$F $REPO --config sample-10BT --cache "$T/c1" > "$T/a.jsonl" 2> "$T/a.err"
ok $? "dataset download exits 0"
check "same documents over HTTP as a direct local read" cmp "$T/a.jsonl" "$T/local.jsonl"
check "cached 000_00000 is byte-identical" cmp "$T/c1/blobs/$SHA_000_00000.parquet" "$FIX/sample/10BT/000_00000.parquet"
check "cached 001_00000 is byte-identical" cmp "$T/c1/blobs/$SHA_001_00000.parquet" "$FIX/sample/10BT/001_00000.parquet"
[ "$(ls "$T/c1/blobs" | grep -c part)" = 0 ]; ok $? "no .part files left (count)"

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
[ ! -e "$T/c3/blobs" ] || [ -z "$(ls "$T/c3/blobs")" ]; ok $? "--max-docs: nothing put in the cache"
HF_ENDPOINT=$PX $F $REPO --config sample-10BT --cache "$T/c3" --max-docs 3400 --columns id,url > "$T/m2.jsonl"
bin/bonsai-fetch -q --columns id,url "$FIX/sample/10BT/000_00000.parquet" "$FIX/sample/10BT/001_00000.parquet" | head -n 3400 | cmp - "$T/m2.jsonl" >/dev/null
ok $? "--max-docs 3400 --columns id,url crosses into the second file"

# 4. Faults: 429, 500 and cut connections, with two parallel transfers.
start_proxy "o4c5ccoc4cc5c"
HF_ENDPOINT=$PX $F -j 2 $REPO --config sample-10BT --cache "$T/c4" > "$T/f.jsonl" 2> "$T/f.err"
ok $? "download through 429/500/cut connections exits 0"
check "same documents despite the faults" cmp "$T/f.jsonl" "$T/local.jsonl"
check "resumed 000_00000 is byte-identical" cmp "$T/c4/blobs/$SHA_000_00000.parquet" "$FIX/sample/10BT/000_00000.parquet"
check "resumed 001_00000 is byte-identical" cmp "$T/c4/blobs/$SHA_001_00000.parquet" "$FIX/sample/10BT/001_00000.parquet"
plog_resumed resolve; ok $? "cut transfers resume with Range: bytes=N-"
plog_identity resolve; ok $? "file requests ask for Accept-Encoding: identity (a resumed range is a range of the file itself)"
grep -q "HTTP 429" "$T/f.err" && grep -q "HTTP 500" "$T/f.err"; ok $? "429 and 500 are reported and retried"

# 5. A partial file from an earlier run is resumed, not restarted.
mkdir -p "$T/c5/blobs"
head -c 1000000 "$FIX/sample/10BT/000_00000.parquet" > "$T/c5/blobs/$SHA_000_00000.parquet.part"
start_proxy o
HF_ENDPOINT=$PX $F --progress $REPO --config sample-10BT --cache "$T/c5" > "$T/r.jsonl" 2> "$T/r.err"
ok $? "run with a leftover .part exits 0"
grep -q "MB/s, ETA" "$T/r.err"; ok $? "--progress shows bytes, rate and ETA on stderr"
grep 000_00000 "$T/plog" | grep -q '| bytes=1000000- |'; ok $? "leftover .part resumed from byte 1000000"
check "resumed file byte-identical" cmp "$T/c5/blobs/$SHA_000_00000.parquet" "$FIX/sample/10BT/000_00000.parquet"

# 6. Corruption is caught by the sha256 check.
start_proxy "ox"
HF_ENDPOINT=$PX $F $REPO --config sample-10BT --cache "$T/c6" -j 1 -o "$T/x.jsonl" 2> "$T/x.err"
[ $? = 1 ]; ok $? "a corrupted download fails (exit 1)"
grep -q "sha256 mismatch" "$T/x.err"; ok $? "... saying sha256 mismatch"
[ ! -e "$T/x.jsonl" ]; ok $? "... and leaves no output file"
[ -z "$(ls "$T/c6/blobs" 2>/dev/null)" ]; ok $? "... and nothing in the cache"
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

# 9. HF_TOKEN goes to the Hub endpoint as a bearer token.
start_proxy o
HF_TOKEN=secret HF_ENDPOINT=$PX $F --list $REPO --config sample-10BT > "$T/l.txt"
grep -q "| auth$" "$T/plog"; ok $? "HF_TOKEN sent as Authorization: Bearer"
[ "$(wc -l < "$T/l.txt")" = 2 ] && grep -q "$SHA_001_00000" "$T/l.txt"; ok $? "--list prints the files with their hashes"

# 10. --file: one file of the dataset (make run fetches file by file).
start_proxy o
HF_ENDPOINT=$PX $F $REPO --config sample-10BT --cache "$T/c10" --file 001_00000.parquet > "$T/one.jsonl"
ok $? "--file 001_00000.parquet exits 0"
bin/bonsai-fetch -q "$FIX/sample/10BT/001_00000.parquet" | cmp - "$T/one.jsonl" >/dev/null
ok $? "--file gives that file's documents only"
[ "$(ls "$T/c10/blobs")" = "$SHA_001_00000.parquet" ] && ! grep resolve "$T/plog" | grep -q 000_00000
ok $? "--file downloads and caches that file only (verified: named by its sha256)"
$F $REPO --config sample-10BT --cache "$T/c10" --file 002_00000.parquet > /dev/null 2> "$T/e10"
[ $? = 1 ] && grep -q "no file 002_00000.parquet" "$T/e10"; ok $? "--file of an unlisted name: exit 1, names it"

echo "1..$n"
[ $fail = 0 ]
