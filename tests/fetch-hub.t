#!/bin/bash
# Hugging Face's conventions (issue 18): the Hub cache in huggingface_hub's
# layout (reused and filled), the token file, HF_HUB_OFFLINE, fast failure
# when offline, bonsai-fetch --model and Hub ids for -m and --init. A Hub
# of static files (lighttpd) behind the logging proxy, all on 127.0.0.1.
# References: the fixture files (cmp), sha256sum, git hash-object, a direct
# read of the local model folder.
. tests/tap.sh
FIX=$SHARED/fixtures/fineweb-edu
MODEL=$SHARED/fixtures/eval/lm_eval_tiny
TOK=$SHARED/fixtures/tokenizers/tiktoken/r50k_base.tiktoken
PROXY=$BUILD/tests/tools/faultproxy
[ -f "$FIX/sample/10BT/000_00000.parquet" ] && [ -f "$MODEL/model.safetensors" ] && [ -f "$TOK" ] ||
	skip_all "no fixtures in $SHARED"
command -v lighttpd >/dev/null || [ -x /usr/sbin/lighttpd ] || skip_all "lighttpd not installed"
[ -x "$PROXY" ] || skip_all "$PROXY not built (make $PROXY)"
. tests/http-server.sh

# --- the Hub, as static files: a dataset and a model ---
R=$T/root
REPO=test/fineweb-edu
COMMIT=89abcdef0123456789abcdef0123456789abcdef
D=sample/10BT
mkdir -p "$R/datasets/$REPO/resolve/main/$D" "$R/api/datasets/$REPO/tree/main/sample" "$R/api/datasets/$REPO/revision"
entries=
for f in 000_00000 001_00000; do
	cp "$FIX/$D/$f.parquet" "$R/datasets/$REPO/resolve/main/$D/"
	sz=$(stat -c %s "$FIX/$D/$f.parquet")
	sha=$(sha256sum "$FIX/$D/$f.parquet" | cut -d' ' -f1)
	eval "SHA_$f=$sha"
	entries="$entries${entries:+,}{\"type\":\"file\",\"oid\":\"x\",\"size\":$sz,\"lfs\":{\"oid\":\"$sha\",\"size\":$sz},\"path\":\"$D/$f.parquet\"}"
done
echo "[$entries]" > "$R/api/datasets/$REPO/tree/main/$D"
echo "{\"id\":\"$REPO\",\"sha\":\"$COMMIT\"}" > "$R/api/datasets/$REPO/revision/main"

