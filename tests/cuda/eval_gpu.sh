#!/bin/sh
# eval_gpu.sh - bonsai-eval --device cuda against the CPU and against
# transformers, and items/s of the seed-size model; prints TAP.
#
#   Here (builds, no GPU needed; stages binaries, libraries and data into
#   .dev/evalgpu, about 25 MB):
#       tests/cuda/eval_gpu.sh stage
#   On the GPU machine (one command, about 2-3 minutes; results also go to $OUT):
#       run  command="sh tests/cuda/eval_gpu.sh"  carry=[".dev/evalgpu"]
#
# Checks (lm_eval_tiny: 4 layers, vocabulary 50257 = padded to 50264 on the
# GPU; gemma3_tiny: 6 layers, window 8, vocabulary 512):
#  - the scoring kernels alone (tests/cuda/check_logprob.cu);
#  - the GPU's per-choice log-likelihoods against transformers' float64 ones
#    (lm_eval_tiny's 60 PIQA + 60 ARC-Easy items) and against the CPU's
#    (the first 300 PIQA and 300 ARC-Easy items): at most TOL_TOK nats per
#    continuation token apart; token counts equal; acc and acc_norm
#    predictions agree on at least MIN_AGREE of the items;
#  - the GPU gives the same bits twice;
#  - ppl on random-token shards, both models: the GPU's loss within
#    TOL_PPL (relative) of the CPU's; another --batch-tokens, same loss;
#  - timing: the seed preset with Gemma 3's vocabulary (262144, random
#    init, 424 M parameters) on all of PIQA on the GPU; on the CPU only the
#    first CPU_ITEMS items (items/s measured there and said so). The r50k
#    tokenizer encodes the prompts (Gemma 3's tokenizer.json is 33 MB): token
#    counts differ from Gemma 3's by a few percent.
. tests/tap.sh
set -u
S=${EVALGPU:-.dev/evalgpu}

if [ "${1:-}" = stage ]; then
	set -e
	make bin/bonsai-eval bin/bonsai-shard "$BUILD/tests/tools/mkstream" \
		"$BUILD/tests/tools/g3_random_model" "$BUILD/tests/cuda/check_logprob"
	nm bin/bonsai-eval | grep -q gemma3_gpu_ ||
		{ echo "bin/bonsai-eval was built without CUDA (no nvcc?)" >&2; exit 1; }
	rm -rf "$S"
	mkdir -p "$S/bin" "$S/lib" "$S/data/piqa" "$S/data/arc_easy" "$S/data/lm_eval_tiny" \
		"$S/data/gemma3_tiny"
	cp bin/bonsai-eval bin/bonsai-shard "$BUILD/tests/tools/mkstream" \
		"$BUILD/tests/tools/g3_random_model" "$BUILD/tests/cuda/check_logprob" "$S/bin/"
	# libraries the GPU machine may lack (-dev packages installed here)
	for l in libutf8proc.so libbz2.so libzstd.so; do
		p=$(ldd bin/bonsai-eval | awk -v l="$l" 'index($1, l) == 1 { print $3 }')
		[ -n "$p" ] && cp -L "$p" "$S/lib/"
	done
	F=$SHARED/fixtures
	cp "$F/eval/piqa/valid.jsonl" "$F/eval/piqa/valid-labels.lst" "$S/data/piqa/"
	cp "$F/eval/arc_easy/ARC-Easy-Test.jsonl" "$S/data/arc_easy/"
	cp "$F/eval/lm_eval_tiny/config.json" "$F/eval/lm_eval_tiny/model.safetensors" \
		"$F/eval/lm_eval_tiny/loglikelihoods.jsonl" "$S/data/lm_eval_tiny/"
	G=$F/gemma3_tiny
	[ -f "$G/config.json" ] || G=.dev/gemma3_tiny
	cp "$G/config.json" "$G/model.safetensors" "$S/data/gemma3_tiny/"
	cp "$F/tokenizers/tiktoken/r50k_base.tiktoken" "$S/data/"
	du -sh "$S"
	exit 0
