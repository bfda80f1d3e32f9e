# train-common.sh - sourced by tests/train-*.t: the TAP helpers (tap.sh),
# byte-level shards of tinyshakespeare made with our own tokenize and shard
# tools, and a small model config. Not a test itself.

. tests/tap.sh
TS=$SHARED/fixtures/text/tinyshakespeare.txt

# train_setup FILE: skips the whole test (exit 0) when FILE (default
# tinyshakespeare) is absent.
train_setup() {
	[ -f "${1:-$TS}" ] || skip_all "${1:-$TS} absent"
}

# A .tiktoken ranks file whose 256 tokens are the single bytes: encoding with
# it gives a byte-level token stream through the real pipeline.
make_byte_tokenizer() {
	: > "$1"
	for i in $(seq 0 255); do
		printf "$(printf '\\%03o' "$i")" | base64 | tr -d '\n' >> "$1"
		echo " $i" >> "$1"
	done
}

# make_byte_shards DIR BYTES VALDOCS: the first BYTES of tinyshakespeare,
# one document per paragraph, the first VALDOCS documents for validation.
make_byte_shards() {
	d=$1
	mkdir -p "$d.work"
	make_byte_tokenizer "$d.work/bytes.tiktoken"
	head -c "$2" "$TS" | awk 'BEGIN { RS = "" } {
		gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\n/, "\\n")
		print "{\"text\":\"" $0 "\"}" }' > "$d.work/docs.jsonl"
	bin/bonsai-tokenize encode -q -t "$d.work/bytes.tiktoken" --pattern r50k_base --no-bos \
		-o "$d.work/stream" "$d.work/docs.jsonl" &&
	bin/bonsai-tokenize encode -q -t "$d.work/bytes.tiktoken" --pattern r50k_base \
		--ids "$d.work/docs.jsonl" > "$d.work/ids" &&
	bin/bonsai-shard -q -o "$d" --val-docs "$3" "$d.work/stream"
}

# make_bpe_shards DIR BYTES VALDOCS VOCAB: the same documents through a BPE
# tokenizer that bonsai-tokenize trains on them (with BOS per document).
make_bpe_shards() {
	d=$1
	mkdir -p "$d.work"
	head -c "$2" "$TS" | awk 'BEGIN { RS = "" } {
		gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\n/, "\\n")
		print "{\"text\":\"" $0 "\"}" }' > "$d.work/docs.jsonl"
	bin/bonsai-tokenize train -q --vocab-size "$4" -o "$d.work/tokenizer.json" "$d.work/docs.jsonl" &&
	bin/bonsai-tokenize encode -q -t "$d.work/tokenizer.json" -o "$d.work/stream" "$d.work/docs.jsonl" &&
	bin/bonsai-tokenize encode -q -t "$d.work/tokenizer.json" --ids "$d.work/docs.jsonl" > "$d.work/ids" &&
	bin/bonsai-shard -q -o "$d" --val-docs "$3" "$d.work/stream"
}

# Unigram entropy (nats) of the ids in a file of space-separated ids: the
# loss of the best model that ignores context.
unigram_entropy() {
	awk '{ for (i = 1; i <= NF; i++) { c[$i]++; n++ } }
	     END { for (k in c) { p = c[k] / n; h -= p * log(p) }; printf "%.4f\n", h }' "$1"
}

# write_small_config FILE [VOCAB]: 2 layers (sliding, global), d 64, GQA 4/2.
write_small_config() {
	cat > "$1" <<JSON
{"model_type": "gemma3_text", "vocab_size": ${2:-256}, "hidden_size": 64,
 "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
 "num_key_value_heads": 2, "head_dim": 16, "sliding_window": 16,
 "max_position_embeddings": 512, "query_pre_attn_scalar": 16,
 "layer_types": ["sliding_attention", "full_attention"]}
JSON
}

# wait_lines FILE N: waits (up to 30 s) until a background run's FILE has N
# lines (the run creates it itself: until then, 0 lines).
wait_lines() {
	i=0
	while [ "$(cat "$1" 2> /dev/null | wc -l)" -lt "$2" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# kill_rank PID R: kill -9 of rank R (the child of PID, a --gpus parent,
# whose RANK is R), then waits for PID; sets killed (the rank's pid), rc
# (PID's exit status) and dt (seconds from the kill to PID's end).
kill_rank() {
	killed=
	for c in $(ps -o pid= --ppid "$1"); do
		tr '\0' '\n' < /proc/$c/environ | grep -qx "RANK=$2" && killed=$c
	done
	kill -9 $killed
	t0=$(date +%s)
	wait "$1"
	rc=$?
	dt=$(($(date +%s) - t0))
}

# The losses of a run's log, one per line (step lines only).
losses() {
	grep '"loss"' "$1" | sed 's/.*"loss":\([^,]*\),.*/\1/'
}

# One thread: the test machines' cores are shared, and OpenMP barriers on
# busy cores cost more than these tiny models gain from a second thread.
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export OMP_NUM_THREADS