# The model: config.json in git itself (named by its git blob id),
# model.safetensors in LFS (named by its sha256).
MREPO=test/tiny
MCOMMIT=fedcba9876543210fedcba9876543210fedcba98
mkdir -p "$R/$MREPO/resolve/main" "$R/api/models/$MREPO/tree" "$R/api/models/$MREPO/revision"
cp "$MODEL/config.json" "$MODEL/model.safetensors" "$R/$MREPO/resolve/main/"
CFG_OID=$(git hash-object "$MODEL/config.json")
ST_SHA=$(sha256sum "$MODEL/model.safetensors" | cut -d' ' -f1)
echo "[{\"type\":\"file\",\"oid\":\"$CFG_OID\",\"size\":$(stat -c %s "$MODEL/config.json"),\"path\":\"config.json\"},
{\"type\":\"file\",\"oid\":\"y\",\"size\":$(stat -c %s "$MODEL/model.safetensors"),\"lfs\":{\"oid\":\"$ST_SHA\",\"size\":$(stat -c %s "$MODEL/model.safetensors")},\"path\":\"model.safetensors\"},
{\"type\":\"file\",\"oid\":\"$CFG_OID\",\"size\":5,\"path\":\"README.md\"}]" > "$R/api/models/$MREPO/tree/main"
echo "{\"id\":\"$MREPO\",\"sha\":\"$MCOMMIT\"}" > "$R/api/models/$MREPO/revision/main"
# A model whose config.json is not the one its git blob id names.
mkdir -p "$R/test/bad/resolve/main" "$R/api/models/test/bad/tree" "$R/api/models/test/bad/revision"
cp_rw "$MODEL/config.json" "$R/test/bad/resolve/main/config.json"
echo ' ' >> "$R/test/bad/resolve/main/config.json"
echo "[{\"type\":\"file\",\"oid\":\"$CFG_OID\",\"size\":$(stat -c %s "$R/test/bad/resolve/main/config.json"),\"path\":\"config.json\"}]" > "$R/api/models/test/bad/tree/main"
echo "{\"sha\":\"$MCOMMIT\"}" > "$R/api/models/test/bad/revision/main"
# A model whose weights are only pytorch_model.bin, a format left out.
mkdir -p "$R/test/binonly/resolve/main" "$R/api/models/test/binonly/tree" "$R/api/models/test/binonly/revision"
cp "$MODEL/config.json" "$R/test/binonly/resolve/main/"
echo "[{\"type\":\"file\",\"oid\":\"$CFG_OID\",\"size\":$(stat -c %s "$MODEL/config.json"),\"path\":\"config.json\"},
{\"type\":\"file\",\"oid\":\"z\",\"size\":100,\"lfs\":{\"oid\":\"$ST_SHA\",\"size\":100},\"path\":\"pytorch_model.bin\"}]" \
	> "$R/api/models/test/binonly/tree/main"
echo "{\"sha\":\"$MCOMMIT\"}" > "$R/api/models/test/binonly/revision/main"

start_lighttpd "$R" "$T" || skip_all "could not start lighttpd"

# Nothing of the user's own caches or token is read or written.
export HOME=$T/home
unset HF_TOKEN HF_HOME HF_HUB_CACHE HF_HUB_OFFLINE HF_TOKEN_PATH XDG_CACHE_HOME BONSAI_CACHE
F="bin/bonsai-fetch -q --backoff 0.01"
bin/bonsai-fetch -q "$FIX/$D/000_00000.parquet" "$FIX/$D/001_00000.parquet" > "$T/local.jsonl"
# connections the proxy saw (0 when the log is empty or absent)
conns() { local n; n=$(grep -c ' GET ' "$T/plog" 2>/dev/null); echo "${n:-0}"; }

# 1. A Hub cache laid out by huggingface_hub is reused: nothing downloaded.
HC=$T/user/hub
DS=$HC/datasets--test--fineweb-edu
mkdir -p "$DS/blobs" "$DS/snapshots/$COMMIT/$D" "$DS/refs"
for f in 000_00000 001_00000; do
	eval "sha=\$SHA_$f"
	cp "$FIX/$D/$f.parquet" "$DS/blobs/$sha"
	ln -s "../../../../blobs/$sha" "$DS/snapshots/$COMMIT/$D/$f.parquet"
done
printf %s "$COMMIT" > "$DS/refs/main"
start_proxy o
HF_HUB_CACHE=$HC HF_ENDPOINT=$PX $F $REPO --config sample-10BT > "$T/a.jsonl" 2> "$T/a.err"
ok $? "a dataset already in HF_HUB_CACHE: exit 0 ($(head -c 200 "$T/a.err"))"
check "... the same documents as a local read" cmp "$T/a.jsonl" "$T/local.jsonl"
! grep -q resolve "$T/plog"; ok $? "... and no file is downloaded again (only the commit and the listing asked)"
[ ! -e "$HOME/.cache/bonsai" ]; ok $? "... and no private cache is made"

# 2. Downloads fill HF_HOME/hub in the Hub's layout.
start_proxy o
HF_HOME=$T/hfh HF_ENDPOINT=$PX $F $REPO --config sample-10BT > "$T/b.jsonl" 2> "$T/b.err"
ok $? "a download into HF_HOME/hub: exit 0 ($(head -c 200 "$T/b.err"))"
C2=$T/hfh/hub/datasets--test--fineweb-edu
check "... blobs/SHA256 is the file" cmp "$C2/blobs/$SHA_000_00000" "$FIX/$D/000_00000.parquet"
l=$(readlink "$C2/snapshots/$COMMIT/$D/001_00000.parquet")
[ "$l" = "../../../../blobs/$SHA_001_00000" ]; ok $? "... snapshots/COMMIT/PATH is a relative link to the blob ($l)"
check "... which reads as the file" cmp "$C2/snapshots/$COMMIT/$D/001_00000.parquet" "$FIX/$D/001_00000.parquet"
[ "$(cat "$C2/refs/main")" = "$COMMIT" ] && [ "$(wc -c < "$C2/refs/main")" = 40 ]
ok $? "... refs/main holds the commit, with no newline"
[ -z "$(find "$C2" -name '*.incomplete' -o -name '*.tmp.*')" ]; ok $? "... and nothing unfinished is left"
check "... and the same documents" cmp "$T/b.jsonl" "$T/local.jsonl"

# A download is hashed while its bytes arrive: its file is never opened
# for reading (the old code read each one again to hash it).
if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
	start_proxy o
	HF_HOME=$T/hfs HF_ENDPOINT=$PX strace -f -e trace=open,openat -o "$T/strace" $F --file 000_00000.parquet \
		$REPO --config sample-10BT > /dev/null 2>&1
	grep -q "$SHA_000_00000.incomplete" "$T/strace" && ! grep "$SHA_000_00000.incomplete" "$T/strace" | grep -q O_RDONLY
	ok $? "the unfinished download is written, never opened to be read back ($(grep -c "$SHA_000_00000.incomplete" "$T/strace") opens)"
else
	skip "strace cannot run here"
fi

# 3. HF_HUB_OFFLINE=1: the cache only, no connection at all.
start_proxy o
HF_HUB_OFFLINE=1 HF_HOME=$T/hfh HF_ENDPOINT=$PX $F $REPO --config sample-10BT > "$T/c.jsonl" 2> "$T/c.err"
ok $? "HF_HUB_OFFLINE=1 with the dataset cached: exit 0 ($(head -c 200 "$T/c.err"))"
check "... the same documents" cmp "$T/c.jsonl" "$T/local.jsonl"
[ "$(conns)" = 0 ]; ok $? "... and no connection made ($(conns))"
HF_HUB_OFFLINE=1 HF_HOME=$T/hfh HF_ENDPOINT=$PX $F --max-docs 7 $REPO --config sample-10BT > "$T/c2.jsonl"
head -n 7 "$T/local.jsonl" | cmp -s - "$T/c2.jsonl"; ok $? "... --max-docs too"
HF_HUB_OFFLINE=1 HF_HOME=$T/hfh HF_ENDPOINT=$PX $F test/other --config sample-10BT > /dev/null 2> "$T/c3.err"
[ $? = 1 ] && grep -q "offline" "$T/c3.err" && grep -q "datasets--test--other/refs/main" "$T/c3.err"
ok $? "offline, a dataset not cached: exit 1 naming what is missing ($(head -c 200 "$T/c3.err"))"
[ "$(conns)" = 0 ]; ok $? "... with no connection"
cp -r "$T/hfh" "$T/hfbad"
chmod -R u+w "$T/hfbad"
printf '\377' | dd of="$T/hfbad/hub/datasets--test--fineweb-edu/blobs/$SHA_001_00000" bs=1 seek=3000 conv=notrunc 2>/dev/null
HF_HUB_OFFLINE=1 HF_HOME=$T/hfbad HF_ENDPOINT=$PX $F $REPO --config sample-10BT -o "$T/c4.jsonl" 2> "$T/c4.err"
[ $? = 1 ] && grep -q "001_00000.parquet.*does not match" "$T/c4.err" && [ ! -e "$T/c4.jsonl" ]
ok $? "offline, a damaged cached file: exit 1, named, no output ($(tail -n 1 "$T/c4.err" | head -c 200))"
start_proxy o
HF_HOME=$T/hfbad HF_ENDPOINT=$PX $F $REPO --config sample-10BT > "$T/c5.jsonl" 2> "$T/c5.err"
[ $? = 0 ] && grep -q "blobs/$SHA_001_00000: the cached copy.s sha256 is .*downloading it again" "$T/c5.err" &&
	cmp -s "$T/c5.jsonl" "$T/local.jsonl" &&
	cmp -s "$T/hfbad/hub/datasets--test--fineweb-edu/blobs/$SHA_001_00000" "$FIX/$D/001_00000.parquet"
ok $? "online, the damaged cached file is said and downloaded again: the blob mended, the same documents ($(grep -m1 again "$T/c5.err" | head -c 200))"

# 4. The token file is sent when HF_TOKEN is unset (and only to the Hub).
mkdir -p "$T/tk"
printf 'hf_filetoken\n' > "$T/tk/token"
start_proxy o
HF_HOME=$T/tk HF_ENDPOINT=$PX $F --list $REPO --config sample-10BT > /dev/null 2> "$T/d.err"
ok $? "--list with a token file: exit 0"
[ "$(grep -c '| auth$' "$T/plog")" = 2 ]; ok $? "HF_HOME/token sent as Authorization: Bearer on both requests"
start_proxy o
HF_TOKEN_PATH=$T/tk/token HF_ENDPOINT=$PX $F --list $REPO --config sample-10BT > /dev/null
grep -q '| auth$' "$T/plog"; ok $? "HF_TOKEN_PATH names the token file"
start_proxy o
HF_HOME=$T/none HF_ENDPOINT=$PX $F --list $REPO --config sample-10BT > /dev/null
! grep -q '| auth$' "$T/plog"; ok $? "no token file: no Authorization header"

# 5. Offline in fact: a name that does not resolve, a port that refuses,
# with the default backoff (its retries would take minutes).
t0=$(date +%s)
HF_ENDPOINT=http://nohost.invalid timeout 60 bin/bonsai-fetch -q --cache "$T/e" $REPO --config sample-10BT > /dev/null 2> "$T/e1"
rc=$? t1=$(date +%s)
[ $rc = 1 ] && grep -q "cannot resolve the host name" "$T/e1" && [ $((t1 - t0)) -lt 10 ]
ok $? "an unresolvable Hub: exit 1 in $((t1 - t0)) s, said ($(head -c 160 "$T/e1"))"
# a port that was free a moment ago: lighttpd bound it, and stopped
Q=$T/q; mkdir -p "$Q"
SAVE_PORT=$PORT SAVE_LPID=$LPID
start_lighttpd "$Q" "$Q" && kill "$LPID" && wait "$LPID" 2>/dev/null
CLOSED=$PORT PORT=$SAVE_PORT LPID=$SAVE_LPID
t0=$(date +%s)
HF_ENDPOINT=http://127.0.0.1:$CLOSED timeout 60 bin/bonsai-fetch -q --cache "$T/e" $REPO --config sample-10BT > /dev/null 2> "$T/e2"
rc=$? t1=$(date +%s)
[ $rc = 1 ] && grep -q "cannot connect" "$T/e2" && [ $((t1 - t0)) -lt 10 ]
ok $? "a refused connection: exit 1 in $((t1 - t0)) s, said ($(head -c 160 "$T/e2"))"
timeout 60 bin/bonsai-fetch -q --max-docs 1 "http://127.0.0.1:$CLOSED/x.parquet" > /dev/null 2> "$T/e3"
[ $? = 1 ] && grep -q "cannot connect" "$T/e3"; ok $? "... and for a URL source"
start_proxy 5555
HF_ENDPOINT=$PX timeout 60 $F --retries 2 --cache "$T/e" $REPO --config sample-10BT > /dev/null 2> "$T/e4"
[ $? = 1 ] && grep -q "giving up after 3 attempts" "$T/e4"; ok $? "5xx are still retried"

# 6. Models: bonsai-fetch --model, then the Hub id as -m and --init.
start_proxy o
HF_HUB_CACHE=$T/mc HF_ENDPOINT=$PX $F --model $MREPO > "$T/m.out" 2> "$T/m.err"
ok $? "bonsai-fetch --model $MREPO: exit 0 ($(head -c 200 "$T/m.err"))"
MS=$T/mc/models--test--tiny/snapshots/$MCOMMIT
[ "$(cat "$T/m.out")" = "$MS" ]; ok $? "... prints the snapshot folder"
check "... config.json is there" cmp "$MS/config.json" "$MODEL/config.json"
check "... model.safetensors is there" cmp "$MS/model.safetensors" "$MODEL/model.safetensors"
[ -f "$T/mc/models--test--tiny/blobs/$CFG_OID" ] && [ -f "$T/mc/models--test--tiny/blobs/$ST_SHA" ]
ok $? "... blobs named by git blob id (config.json) and sha256 (weights)"
[ ! -e "$MS/README.md" ]; ok $? "... files a model does not need are left out"
start_proxy o
HF_HUB_CACHE=$T/mc HF_ENDPOINT=$PX $F --model $MREPO > /dev/null
! grep -q resolve "$T/plog"; ok $? "a second --model downloads nothing"
HF_HUB_OFFLINE=1 HF_HUB_CACHE=$T/mc HF_ENDPOINT=$PX $F --model $MREPO > "$T/m2.out"
[ "$(cat "$T/m2.out")" = "$MS" ]; ok $? "offline, --model prints the cached folder"
start_proxy o
HF_HUB_CACHE=$T/mcb HF_ENDPOINT=$PX $F --model test/bad > /dev/null 2> "$T/m3.err"
[ $? = 1 ] && grep -q "git blob id mismatch" "$T/m3.err" && [ -z "$(ls "$T/mcb/models--test--bad/blobs" 2>/dev/null)" ]
ok $? "a file not matching its git blob id is refused, nothing cached ($(head -c 200 "$T/m3.err"))"
! grep -q "no \*.safetensors" "$T/m.err"; ok $? "a model with weights: no warning about them"
HF_HUB_CACHE=$T/mcn HF_ENDPOINT=$PX $F --model test/binonly > "$T/m4.out" 2> "$T/m4.err"
[ $? = 0 ] && [ -f "$(cat "$T/m4.out")/config.json" ] &&
	grep -q "test/binonly at revision 'main' has no \*.safetensors file: its folder holds no weights" "$T/m4.err"
ok $? "a model of only pytorch_model.bin: its config.json fetched, and a warning that no weights are ($(head -c 200 "$T/m4.err"))"

G="bin/bonsai-generate -q -j 1 -t $TOK -p x -n 6 --temperature 0"
$G -m "$MODEL" > "$T/g.ref"
HF_HUB_CACHE=$T/mc $G -m $MREPO > "$T/g.out" 2> "$T/g.err"
ok $? "bonsai-generate -m $MREPO: exit 0 ($(head -c 200 "$T/g.err"))"
check "... the same text as -m the local folder" cmp "$T/g.out" "$T/g.ref"
HF_HUB_CACHE=$T/mc bin/bonsai-generate -q -t $TOK -p x -n 2 -m test/absent > /dev/null 2> "$T/g2.err"
[ $? = 1 ] && grep -q "bonsai-fetch --model test/absent" "$T/g2.err"
ok $? "a model not cached: exit 1, telling the bonsai-fetch command ($(head -c 200 "$T/g2.err"))"
printf '%s\n' '{"context":"The water","continuation":" cycle"}' > "$T/ll.jsonl"
bin/bonsai-eval loglik "$T/ll.jsonl" -m "$MODEL" -t "$TOK" -q > "$T/ll.ref" 2>/dev/null
HF_HUB_CACHE=$T/mc bin/bonsai-eval loglik "$T/ll.jsonl" -m $MREPO -t "$TOK" -q > "$T/ll.out" 2> "$T/ll.err"
[ $? = 0 ] && [ -s "$T/ll.ref" ] && cmp -s "$T/ll.out" "$T/ll.ref"
ok $? "bonsai-eval -m $MREPO scores as the local folder ($(head -c 200 "$T/ll.err"))"
# one training step from the Hub id and from the folder: the same loss
TS=$SHARED/fixtures/text/tinyshakespeare.txt
head -c 100000 "$TS" | awk 'BEGIN { RS = "" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t");
	gsub(/\n/, "\\n"); print "{\"text\":\"" $0 "\"}" }' > "$T/docs.jsonl"
bin/bonsai-tokenize encode -q -t "$TOK" -o "$T/stream" "$T/docs.jsonl" &&
	bin/bonsai-shard -q -o "$T/sh" --val-docs 10 "$T/stream"
ok $? "shards for --init made"
TR="bin/bonsai-train --data $T/sh --steps 1 --seq 64 --batch-tokens 256 --device cpu"
$TR --init "$MODEL" -o "$T/r1" 2>/dev/null | grep -o '"loss":[0-9.]*' > "$T/loss.ref"
HF_HUB_CACHE=$T/mc $TR --init $MREPO -o "$T/r2" 2> "$T/t.err" | grep -o '"loss":[0-9.]*' > "$T/loss.out"
[ -s "$T/loss.ref" ] && cmp -s "$T/loss.ref" "$T/loss.out"
ok $? "bonsai-train --init $MREPO: the first step's loss as from the folder ($(cat "$T/loss.out"); $(tail -n 1 "$T/t.err" | head -c 160))"
HF_HUB_CACHE=$T/mc $TR --init test/absent -o "$T/r3" > /dev/null 2> "$T/t.err"
[ $? = 1 ] && grep -q "bonsai-fetch --model test/absent" "$T/t.err"
ok $? "bonsai-train --init of a model not cached: exit 1, the bonsai-fetch command ($(head -c 200 "$T/t.err"))"

done_testing
