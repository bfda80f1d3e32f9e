#!/bin/sh
# bench/tokenize.sh - encode throughput of bonsai-tokenize (-j 1, -j 2) on
# tinyshakespeare and FineWeb text, against Hugging Face tokenizers (Gemma 3)
# and tiktoken (r50k/cl100k/o200k) in the same run, and training time
# against Hugging Face's BPE trainer. Throughput counts encoding only: the
# time to load the tokenizer (measured on an empty input) is taken off.
# The peers are the npm packages `tokenizers` and `tiktoken`; give their
# node_modules in NPM_DIR (skipped when absent):
#   mkdir /tmp/npm && (cd /tmp/npm && npm install tokenizers tiktoken)
#   NPM_DIR=/tmp/npm/node_modules bench/tokenize.sh
# "bench/tokenize.sh load" measures the whole process instead (see there).
set -e
T=bin/bonsai-tokenize
S=${BONSAI_SHARED:-../shared}/fixtures
W=${TMPDIR:-/tmp}/bonsai-tokenize-bench
mkdir -p "$W"
now() { date +%s.%N; }

# tinyshakespeare as documents of about 4 KB (whole paragraphs)
awk 'BEGIN { RS = ""; ORS = "" }
     { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\n/, "\\n");
       doc = doc (doc == "" ? "" : "\\n\\n") $0
       if (length(doc) >= 4000) { print "{\"text\":\"" doc "\"}\n"; doc = "" } }
     END { if (doc != "") print "{\"text\":\"" doc "\"}\n" }' \
	"$S/text/tinyshakespeare.txt" > "$W/shakespeare1.jsonl"
# five times over, so that a run lasts long enough to time (5.5 MB)
for i in 1 2 3 4 5; do cat "$W/shakespeare1.jsonl"; done > "$W/shakespeare.jsonl"
# FineWeb: the text of the two sample parquet files (6,500 documents)
if [ ! -s "$W/fineweb-all.jsonl" ]; then
	bin/bonsai-fetch -q --columns text "$S/fineweb-edu/sample/10BT/000_00000.parquet" \
		"$S/fineweb-edu/sample/10BT/001_00000.parquet" -o "$W/fineweb-all.jsonl"
fi
# the first 1,000 documents for encoding (the peers are slow)
head -n 1000 "$W/fineweb-all.jsonl" > "$W/fineweb.jsonl"
echo '{"text":""}' > "$W/empty.jsonl"

tok_path() {
	case $1 in
	gemma3) echo "$S/tokenizers/gemma3/tokenizer.json" ;;
	*) echo "$S/tokenizers/tiktoken/$1.tiktoken" ;;
	esac
}

# bench/tokenize.sh load: the whole process, tokenizer load included, on
# 2,000 FineWeb documents at -j 1: MB of text per CPU second of
# bonsai-tokenize (user + system, /usr/bin/time; the compiled tokenizer
# already in the cache, as after any first use) and of the peers' node
# process (module, tokenizer and input load included). REPS rounds (5 by
# default), each running ours, OLD (an older bonsai-tokenize, if given)
# and the peer one after the other, so that all see the same load; the
# median of each, its range, and ours over the peer's (medians).
if [ "$1" = load ]; then
	head -n 2000 "$W/fineweb-all.jsonl" > "$W/fineweb2k.jsonl"
	whole() { # binary tokenizer -> MB per CPU s of the process
		/usr/bin/time -f '%U %S' -o "$W/time" "$1" encode --progress -t "$2" -j 1 -o /dev/null \
			"$W/fineweb2k.jsonl" 2> "$W/err"
		line=$(tr '\r' '\n' < "$W/err" | grep 'CPU s' | tail -1)
		mb=$(echo "$line" | sed -n 's/.* \([0-9.]*\) MB of text.*/\1/p')
		awk -v mb="$mb" '{ printf "%.2f\n", mb / ($1 + $2) }' "$W/time"
	}
	med() { # "median (min-max)" of the numbers in a file
		sort -n "$1" | awk '{ a[NR] = $1 } END { if (!NR) { print "n/a"; exit }
			printf "%.2f (%.2f-%.2f)\n", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, a[1], a[NR] }'
	}
	uptime
	echo "| tokenizer | bonsai, MB/CPU s, load included | old build | peer | peer, load included | peer, encode only | ours / peer |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	for name in cl100k_base o200k_base r50k_base gemma3; do
		tok=$(tok_path $name)
		$T info "$tok" > /dev/null # compiled into the cache once
		: > "$W/new" && : > "$W/old" && : > "$W/peer" && : > "$W/peer_enc"
		if [ $name = gemma3 ]; then peer=hf; arg=$tok; pn="HF tokenizers"
		else peer=tiktoken; arg=$name; pn=tiktoken; fi
		for i in $(seq "${REPS:-5}"); do
			whole "$T" "$tok" >> "$W/new"
			[ -z "$OLD" ] || whole "$OLD" "$tok" >> "$W/old"
			if [ -n "$NPM_DIR" ]; then
				out=$(NODE_PATH=$NPM_DIR node bench/tokenize_peer.js $peer "$arg" "$W/fineweb2k.jsonl")
				echo "$out" | sed 's/.*"mb_cpu_s_total":\([0-9.]*\).*/\1/' >> "$W/peer"
				echo "$out" | sed 's/.*"mb_cpu_s":\([0-9.]*\).*/\1/' >> "$W/peer_enc"
			fi
		done
		n=$(med "$W/new" | cut -d' ' -f1) p=$(med "$W/peer" | cut -d' ' -f1)
		ratio=$([ "$p" = n/a ] && echo n/a || awk -v n="$n" -v p="$p" 'BEGIN { printf "%.1fx\n", n / p }')
		echo "| $name | $(med "$W/new") | $(med "$W/old") | ${NPM_DIR:+$pn} | $(med "$W/peer") | $(med "$W/peer_enc") | $ratio |"
	done
	uptime
	exit 0