fi

TOL_TOK=${TOL_TOK:-0.02}     # nats per continuation token, GPU vs reference or CPU
MIN_AGREE=${MIN_AGREE:-0.97} # acc / acc_norm predictions that agree
TOL_PPL=${TOL_PPL:-1e-3}     # relative, ppl loss GPU vs CPU
CPU_ITEMS=${CPU_ITEMS:-8}
LIMIT=${LIMIT:-300}          # items of each task in the GPU vs CPU comparison
GPU_DEV=${GPU_DEV:-cuda}     # cpu: a dry run of this script without a GPU
export LD_LIBRARY_PATH="$S/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
B=$S/bin
D=$S/data
O=${OUT:-/tmp/eval_gpu_out}
mkdir -p "$O"
TMP=$T
[ -x "$B/bonsai-eval" ] || skip_all "nothing staged in $S: run tests/cuda/eval_gpu.sh stage first"
note() { echo "# $*"; }
M=$D/lm_eval_tiny
TOK=$D/r50k_base.tiktoken
EV="$B/bonsai-eval -t $TOK -q -f" # -f: $O keeps the outputs of an earlier run
TASKS="piqa=$D/piqa,arc_easy=$D/arc_easy/ARC-Easy-Test.jsonl"

note "$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1); $(nproc) CPUs"

# compare.py SAMPLES_A SAMPLES_B LABEL: per-choice log-likelihoods, token
# counts and predictions of two --samples files (or the reference file)
cat > "$TMP/compare.py" <<'PY'
import json, sys
a_path, b_path, label, tol, min_agree = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
def load(p):
    return {(r["task"], r["index"]): r for r in map(json.loads, open(p))}
a, b = load(a_path), load(b_path)
keys = sorted(set(a) & set(b))
worst = worst_abs = 0.0; bad_tok = 0; agree = agree_n = 0; greedy_same = choices = 0
diffs = []
for k in keys:
    x, y = a[k], b[k]
    for c in range(len(x["choices"])):
        nt = x["continuation_tokens"][c]
        bad_tok += nt != y["continuation_tokens"][c] or x["context_tokens"][c] != y["context_tokens"][c]
        d = abs(x["loglikelihoods"][c] - y["loglikelihoods"][c])
        diffs.append(d / nt)
        worst = max(worst, d / nt); worst_abs = max(worst_abs, d)
        greedy_same += x["is_greedy"][c] == y["is_greedy"][c]; choices += 1
    agree += x["pred_acc"] == y["pred_acc"]; agree_n += x["pred_acc_norm"] == y["pred_acc_norm"]
diffs.sort()
n = len(keys)
print(f"# {label}: {n} items, {choices} choices; |dll| per token: max {worst:.2e}, median {diffs[len(diffs)//2]:.2e}; max |dll| {worst_abs:.3e}")
print(f"# {label}: acc predictions agree {agree}/{n}, acc_norm {agree_n}/{n}, is_greedy {greedy_same}/{choices}")
res = [("items on both sides", n == len(a) == len(b) and n > 0),
       ("token counts equal", bad_tok == 0),
       (f"every log-likelihood within {tol} nats per token (worst {worst:.2e})", worst <= tol),
       (f"acc and acc_norm predictions agree on >= {min_agree:.0%} ({agree}, {agree_n} of {n})",
        agree >= min_agree * n and agree_n >= min_agree * n)]
for what, good in res:
    print(("ok" if good else "not ok") + f" - {label}: {what}")
PY
compare() { # compare A B LABEL
	python3 "$TMP/compare.py" "$1" "$2" "$3" "$TOL_TOK" "$MIN_AGREE" > "$TMP/cmp" 2>&1
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok 0 "${line#ok - }" ;;
		"not ok - "*) ok 1 "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done < "$TMP/cmp"
}
num() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, d))' "$@"; }

