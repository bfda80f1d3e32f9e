/* doc.c - see doc.h. */
#include "doc.h"
#include "dedup.h"
#include "hygiene.h"
#include "cli.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A number rule: 1 pass, 0 fail, -1 field absent or not a number. */
static int num_rule(const json_value *doc, const char *key, double min)
{
	const json_value *v = json_get(doc, key);
	if (!v || v->type != JSON_NUMBER)
		return -1;
	return v->number >= min;
}

static int lang_rule(const options *o, const json_value *doc)
{
	const json_value *v = json_get(doc, "language");
	if (!v || v->type != JSON_STRING)
		return -1;
	for (size_t i = 0; i < o->nlangs; i++)
		if (strlen(o->langs[i]) == v->len && memcmp(o->langs[i], v->str, v->len) == 0)
			return 1;
	return 0;
}

/* The field rules, in order; returns N_DROP when the document passes. */
static drop_reason field_rules(const options *o, const json_value *doc)
{
	static const drop_reason why[4] = {DROP_INT_SCORE, DROP_SCORE, DROP_LANGUAGE_SCORE, DROP_LANG};
	const int on[4] = {o->use_int_score, o->use_score, o->use_language_score, o->nlangs > 0};
	for (int i = 0; i < 4; i++) {
		if (!on[i])
			continue;
		int r = i == 0 ? num_rule(doc, "int_score", o->min_int_score)
		      : i == 1 ? num_rule(doc, "score", o->min_score)
		      : i == 2 ? num_rule(doc, "language_score", o->min_language_score)
		      : lang_rule(o, doc);
		if (r < 0 && !o->keep_missing)
			return DROP_MISSING_FIELD;
		if (r == 0)
			return why[i];
	}
	return N_DROP;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* Drops a buffer that one huge document made huge, so that a batch of
 * results does not keep the memory of its largest line forever. */
static void trim(buf_t *b)
{
	if (b->cap > (64u << 20))
		buf_free(b);
}

/* --decontaminate: 1 when the document is dropped (r->why set); with
 * --decontaminate-cut, *t and *tl become the text without the matches. */
static int decontaminate(const options *o, doc_scratch *w, doc_result *r, const char **t,
	size_t *tl)
{
	size_t k = decontam_scan(o->dc, &w->dc, *t, *tl, o->decontam_cut);
	if (!k)
		return 0;
	if (k > r->items_cap) {
		r->items = xreallocarray(r->items, k, sizeof *r->items);
		r->items_cap = k;
	}
	memcpy(r->items, w->dc.items, k * sizeof *r->items);
	r->n_items = k;
	if (o->decontam_cut && decontam_cut(&w->dc, *t, *tl, &w->cut) > 0) {
		r->cut = 1;
		*t = w->cut.data;
		*tl = w->cut.len;
		return 0;
	}
	r->why = DROP_CONTAMINATED;
	return 1;
}

void doc_examine(const options *o, const minhash *mh, doc_scratch *w,
	const char *line, size_t len, doc_result *r)
{
	r->repaired = r->controls = r->nfc_changed = r->rewritten = r->has_bands = r->cut = 0;
	r->n_items = 0;
	trim(&r->out);
	if (is_blank(line, len)) {
		r->status = DOC_BLANK;
		return;
	}
	json_doc *jd = json_parse(line, len, r->err, sizeof r->err);
	if (!jd) {
		r->status = DOC_BAD;
		return;
	}
	const json_value *doc = json_root(jd);
	const json_value *text = json_get(doc, "text");
	if (doc->type != JSON_OBJECT || !text || text->type != JSON_STRING) {
		r->status = DOC_BAD;
		snprintf(r->err, sizeof r->err, "%s", doc->type != JSON_OBJECT
			? "not a JSON object" : "no string member \"text\"");
		json_free(jd);
		return;
	}
	r->status = DOC_DROP;
	r->why = field_rules(o, doc);
	if (r->why != N_DROP)
		goto out;

	hygiene_info hi = {0, 0, 0, 0};
	int high = hygiene_repair(text->str, text->len, &w->clean, &hi);
	if (hi.invalid && o->drop_invalid) {
		r->why = DROP_INVALID_UTF8;
		goto out;
	}
	const char *t = w->clean.data ? w->clean.data : "";
	size_t tl = w->clean.len;
	if (o->nfc && high && hygiene_nfc(t, tl, &w->nfc)) {
		hi.nfc_changed = 1;
		t = w->nfc.data;
		tl = w->nfc.len;
	}
	if (o->min_chars >= 0 || o->max_chars >= 0) {
		size_t nc = utf8_count(t, tl);
		if (o->min_chars >= 0 && nc < (size_t)o->min_chars) {
			r->why = DROP_TOO_SHORT;
			goto out;
		}
		if (o->max_chars >= 0 && nc > (size_t)o->max_chars) {
			r->why = DROP_TOO_LONG;
			goto out;
		}
	}
	if (o->dc && decontaminate(o, w, r, &t, &tl))
		goto out;
	if (o->dedup)
		r->hash = text_hash(t, tl);
	if (o->near_dedup)
		r->has_bands = minhash_bands(mh, &w->mh, t, tl, r->band);

	r->status = DOC_KEEP;
	r->repaired = hi.invalid > 0;
	r->controls = hi.controls > 0;
	r->nfc_changed = hi.nfc_changed;
	/* json.c reads a lone surrogate escape as U+FFFD: re-encode then too,
	 * so that the output says what every later reader will see. */
	if (hi.invalid || hi.controls || hi.nfc_changed || hi.had_fffd || r->cut) {
		buf_t *b = &r->out;
		size_t pre = (size_t)(text->raw - line);
		b->len = 0;
		buf_append(b, line, pre);
		json_write_string(b, t, tl);
		buf_append(b, text->raw + text->raw_len, len - pre - text->raw_len);
		buf_putc(b, '\n');
		r->rewritten = 1;
	}
out:
	trim(&w->clean);
	trim(&w->nfc);
	trim(&w->cut);
	json_free(jd);
}

void doc_scratch_free(doc_scratch *w)
{
	buf_free(&w->clean);
	buf_free(&w->nfc);
	buf_free(&w->cut);
	dc_scratch_free(&w->dc);
	mh_scratch_free(&w->mh);
}

void doc_result_free(doc_result *r)
{
	buf_free(&r->out);
	free(r->items);
}