fi

ours() { # name docs threads -> "wall MB/s / MB per CPU s" (best of 3)
	tok=$(tok_path "$1")
	best=0 bestc=0
	for i in 1 2 3; do
		line=$($T encode --progress -t "$tok" -j "$3" -o /dev/null "$2" 2>&1 | tr '\r' '\n' | grep 'CPU s' | tail -1)
		r=$(echo "$line" | sed -n 's/.*s (\([0-9.]*\) MB\/s).*/\1/p')
		rc=$(echo "$line" | sed -n 's/.*(\([0-9.]*\) MB\/CPU s).*/\1/p')
		best=$(echo "$r $best" | awk '{ print ($1 > $2 ? $1 : $2) }')
		bestc=$(echo "$rc $bestc" | awk '{ print ($1 > $2 ? $1 : $2) }')
	done
	printf '%.2f / %.2f' "$best" "$bestc"
}

peer() { # mode name docs [batch] -> "wall MB/s / MB per CPU s" (best of 2)
	[ -n "$NPM_DIR" ] || { printf 'n/a'; return; }
	best=0 bestc=0
	for i in 1 2; do
		out=$(NODE_PATH=$NPM_DIR node bench/tokenize_peer.js "$1" "$2" "$3" $4)
		r=$(echo "$out" | sed 's/.*"mb_s":\([0-9.]*\).*/\1/')
		rc=$(echo "$out" | sed 's/.*"mb_cpu_s":\([0-9.]*\).*/\1/')
		best=$(echo "$r $best" | awk '{ print ($1 > $2 ? $1 : $2) }')
		bestc=$(echo "$rc $bestc" | awk '{ print ($1 > $2 ? $1 : $2) }')
	done
	printf '%.2f / %.2f' "$best" "$bestc"
}

uptime
echo "| text | tokenizer | ours -j 1 | ours -j 2 | peer | peer |"
echo "| --- | --- | --- | --- | --- | --- |"
for docs in shakespeare fineweb; do
	for name in gemma3 cl100k_base r50k_base o200k_base; do
		o1=$(ours $name "$W/$docs.jsonl" 1)
		o2=$(ours $name "$W/$docs.jsonl" 2)
		if [ $name = gemma3 ]; then
			p=$(peer hf "$(tok_path gemma3)" "$W/$docs.jsonl")
			pb=$(peer hf "$(tok_path gemma3)" "$W/$docs.jsonl" batch)
			echo "| $docs | $name | $o1 | $o2 | HF tokenizers (one by one / encodeBatch) | $p / $pb |"
		else
			p=$(peer tiktoken $name "$W/$docs.jsonl")
			echo "| $docs | $name | $o1 | $o2 | tiktoken (WASM) | $p |"
		fi
	done
done

# training: 20 MB of FineWeb text to a 30,000-token vocabulary
head -c 20000000 "$W/fineweb-all.jsonl" | sed '$d' > "$W/train.jsonl"
NODE_PATH=$NPM_DIR node -e '
const fs = require("fs");
const out = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(l => l).map(l => JSON.parse(l).text).join("\n");
fs.writeFileSync(process.argv[2], out + "\n");' "$W/train.jsonl" "$W/train.txt" 2>/dev/null || true
for j in 1 2; do
	/usr/bin/time -f "train ours -j $j: %e s wall, %U+%S CPU s" $T train -q -j $j --vocab-size 30000 --min-frequency 1 -f -o "$W/ours.json" "$W/train.jsonl"
done
if [ -n "$NPM_DIR" ]; then
	NODE_PATH=$NPM_DIR /usr/bin/time -f "train HF: %e s wall, %U+%S CPU s (the process)" node bench/tokenize_peer.js hf-train "$W/train.txt" 30000
fi
