#!/bin/sh
# bonsai-filter on real FineWeb-Edu rows (bonsai-fetch | bonsai-filter),
# checked against an independent Python implementation of the same rules
# (json, unicodedata). Skips without bonsai-fetch, the fixture or python3.
. tests/tap.sh

PQ="$SHARED/fixtures/fineweb-edu/sample/10BT/000_00000.parquet"
[ -x bin/bonsai-fetch ] || skip_all "bin/bonsai-fetch not built"
[ -f "$PQ" ] || skip_all "fixture $PQ not found"
command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed"

bin/bonsai-fetch -q -n 2000 "$PQ" >"$T/in" 2>"$T/err"
ok $? "bonsai-fetch wrote $(wc -l <"$T/in") documents"
cp "$T/in" "$T/orig"
# Add exact repeats, and copies of documents in NFD with control characters
# put in, so that the hygiene and --dedup have work.
head -n 20 "$T/orig" >>"$T/in"
python3 - "$T/orig" >>"$T/in" <<'PY'
import json, sys, unicodedata
for i, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    if i % 50: continue
    d = json.loads(line)
    t = unicodedata.normalize("NFD", d["text"] + " caf\u00e9 \u212b")
    d["text"] = t[:len(t) // 2] + "\u0007\x7f\x85" + t[len(t) // 2:]
    print(json.dumps(d, ensure_ascii=(i % 100 == 0)))
PY

cat >"$T/ref.py" <<'PY'
import json, sys, unicodedata
inp, outp, args = sys.argv[1], sys.argv[2], sys.argv[3:]
min_int, min_chars, min_lang = 3, 200, 0.9
def clean(t):
    t = "".join(c for c in t if not (unicodedata.category(c) == "Cc" and c not in "\t\n\r"))
    return unicodedata.normalize("NFC", t)
want, seen, reasons = [], set(), {}
for line in open(inp, encoding="utf-8"):
    d = json.loads(line)
    r = None
    if not isinstance(d.get("int_score"), (int, float)) or isinstance(d.get("int_score"), bool): r = "missing-field"
    elif d["int_score"] < min_int: r = "int-score"
    elif not isinstance(d.get("language_score"), (int, float)): r = "missing-field"
    elif d["language_score"] < min_lang: r = "language-score"
    else:
        t = clean(d["text"])
        if len(t) < min_chars: r = "too-short"
        elif t in seen: r = "duplicate"
        else:
            seen.add(t); d["text"] = t; want.append(d)
    if r: reasons[r] = reasons.get(r, 0) + 1
got = [json.loads(l) for l in open(outp, encoding="utf-8")]
same = len(got) == len(want) and all(list(g.items()) == list(w.items()) for g, w in zip(got, want))
st = json.load(open(args[0]))
counts = all(st["dropped_by_reason"][k] == v for k, v in reasons.items()) and st["documents_out"] == len(want)
print(len(want), reasons, file=sys.stderr)
sys.exit(0 if same and counts else 1)
PY

run bin/bonsai-filter -q --min-int-score 3 --min-language-score 0.9 --min-chars 200 --dedup --stats "$T/stats" "$T/in"
cp "$T/out" "$T/got"
ok $rc "bonsai-filter ran"
python3 "$T/ref.py" "$T/in" "$T/got" "$T/stats" 2>"$T/pyerr"
ok $? "documents and counts equal the Python reference's ($(cat "$T/pyerr"))"

grep -q '"nfc_changed": [1-9]' "$T/stats" && grep -q '"controls_removed": [1-9]' "$T/stats"
ok $? "the hygiene had work: $(grep -E 'nfc_changed|controls_removed' "$T/stats" | tr -d ' \n')"

# Kept documents whose text needed no change come out byte for byte.
run bin/bonsai-filter -q --min-int-score 3 "$T/orig"
cp "$T/out" "$T/got"
python3 - "$T/orig" "$T/got" <<'PY'
import sys
inp = set(open(sys.argv[1], "rb").read().split(b"\n"))
out = open(sys.argv[2], "rb").read().split(b"\n")[:-1]
sys.exit(0 if out and all(l in inp for l in out) else 1)
PY
ok $? "kept lines are byte-identical to input lines"

run bin/bonsai-filter -q -f --near-dedup --stats "$T/stats" "$T/in"
grep -q '"near-duplicate": [1-9]' "$T/stats"
ok $? "--near-dedup finds the repeated documents ($(grep near-dup "$T/stats" | tr -d ' '))"
done_testing
