/* test_eval_prompt.c - the prompts of bonsai-eval's tasks, as
 * lm-evaluation-harness builds them (expected strings computed with
 * Python's own str and re on the same inputs). */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "json.h"
#include "../../eval/loglik.h"
#include "evaltasks.h"
#include "evaltext.h"

static json_doc *parse(const char *s)
{
	char err[200];
	json_doc *d = json_parse(s, strlen(s), err, sizeof err);
	if (!d) {
		printf("# bad test JSON: %s\n", err);
		exit(1);
	}
	return d;
}

static void check_pre(const char *in, const char *want)
{
	static int k;
	char *got = hellaswag_preprocess(in);
	is_str(got, want, "preprocess, case %d", ++k);
	free(got);
}

static void check_cap(const char *in, const char *want)
{
	char *got = py_capitalize(in);
	is_str(got, want, "capitalize(%s)", in);
	free(got);
}

/* A fake tokenizer: one token per byte, except "ab" which is one token
 * (so that encode(context) need not be a prefix of encode(whole)). */
static size_t fake_encode(void *ctx, const char *text, size_t len, uint32_t **ids, size_t *n,
			  size_t *cap)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++) {
		if (*n + 1 > *cap) {
			*cap = *cap ? 2 * *cap : 16;
			*ids = realloc(*ids, *cap * sizeof **ids);
		}
		if (i + 1 < len && text[i] == 'a' && text[i + 1] == 'b') {
			(*ids)[(*n)++] = 1000;
			i++;
		} else {
			(*ids)[(*n)++] = (unsigned char)text[i];
		}
	}
	return *n;
}