# 0. the scoring kernels alone
if [ "$GPU_DEV" = cuda ]; then
	"$B/check_logprob" > "$TMP/kern" 2>&1; rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok 0 "kernels: ${line#* - }" ;;
		"not ok "*) ok 1 "kernels: ${line#* - }" ;;
		"1.."*) ;;
		*) echo "# $line" ;;
		esac
	done < "$TMP/kern"
	ok $rc "check_logprob exits 0"
fi

# 1. against transformers (float64)
$EV tasks "$TASKS" --limit 60 -m "$M" --device $GPU_DEV -o "$O/ref_gpu.json" --samples "$O/ref_gpu.jsonl"
ok $? "tasks --device cuda on lm_eval_tiny runs"
[ "$GPU_DEV" = cpu ] || grep -q '"device": "NVIDIA' "$O/ref_gpu.json"; ok $? "the results name the GPU"
compare "$M/loglikelihoods.jsonl" "$O/ref_gpu.jsonl" "GPU vs transformers"

# 2. against the CPU, and twice the same bits
$EV tasks "$TASKS" --limit $LIMIT -m "$M" --device cpu -o "$O/cmp_cpu.json" --samples "$O/cmp_cpu.jsonl"
ok $? "tasks --device cpu, $LIMIT + $LIMIT items"
$EV tasks "$TASKS" --limit $LIMIT -m "$M" --device $GPU_DEV -o "$O/cmp_gpu.json" --samples "$O/cmp_gpu.jsonl"
ok $? "tasks --device cuda, $LIMIT + $LIMIT items"
compare "$O/cmp_cpu.jsonl" "$O/cmp_gpu.jsonl" "GPU vs CPU"
note "lm_eval_tiny, $((2 * LIMIT)) items: CPU $(num "$O/cmp_cpu.json" items_per_second) items/s, GPU $(num "$O/cmp_gpu.json" items_per_second) items/s"
$EV tasks "$TASKS" --limit $LIMIT -m "$M" --device $GPU_DEV --batch-tokens 3000 -o /dev/null \
	--samples "$TMP/gpu_b.jsonl"
python3 - "$O/cmp_gpu.jsonl" "$TMP/gpu_b.jsonl" <<'PY'
import json, sys
a = [json.loads(l)["loglikelihoods"] for l in open(sys.argv[1])]
b = [json.loads(l)["loglikelihoods"] for l in open(sys.argv[2])]
w = max(abs(x - y) for p, q in zip(a, b) for x, y in zip(p, q))
print(f"# --batch-tokens 3000 vs 32768: max |dll| {w:.2e}")
sys.exit(0 if len(a) == len(b) and w < 1e-3 else 1)
PY
ok $? "GPU: another --batch-tokens (other shapes) gives the same log-likelihoods (1e-3)"
$EV tasks "$TASKS" --limit $LIMIT -m "$M" --device $GPU_DEV -o /dev/null --samples "$TMP/gpu2.jsonl"
cmp -s "$O/cmp_gpu.jsonl" "$TMP/gpu2.jsonl"; ok $? "GPU: the same bits run after run"

# loglik: a few requests on both
python3 - "$M/loglikelihoods.jsonl" > "$TMP/req.jsonl" <<'PY'
import json, sys
for i, l in enumerate(open(sys.argv[1])):
    if i % 10 == 0:
        x = json.loads(l)
        for c in x["choices"]:
            print(json.dumps({"context": x["context"], "continuation": " " + c}))
PY
$EV loglik "$TMP/req.jsonl" -m "$M" --device cpu -o "$TMP/ll_cpu.jsonl" &&
$EV loglik "$TMP/req.jsonl" -m "$M" --device $GPU_DEV -o "$TMP/ll_gpu.jsonl" &&
python3 - "$TMP/ll_cpu.jsonl" "$TMP/ll_gpu.jsonl" "$TOL_TOK" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
w = max(abs(x["loglikelihood"] - y["loglikelihood"]) / x["continuation_tokens"] for x, y in zip(a, b))
print(f"# loglik: {len(a)} requests, max |dll| per token {w:.2e}")
sys.exit(0 if len(a) == len(b) > 0 and w <= float(sys.argv[3]) else 1)
PY
ok $? "loglik --device cuda agrees with the CPU"

