#!/bin/sh
# export_hf.sh - where python3 can import torch and transformers (the GPU
# machine): the folder of bonsai-train export, loaded by transformers'
# AutoTokenizer and AutoModelForCausalLM from its local path (offline, no
# other argument), gives what our tools give (TAP; run by `make check-cuda`
# with the other tests/cuda/*.sh, or alone:
#   make all && BUILD=build prove -v tests/cuda/export_hf.sh
# with BONSAI_SHARED pointing at the test data when it is not ../shared and
# PYTHON at another interpreter than python3). Everything runs on the CPU
# in float32; it needs no GPU.
#  - AutoTokenizer's ids (no special tokens) = bonsai-tokenize encode --ids,
#    on every text of the tokenizer cases file, for a BPE tokenizer of our
#    own, for Gemma 3's tokenizer.json and for r50k_base (the tokenizer.json
#    that export derives from the .tiktoken, against the .tiktoken's ids);
#  - the log-likelihood of short texts after BOS (bonsai-eval loglik, the
#    sum perplexity is made of) from transformers' model equals ours within
#    1e-4 nats per token, for a model trained here and exported in float32
#    and in bf16 (read back in float32 by both), and for one with Gemma 3's
#    tokenizer and one with r50k_base.
. tests/tap.sh
need_shared
PY=${PYTHON:-python3}
"$PY" -c 'import torch, transformers' 2> /dev/null ||
	skip_all "$PY cannot import torch and transformers (set PYTHON to one that can)"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
TXT=$SHARED/fixtures/text/tinyshakespeare.txt
CASES=$SHARED/fixtures/tokenizers/cases.jsonl
GEMMA=$SHARED/fixtures/tokenizers/gemma3/tokenizer.json
BOUND=1e-4

# hf DIR TEXTS.jsonl: DIR through transformers; per {"text"} line of TEXTS,
# the ids in $T/hf.ids and "loglik tokens" in $T/hf.ll
hf() {
	"$PY" - "$1" "$2" "$T/hf.ids" "$T/hf.ll" 2> "$T/hf.err" <<'PY'
import json, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
d, texts, ids_out, ll_out = sys.argv[1:5]
tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
model = AutoModelForCausalLM.from_pretrained(d, local_files_only=True,
                                             attn_implementation="eager").float().eval()
bos = model.config.bos_token_id
with open(texts) as f, open(ids_out, "w") as fi, open(ll_out, "w") as fl, torch.no_grad():
    for line in f:
        ids = tok(json.loads(line)["text"], add_special_tokens=False)["input_ids"]
        fi.write(" ".join(map(str, ids)) + "\n")
        x = torch.tensor([[bos] + ids])
        lp = torch.log_softmax(model(x).logits[0, :-1].double(), -1)
        fl.write("%.10f %d\n" % (lp[torch.arange(len(ids)), x[0, 1:]].sum().item(), len(ids)))
PY
}

# ours DIR TEXTS.jsonl: the same through bonsai-tokenize and bonsai-eval
ours() {
	bin/bonsai-tokenize encode -q --ids -t "$1/tokenizer.json" "$2" > "$T/our.ids" &&
	sed 's/^{"text":/{"context": "", "continuation":/' "$2" |
		bin/bonsai-eval loglik -m "$1" --device cpu -q |
		sed 's/.*"loglikelihood": \([^,]*\),.*"continuation_tokens": \([0-9]*\).*/\1 \2/' > "$T/our.ll" &&
	[ "$(wc -l < "$T/our.ll")" -eq "$(wc -l < "$2")" ]
}

# same_ll NAME: the log-likelihoods agree within BOUND nats per token
same_ll() {
	paste -d' ' "$T/our.ll" "$T/hf.ll" | awk -v b=$BOUND -v name="$1" '
		{ n++; d = $1 - $3; if (d < 0) d = -d; if ($2 != $4 || $2 == 0) bad++
		  else if (d / $2 > worst) worst = d / $2 }
		END { printf "# %s: %d texts, worst %.3g nats per token\n", name, n, worst
		      exit !(n > 0 && !bad && worst < b) }'
}

# same_ids DIR NAME [TOKENIZER]: transformers loads DIR, and its ids on the
# cases are ours with TOKENIZER (DIR's tokenizer.json by default)
same_ids() {
	hf "$1" "$CASES"
	ok $? "$2: transformers loads the export" || diag "$(tail -5 "$T/hf.err")"
	bin/bonsai-tokenize encode -q --ids -t "${3:-$1/tokenizer.json}" "$CASES" > "$T/our.ids"
	cmp -s "$T/our.ids" "$T/hf.ids"
	ok $? "$2: AutoTokenizer ids = bonsai-tokenize ids ($(wc -l < "$CASES") texts)" ||
		diag "first difference: $(cmp "$T/our.ids" "$T/hf.ids")"
}

awk 'BEGIN { RS = "" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, " ");
	gsub(/\n/, "\\n"); print "{\"text\": \"" $0 "\"}" }' "$TXT" > "$T/ts.jsonl"
