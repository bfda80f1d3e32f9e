/* The JSON parser: values, escapes, errors, and the string writer. */
#include "json.h"
#include "tap.h"

static json_doc *parse(const char *s)
{
	char err[200];
	return json_parse(s, strlen(s), err, sizeof err);
}

static int rejects(const char *s)
{
	char err[200] = "";
	json_doc *d = json_parse(s, strlen(s), err, sizeof err);
	json_free(d);
	return d == NULL && strstr(err, "invalid JSON at byte") != NULL;
}

/* An escape, a closing quote or a control character at every place of a
 * string up to 40 bytes, among plain bytes (ASCII and UTF-8; the parser
 * scans 8 bytes at a time): the string ends or is refused exactly there. */
static void check_string_scan(void)
{
	int bad = 0;
	for (int len = 1; len <= 40 && !bad; len++) {
		for (int at = 0; at < len && !bad; at++) {
			char in[64], want[64];
			for (int i = 0; i < len; i++)
				in[i] = want[i] = (char)((i % 3 == 2) ? 0xc3 : (i % 3 == 1 ? 0xa9 : 'a' + i % 26));
			/* "\n" at at: one byte less decoded */
			char esc[80];
			int n = 0;
			esc[n++] = '"';
			for (int i = 0; i < len; i++) {
				if (i == at) {
					esc[n++] = '\\';
					esc[n++] = 'n';
				} else {
					esc[n++] = in[i];
				}
			}
			esc[n++] = '"';
			want[at] = '\n';
			char err[200];
			json_doc *d = json_parse(esc, (size_t)n, err, sizeof err);
			const json_value *v = d ? json_root(d) : NULL;
			if (!v || v->type != JSON_STRING || v->len != (size_t)len || memcmp(v->str, want, (size_t)len))
				bad = 1;
			json_free(d);
			/* a closing quote at at: what follows it is trailing */
			in[at] = '"';
			char q[80];
			q[0] = '"';
			memcpy(q + 1, in, (size_t)len);
			q[len + 1] = '"';
			d = json_parse(q, (size_t)len + 2, err, sizeof err);
			if (d || !strstr(err, "trailing"))
				bad = 2;
			json_free(d);
			/* a raw control character (the highest, 0x1f) at at: refused */
			in[at] = 0x1f;
			memcpy(q + 1, in, (size_t)len);
			d = json_parse(q, (size_t)len + 2, err, sizeof err);
			if (d || !strstr(err, "control character"))
				bad = 3;
			json_free(d);
		}
	}
	ok(!bad, "strings: an escape, quote or control character found at every place (case %d)", bad);
}

