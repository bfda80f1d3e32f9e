#!/bin/sh
# An export of a run made with a tiktoken encoding (r50k_base, cl100k_base,
# o200k_base) keeps the .tiktoken file and adds a tokenizer.json derived
# from its ranks, plus tokenizer_config.json, so that transformers can read
# it: that tokenizer.json must give the reference ids of all 324 cases, as
# the .tiktoken does; our tools keep reading the .tiktoken.
. tests/train-common.sh
need_shared
train_setup
S=$SHARED/fixtures/tokenizers
TT=$S/tiktoken
[ -f "$S/cases.jsonl" ] || skip_all "$S/cases.jsonl not found"

head -5 "$S/cases.jsonl" | sed -E 's/^(\{"text":"([^"\\]|\\.)*").*/\1}/' > "$T/few.jsonl"
# <|endoftext|> in the text: ordinary text to the .tiktoken, not to the tokenizer.json
printf '%s\n' '{"context": "", "continuation": "First Citizen:<|endoftext|>Before we proceed"}' > "$T/ll.jsonl"
for name in r50k_base cl100k_base o200k_base; do
	tok=$TT/$name.tiktoken
	[ -f "$tok" ] || { skip "no $tok"; continue; }
	# the vocabulary size and <|endoftext|>
	case $name in
	r50k_base) vocab=50257 eot=50256 ;;
	cl100k_base) vocab=100277 eot=100257 ;;
	o200k_base) vocab=200019 eot=199999 ;;
	esac
	# bos, eos and pad: <|endoftext|>, as tiktoken's encodings have no others
	write_small_config "$T/c.json" "$vocab"
	sed "s/^{/{\"bos_token_id\": $eot, \"eos_token_id\": $eot, \"pad_token_id\": $eot,/" "$T/c.json" > "$T/c-$name.json"
	bin/bonsai-tokenize encode -q -t "$tok" -o "$T/s-$name" "$T/few.jsonl" &&
		bin/bonsai-shard -q -t "$tok" -o "$T/d-$name" --val-docs 1 "$T/s-$name" &&
		bin/bonsai-train --data "$T/d-$name" --model "$T/c-$name.json" --steps 1 --seq 16 \
			--batch-tokens 32 --device cpu -q -o "$T/r-$name" > /dev/null 2> "$T/err"
	ok $? "$name: a tiny run on its shards" || { diag "$(cat "$T/err")"; continue; }
	E=$T/e-$name
	run bin/bonsai-train export "$T/r-$name" -o "$E"
	[ $rc -eq 0 ] && cmp -s "$tok" "$E/$name.tiktoken" && [ -s "$E/tokenizer.json" ] &&
		grep -q '"tokenizer_class": "PreTrainedTokenizerFast"' "$E/tokenizer_config.json" &&
		grep -q '"eos_token": "<|endoftext|>"' "$E/tokenizer_config.json"
	ok $? "$name: the export keeps the .tiktoken and adds tokenizer.json and tokenizer_config.json" ||
		{ diag "$(cat "$T/err")"; continue; }
	sed -E "s/.*\"$name\":\[([0-9,]*)\].*/\1/; s/,/ /g" "$S/cases.jsonl" > "$T/want"
	bin/bonsai-tokenize encode --ids -t "$tok" "$S/cases.jsonl" > "$T/got-tt" &&
		bin/bonsai-tokenize encode --ids -t "$E/tokenizer.json" "$S/cases.jsonl" > "$T/got-hf" 2> "$T/err"
	# a tokenizer.json's special tokens are found in text (Hugging Face's
	# added tokens), tiktoken's are not: a case holding <|endoftext|> gives
	# the ids of the text on each side of it, that token between
	n=0 n_eot=0
	while IFS= read -r line; do
		n=$((n + 1))
		case $line in
		*'<|endoftext|>'*)
			n_eot=$((n_eot + 1))
			printf '%s\n' "$line" | sed -E 's/^(\{"text":"([^"\\]|\\.)*").*/\1}/; s/<\|endoftext\|>/"}\n{"text":"/g' |
				bin/bonsai-tokenize encode --ids -t "$tok" | awk -v e=$eot '
				{ if (NR > 1) s = s " " e; for (i = 1; i <= NF; i++) s = s " " $i }
				END { sub(/^ /, "", s); print s }' ;;
		*) sed -n "${n}p" "$T/want" ;;
		esac
	done < "$S/cases.jsonl" > "$T/want-hf"
	bad=$(paste -d '|' "$T/got-hf" "$T/want-hf" | awk -F'|' '$1 != $2' | wc -l)
	[ "$(wc -l < "$T/want")" -eq 324 ] && [ "$bad" -eq 0 ] && cmp -s "$T/got-tt" "$T/want" &&
		[ "$n_eot" -gt 0 ] && [ "$(wc -l < "$T/got-hf")" -eq 324 ]
	ok $? "$name: the derived tokenizer.json gives the reference ids of all 324 cases ($bad differ; <|endoftext|> in $n_eot)" ||
		diag "$(cat "$T/err")"
	run bin/bonsai-eval loglik "$T/ll.jsonl" -m "$E" --device cpu -q
	cp "$T/out" "$T/ll-exp"
	bin/bonsai-eval loglik "$T/ll.jsonl" -m "$T/r-$name" -t "$tok" --device cpu -q > "$T/ll-run" 2> /dev/null
	[ $rc -eq 0 ] && [ -s "$T/ll-exp" ] && cmp -s "$T/ll-exp" "$T/ll-run"
	ok $? "$name: eval -m EXPORT alone reads the .tiktoken (the run's log-likelihood)" ||
		diag "$(cat "$T/err")"
done
done_testing