# 3. perplexity on random tokens
ppl_check() { # MODEL VOCAB TOKENS SEQ LABEL
	$B/mkstream --random "$3" 1000 "$2" > "$TMP/s.tok" &&
	rm -rf "$TMP/sh" && $B/bonsai-shard -q -o "$TMP/sh" --val-docs "$(($3 / 1000))" "$TMP/s.tok" &&
	$B/bonsai-eval ppl -m "$1" --data "$TMP/sh" --seq-len "$4" -q -f --device cpu -o "$O/ppl_$5_cpu.json" &&
	$B/bonsai-eval ppl -m "$1" --data "$TMP/sh" --seq-len "$4" -q -f --device $GPU_DEV -o "$O/ppl_$5_gpu.json" &&
	$B/bonsai-eval ppl -m "$1" --data "$TMP/sh" --seq-len "$4" -q -f --device $GPU_DEV --batch-tokens 1000 \
		-o "$TMP/ppl_b.json" &&
	python3 - "$O/ppl_$5_cpu.json" "$O/ppl_$5_gpu.json" "$TMP/ppl_b.json" "$TOL_PPL" "$5" <<'PY'
import json, sys
c, g, b = (json.load(open(p)) for p in sys.argv[1:4])
tol = float(sys.argv[4])
rel = abs(g["loss"] - c["loss"]) / c["loss"]
relb = abs(b["loss"] - g["loss"]) / g["loss"]
print(f"# ppl {sys.argv[5]}: CPU loss {c['loss']:.6f}, GPU {g['loss']:.6f} (rel {rel:.1e}), GPU batch 1000 {b['loss']:.6f} (rel {relb:.1e}); "
      f"{c['tokens']} tokens; CPU {c['tokens_per_second']:.0f} tok/s, GPU {g['tokens_per_second']:.0f} tok/s")
sys.exit(0 if c["tokens"] == g["tokens"] == b["tokens"] and rel <= tol and relb <= 1e-5 else 1)
PY
	ok $? "ppl $5: GPU loss within $TOL_PPL of the CPU's, same tokens; other batch same loss"
}
ppl_check "$M" 50257 20000 256 lm_eval_tiny
ppl_check "$D/gemma3_tiny" 512 100000 512 gemma3_tiny

# 4. timing: the seed preset, Gemma 3's vocabulary
if [ -n "${NO_TIMING:-}" ]; then done_testing; exit; fi
SEED=$TMP/seed
$B/g3_random_model seed 262144 "$SEED" > /dev/null; ok $? "a random seed-size model written"
for bt in 32768 65536; do
	$B/bonsai-eval tasks "piqa=$D/piqa" -m "$SEED" -t "$TOK" --device $GPU_DEV --batch-tokens $bt \
		-o "$O/seed_gpu_$bt.json" 2> "$TMP/err"
	ok $? "seed model, all of PIQA on the GPU, --batch-tokens $bt"
	sed 's/^/#   /' "$TMP/err"
done
$B/bonsai-eval tasks "piqa=$D/piqa" -m "$SEED" -t "$TOK" --device cpu --limit "$CPU_ITEMS" \
	-o "$O/seed_cpu.json" 2> "$TMP/err"
ok $? "seed model, $CPU_ITEMS PIQA items on the CPU"
sed 's/^/#   /' "$TMP/err"
note "seed (424 M params, V 262144), PIQA: GPU $(num "$O/seed_gpu_32768.json" items_per_second) items/s" \
	"(1838 items, 32768 tokens/pass), $(num "$O/seed_gpu_65536.json" items_per_second) (65536);" \
	"CPU $(num "$O/seed_cpu.json" items_per_second) items/s over the first $CPU_ITEMS items ($(nproc) threads)"
done_testing