int main(void)
{
	check_string_scan();
	json_doc *d = parse(" {\"text\": \"a\\nb\\u00e9\\ud83d\\ude00\", \"n\": -1.5e2, \"i\": 42,"
			    " \"z\": null, \"t\": true, \"arr\": [1, [2], {}], \"text2\": \"\"} ");
	ok(d != NULL, "parses an object");
	json_value *r = json_root(d);
	is_str(json_get_str(r, "text"), "a\nb\xc3\xa9\xf0\x9f\x98\x80", "escapes and surrogate pairs decode to UTF-8");
	ok(json_get_num(r, "n", 0) == -150.0, "exponent numbers");
	ok(json_get_num(r, "i", 0) == 42.0, "integers");
	ok(json_get(r, "z")->type == JSON_NULL, "null");
	ok(json_get(r, "t")->type == JSON_TRUE, "true");
	json_value *arr = json_get(r, "arr");
	ok(arr->type == JSON_ARRAY && arr->len == 3 && arr->items[1].items[0].number == 2.0, "nested arrays");
	ok(json_get(r, "missing") == NULL, "absent key is NULL");
	ok(json_get(r, "n")->raw_len == 6 && memcmp(json_get(r, "n")->raw, "-1.5e2", 6) == 0,
	   "raw span of a value for pass-through");
	is_str(json_get_str(r, "text2"), "", "empty string");
	json_free(d);

	ok(rejects(""), "empty input rejected");
	ok(rejects("{\"a\": 1,}"), "trailing comma rejected");
	ok(rejects("{\"a\" 1}"), "missing colon rejected");
	ok(rejects("[1, 2"), "unterminated array rejected");
	ok(rejects("\"abc"), "unterminated string rejected");
	ok(rejects("\"a\tb\""), "raw control character in a string rejected");
	ok(rejects("01"), "leading zero rejected");
	ok(rejects("{} x"), "trailing garbage rejected");
	ok(rejects("\"\\x\""), "bad escape rejected");
	char deep[2000];
	memset(deep, '[', sizeof deep - 1);
	deep[sizeof deep - 1] = '\0';
	ok(rejects(deep), "nesting 2000 deep is refused, not a stack overflow");

	buf_t b = {0};
	json_write_string(&b, "q\"b\\\n\x01\xc3\xa9", 8);
	is_str(buf_cstr(&b), "\"q\\\"b\\\\\\n\\u0001\xc3\xa9\"", "json_write_string escapes exactly");
	/* what is written parses back to the same bytes */
	json_doc *d2 = json_parse(b.data, b.len, NULL, 0);
	ok(d2 && json_root(d2)->len == 8 && memcmp(json_root(d2)->str, "q\"b\\\n\x01\xc3\xa9", 8) == 0,
	   "written string parses back identically");
	json_free(d2);
	buf_free(&b);

	ok(utf8_valid("h\xc3\xa9\xf0\x9f\x98\x80", 7), "valid UTF-8 accepted");
	ok(!utf8_valid("\xc3", 1), "truncated sequence rejected");
	ok(!utf8_valid("\xc0\xaf", 2), "overlong rejected");
	ok(!utf8_valid("\xed\xa0\x80", 3), "surrogate rejected");
	ok(!utf8_valid("\xf4\x90\x80\x80", 4), "above U+10FFFF rejected");

	/* json_int: whole numbers within the bounds, the bounds included;
	 * no conversion of what lies outside */
	json_doc *nd = parse("{\"a\": -1, \"b\": 2147483647, \"c\": 2.5, \"d\": 1e300, "
			     "\"e\": -1e300, \"f\": \"3\", \"g\": 9007199254740992, \"h\": 2147483648}");
	const json_value *o = nd ? json_root(nd) : NULL;
	int64_t x = 77;
	ok(o && json_int(json_get(o, "a"), -1, 10, &x) == 0 && x == -1, "json_int: the low bound itself");
	ok(o && json_int(json_get(o, "b"), 0, INT32_MAX, &x) == 0 && x == INT32_MAX,
	   "json_int: the high bound itself");
	x = 77;
	ok(o && json_int(json_get(o, "h"), 0, INT32_MAX, &x) == -1 && x == 77,
	   "json_int: one above the bound refused, *out untouched");
	ok(o && json_int(json_get(o, "a"), 0, 10, &x) == -1, "json_int: one below the bound refused");
	ok(o && json_int(json_get(o, "c"), 0, 10, &x) == -1, "json_int: a fraction refused");
	ok(o && json_int(json_get(o, "d"), INT64_MIN / 2, (int64_t)1 << 53, &x) == -1 &&
		   json_int(json_get(o, "e"), -((int64_t)1 << 53), 0, &x) == -1,
	   "json_int: 1e300 and -1e300 refused");
	ok(o && json_int(json_get(o, "f"), 0, 10, &x) == -1 && json_int(NULL, 0, 10, &x) == -1,
	   "json_int: a string, and no value, refused");
	ok(o && json_int(json_get(o, "g"), 0, (int64_t)1 << 53, &x) == 0 && x == (int64_t)1 << 53,
	   "json_int: 2^53");
	json_free(nd);

	/* a byte order mark opening the text is skipped (RFC 8259 allows it);
	 * anywhere else it is no JSON */
	json_doc *bd = parse("\xEF\xBB\xBF{\"a\": 1}");
	ok(bd && json_get(json_root(bd), "a"), "a byte order mark before the value is skipped");
	json_free(bd);
	ok(rejects("[\xEF\xBB\xBF" "1]") && rejects(" \xEF\xBB\xBF" "1") && rejects("\xEF\xBB\xBF"),
	   "one inside the text, after a space, or alone: refused");
	return done_testing();
}