head -n 400 "$T/ts.jsonl" > "$T/train.jsonl"
# short texts, well inside the 512 positions
sed -n '1000,$p' "$T/ts.jsonl" | awk 'length($0) < 400' | head -n 12 > "$T/texts.jsonl"
cat > "$T/small.json" <<JSON
{"model_type": "gemma3_text", "vocab_size": VOCAB, "hidden_size": 64,
 "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
 "num_key_value_heads": 2, "head_dim": 16, "sliding_window": 16,
 "max_position_embeddings": 512, "query_pre_attn_scalar": 16,
 "layer_types": ["sliding_attention", "full_attention"]}
JSON
sed 's/VOCAB/512/' "$T/small.json" > "$T/bpe.json"
sed 's/VOCAB/262208/' "$T/small.json" > "$T/gemma.json"

# a BPE tokenizer and a model of our own, exported in float32 and bf16
bin/bonsai-tokenize train -q --vocab-size 500 -o "$T/tok.json" "$T/train.jsonl" &&
	bin/bonsai-tokenize encode -q -t "$T/tok.json" -o "$T/s" "$T/train.jsonl" &&
	bin/bonsai-shard -q -t "$T/tok.json" -o "$T/d" --val-docs 10 "$T/s" &&
	bin/bonsai-train --data "$T/d" --model "$T/bpe.json" -o "$T/run" --steps 60 --seq 64 \
		--batch-tokens 1024 --lr 3e-3 --warmup 6 --device cpu -q > /dev/null 2> "$T/err" &&
	bin/bonsai-train export "$T/run" -o "$T/exp" 2>> "$T/err" &&
	bin/bonsai-train export --dtype bf16 "$T/run" -o "$T/exp16" 2>> "$T/err"
ok $? "a model trained on our BPE tokenizer, exported in float32 and bf16" || diag "$(cat "$T/err")"

same_ids "$T/exp" "our BPE"
for e in exp exp16; do
	hf "$T/$e" "$T/texts.jsonl" && ours "$T/$e" "$T/texts.jsonl"
	ok $? "$e: transformers and bonsai-eval loglik both ran" || diag "$(tail -5 "$T/hf.err")"
	same_ll "$e"
	ok $? "$e: log-likelihoods within $BOUND nats per token"
done

# Gemma 3's tokenizer, carried as it is
head -n 20 "$T/train.jsonl" > "$T/few.jsonl"
bin/bonsai-tokenize encode -q -t "$GEMMA" -o "$T/sg" "$T/few.jsonl" &&
	bin/bonsai-shard -q -t "$GEMMA" -o "$T/dg" --val-docs 2 "$T/sg" &&
	bin/bonsai-train --data "$T/dg" --model "$T/gemma.json" -o "$T/rg" --steps 2 --seq 32 \
		--batch-tokens 64 --device cpu -q > /dev/null 2> "$T/err" &&
	bin/bonsai-train export "$T/rg" -o "$T/eg" 2>> "$T/err"
ok $? "a model on Gemma 3's tokenizer, exported" || diag "$(cat "$T/err")"
same_ids "$T/eg" "Gemma 3"
hf "$T/eg" "$T/texts.jsonl" && ours "$T/eg" "$T/texts.jsonl" && same_ll gemma3
ok $? "Gemma 3 tokenizer model: log-likelihoods within $BOUND nats per token"

# r50k_base: the export keeps the .tiktoken and derives a tokenizer.json
# from its ranks; AutoTokenizer (split_special_tokens, as tiktoken never
# finds <|endoftext|> in text) gives the .tiktoken's ids
R50K=$SHARED/fixtures/tokenizers/tiktoken/r50k_base.tiktoken
sed 's/VOCAB/50257/; s/^{/{"bos_token_id": 50256, "eos_token_id": 50256, "pad_token_id": 50256,/' \
	"$T/small.json" > "$T/r50k.json"
bin/bonsai-tokenize encode -q -t "$R50K" -o "$T/s50k" "$T/train.jsonl" &&
	bin/bonsai-shard -q -t "$R50K" -o "$T/d50k" --val-docs 10 "$T/s50k" &&
	bin/bonsai-train --data "$T/d50k" --model "$T/r50k.json" -o "$T/r50k" --steps 10 --seq 64 \
		--batch-tokens 512 --lr 3e-3 --warmup 2 --device cpu -q > /dev/null 2> "$T/err" &&
	bin/bonsai-train export "$T/r50k" -o "$T/e50k" 2>> "$T/err"
ok $? "a model on r50k_base, exported" || diag "$(cat "$T/err")"
same_ids "$T/e50k" "r50k_base" "$R50K"
hf "$T/e50k" "$T/texts.jsonl" && ours "$T/e50k" "$T/texts.jsonl" && same_ll r50k_base
ok $? "r50k_base model: log-likelihoods within $BOUND nats per token"
done_testing