int main(void)
{
	/* HellaSwag's preprocess on the bracket cases */
	check_pre("  Hello [title] world  ", "Hello. world");
	check_pre("[header] How to x [title] Do y. [step] Stuff", " How to x. Do y. Stuff");
	check_pre("a [[x]] b", "a ] b");
	check_pre("a [b", "a [b");
	check_pre("a [b\nc] d", "a [b\nc] d");
	check_pre("a    b", "a  b");
	check_pre("[title] x", " x");
	check_pre("x [title]", "x. ");
	check_pre("Tail [substeps] ", "Tail ");
	check_pre("A [b] [c]  [d] e", "A   e");
	check_pre("\xc2\xa0 x [a]\xe3\x80\x80", "x ");
	check_pre("[title][title] t", " t");
	check_pre("a  [x]  b", "a  b");
	check_pre("abc [title]def", "abc. def");

	/* str.capitalize(): title-case first, lower-case the rest */
	check_cap("the lady", "The lady");
	check_cap("HE said", "He said");
	check_cap("", "");
	check_cap("\xc3\xa9" "COLE", "\xc3\x89" "cole");
	check_cap("\xc7\x86" "emal", "\xc7\x85" "emal");
	check_cap("1abc DEF", "1abc def");
	is_int(py_len("h\xc3\xa9llo", 6), 5, "len counts code points");
	is_int(py_rstrip_len("ab \xc2\xa0\n", 6), 2, "rstrip removes Unicode spaces");

	char err[256];
	eval_item it;
	json_doc *d;

	/* PIQA */
	d = parse("{\"goal\": \"Open a jar\", \"sol1\": \"twist\", \"sol2\": \"pull \"}");
	ok(piqa_item(json_root(d), "1", &it, err, sizeof err) == 0, "piqa item");
	is_str(it.context, "Question: Open a jar\nAnswer:", "piqa context");
	is_str(it.stem, "Open a jar", "piqa stem: the goal, without the template");
	is_int(it.n_choices, 2, "piqa: 2 choices");
	is_str(it.choices[1], "pull ", "piqa: choices as given, trailing space kept");
	is_int(it.gold, 1, "piqa gold from the label");
	eval_item_free(&it);
	ok(piqa_item(json_root(d), "2", &it, err, sizeof err) < 0, "piqa: label 2 refused");
	eval_item_free(&it);
	json_free(d);

	/* ARC, original layout with numeric labels */
	d = parse("{\"id\": \"q1\", \"question\": {\"stem\": \"Which?\", \"choices\": ["
		  "{\"text\": \"one\", \"label\": \"1\"}, {\"text\": \"two\", \"label\": \"2\"},"
		  "{\"text\": \"three\", \"label\": \"3\"}]}, \"answerKey\": \"3\"}");
	ok(arc_item(json_root(d), &it, err, sizeof err) == 0, "arc item (ARC JSONL)");
	is_str(it.context, "Question: Which?\nAnswer:", "arc context");
	is_str(it.stem, "Which?", "arc stem: the question");
	is_int(it.n_choices, 3, "arc: 3 choices");
	is_str(it.choices[2], "three", "arc choice text");
	is_int(it.gold, 2, "arc: answerKey \"3\" is the third label");
	is_str(it.id, "q1", "arc id");
	eval_item_free(&it);
	json_free(d);

	/* ARC, Hugging Face layout */
	d = parse("{\"id\": \"q2\", \"question\": \"Why?\", \"choices\": {\"text\": [\"a\", \"b\","
		  "\"c\", \"d\", \"e\"], \"label\": [\"A\", \"B\", \"C\", \"D\", \"E\"]}, "
		  "\"answerKey\": \"E\"}");
	ok(arc_item(json_root(d), &it, err, sizeof err) == 0, "arc item (Hugging Face)");
	is_str(it.context, "Question: Why?\nAnswer:", "arc HF context");
	is_str(it.stem, "Why?", "arc HF stem");
	is_int(it.n_choices, 5, "arc HF: 5 choices");
	is_int(it.gold, 4, "arc HF: answerKey E");
	eval_item_free(&it);
	json_free(d);
	d = parse("{\"question\": \"Why?\", \"choices\": {\"text\": [\"a\", \"b\"], "
		  "\"label\": [\"A\", \"B\"]}, \"answerKey\": \"1\"}");
	ok(arc_item(json_root(d), &it, err, sizeof err) < 0 && strstr(err, "answerKey"),
	   "arc: an answerKey not among the labels is an error");
	eval_item_free(&it);
	json_free(d);

	/* HellaSwag, official record */
	d = parse("{\"ind\": 24, \"activity_label\": \"Roof shingle removal\", \"ctx_a\": "
		  "\"A man is sitting on a roof.\", \"ctx_b\": \"he\", \"endings\": ["
		  "\"is using wrap [title] to wrap skis.\", \"is ripping level tiles off.\", "
		  "\"is holding a  cube.\", \" starts pulling up roofing on a roof. \"], "
		  "\"label\": 3}");
	ok(hellaswag_item(json_root(d), &it, err, sizeof err) == 0, "hellaswag item");
	is_str(it.context, "Roof shingle removal: A man is sitting on a roof. He",
	       "hellaswag context: label, ctx_a, ctx_b capitalised");
	is_str(it.stem, "A man is sitting on a roof. He", "hellaswag stem: the context without its label");
	is_str(it.choices[0], "is using wrap. to wrap skis.", "hellaswag ending preprocessed");
	is_str(it.choices[2], "is holding a cube.", "hellaswag ending: double space");
	is_str(it.choices[3], "starts pulling up roofing on a roof.", "hellaswag ending stripped");
	is_int(it.gold, 3, "hellaswag gold");
	eval_item_free(&it);
	json_free(d);
	d = parse("{\"activity_label\": \"Cooking\", \"ctx_a\": \"She cooks [step] pasta.\", "
		  "\"ctx_b\": \"\", \"endings\": [\"a\", \"b\", \"c\", \"d\"], \"label\": \"0\"}");
	ok(hellaswag_item(json_root(d), &it, err, sizeof err) == 0, "hellaswag item, empty ctx_b");
	is_str(it.context, "Cooking: She cooks pasta.", "hellaswag: empty ctx_b, tags removed");
	is_int(it.gold, 0, "hellaswag label as a string");
	eval_item_free(&it);
	json_free(d);
	d = parse("{\"activity_label\": \"X\", \"ctx_a\": \"a\", \"ctx_b\": \"THE Man\", "
		  "\"endings\": [\"a\", \"b\", \"c\", \"d\"], \"label\": 4}");
	ok(hellaswag_item(json_root(d), &it, err, sizeof err) < 0, "hellaswag: label 4 refused");
	eval_item_free(&it);
	json_free(d);

	/* HellaSwag's 6-line text form */
	char *lines[6] = {"Clean and jerk: A lady walks to a barbell. the lady", "3",
			  "swings.", "pulls [title] it.", "pulls a rope.", "stands and lifts."};
	ok(hellaswag_text_item(lines, &it, err, sizeof err) == 0, "hellaswag text item");
	is_str(it.context, "Clean and jerk: A lady walks to a barbell. the lady",
	       "text form: no ctx_b to capitalise");
	is_str(it.stem, "A lady walks to a barbell. the lady", "text form stem: after the label");
	is_str(it.choices[1], "pulls. it.", "text form endings preprocessed");
	is_int(it.gold, 3, "text form gold");
	eval_item_free(&it);

	/* ready-made items */
	d = parse("{\"context\": \"Q\", \"choices\": [\"x\", \"y\"], \"gold\": 1, \"task\": \"t\"}");
	ok(generic_item(json_root(d), &it, err, sizeof err) == 0, "generic item");
	is_str(it.context, "Q", "generic context verbatim");
	is_str(it.stem, "Q", "generic stem: the context");
	is_int(it.gold, 1, "generic gold");
	eval_item_free(&it);
	json_free(d);

	/* lm-eval's context/continuation split */
	loglik_request r;
	loglik_encode_pair(fake_encode, NULL, 7, "Answer: ", " yes", &r);
	is_int(r.ctx_len, 7, "trailing space leaves the context: \"Answer:\"");
	is_int(r.cont_len, 5, "...and joins the continuation: \"  yes\"");
	is_int(r.n_tokens, 13, "BOS + context + continuation");
	is_int(r.tokens[0], 7, "BOS first");
	is_int(r.tokens[8], ' ', "continuation starts with the moved space");
	loglik_request_free(&r);
	loglik_encode_pair(fake_encode, NULL, -1, "xa", "b", &r);
	is_int(r.ctx_len, 2, "encode(\"xa\") is 2 tokens");
	is_int(r.cont_len, 0, "whole[len(context_ids):] of encode(\"xab\") is empty, as lm-eval slices");
	is_int(r.tokens[0], 'x', "no BOS when there is none");
	loglik_request_free(&r);
	loglik_encode_pair(fake_encode, NULL, 7, "x", " ab", &r);
	is_int(r.cont_len, 2, "\" ab\" is 2 tokens");
	is_int(r.tokens[3], 1000, "the merged token is in the continuation");
	loglik_request_free(&r);
	return done_testing();
}
