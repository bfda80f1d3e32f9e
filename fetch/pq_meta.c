/* pq_meta.c - decodes the parquet footer and page headers (see parquet.thrift
 * for the field numbers used below). */
#include "pq_meta.h"
#include "thrift.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Caps against hostile footers: far above anything real. */
#define MAX_SCHEMA 100000
#define MAX_ROWGROUPS 1000000

static char *dupbin(const uint8_t *p, uint32_t n)
{
	char *s = xmalloc((size_t)n + 1);
	if (n)
		memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static void parse_logical(tc_reader *r, pq_schema_el *e)
{
	int16_t last = 0, id;
	int t;
	tc_struct_begin(r);
	while ((t = tc_field(r, &last, &id)) != TC_STOP) {
		if (t != TC_STRUCT) {
			tc_skip(r, t);
			continue;
		}
		e->logical = id;
		/* TIME (7) and TIMESTAMP (8): {1: isAdjustedToUTC, 2: unit};
		 * DECIMAL (5): {1: scale, 2: precision}; INTEGER (10): {1: bits, 2: signed}. */
		int16_t l2 = 0, id2;
		int t2;
		tc_struct_begin(r);
		while ((t2 = tc_field(r, &l2, &id2)) != TC_STOP) {
			if (id == 5 && id2 == 1) e->scale = (int)tc_int(r, t2);
			else if (id == 5 && id2 == 2) e->precision = (int)tc_int(r, t2);
			else if (id == 10 && id2 == 1) e->int_bits = (int)tc_int(r, t2);
			else if (id == 10 && id2 == 2) e->int_signed = tc_bool(r, t2);
			else if ((id == 7 || id == 8) && id2 == 2 && t2 == TC_STRUCT) {
				/* TimeUnit union: 1 MILLIS, 2 MICROS, 3 NANOS */
				int16_t l3 = 0, id3;
				int t3;
				tc_struct_begin(r);
				while ((t3 = tc_field(r, &l3, &id3)) != TC_STOP) {
					e->time_unit = id3 == 1 ? 1000 : id3 == 2 ? 1000000 : 1000000000;
					tc_skip(r, t3);
				}
				tc_struct_end(r);
			} else
				tc_skip(r, t2);
		}
		tc_struct_end(r);
	}
	tc_struct_end(r);
}

static void parse_schema_el(tc_reader *r, pq_schema_el *e)
{
	int16_t last = 0, id;
	int t;
	memset(e, 0, sizeof *e);
	e->type = -1;
	e->converted = -1;
	e->int_signed = 1;
	tc_struct_begin(r);
	while ((t = tc_field(r, &last, &id)) != TC_STOP) {
		switch (id) {
		case 1: e->type = (int)tc_int(r, t); break;
		case 2: e->type_length = (int)tc_int(r, t); break;
		case 3: e->repetition = (int)tc_int(r, t); break;
		case 4: {
			uint32_t n;
			const uint8_t *s = t == TC_BINARY ? tc_binary(r, &n) : NULL;
			if (!s) { tc_fail(r, "schema name is not a string"); break; }
			free(e->name);
			e->name = dupbin(s, n);
			break;
		}
		case 5: e->num_children = (int)tc_int(r, t); break;
		case 6: e->converted = (int)tc_int(r, t); break;
		case 7: e->scale = (int)tc_int(r, t); break;
		case 8: e->precision = (int)tc_int(r, t); break;
		case 10:
			if (t == TC_STRUCT) parse_logical(r, e);
			else tc_skip(r, t);
			break;
		default: tc_skip(r, t);
		}
	}
	tc_struct_end(r);
	if (!e->name)
		e->name = xstrdup("");
}

static void parse_column_meta(tc_reader *r, pq_chunk *c)
{
	int16_t last = 0, id;
	int t;
	tc_struct_begin(r);
	while ((t = tc_field(r, &last, &id)) != TC_STOP) {
		switch (id) {
		case 1: c->type = (int)tc_int(r, t); break;
		case 4: c->codec = (int)tc_int(r, t); break;
		case 5: c->num_values = tc_int(r, t); break;
		case 7: c->total_compressed_size = tc_int(r, t); break;
		case 9: c->data_page_offset = tc_int(r, t); break;
		case 11: c->dictionary_page_offset = tc_int(r, t); break;
		default: tc_skip(r, t);
		}
	}
	tc_struct_end(r);
}

static void parse_chunk(tc_reader *r, pq_chunk *c)
{
	int16_t last = 0, id;
	int t;
	int have_meta = 0;
	memset(c, 0, sizeof *c);
	c->dictionary_page_offset = -1;
	tc_struct_begin(r);
	while ((t = tc_field(r, &last, &id)) != TC_STOP) {
		if (id == 1 && t == TC_BINARY) {
			uint32_t n;
			tc_binary(r, &n);
			if (n)
				tc_fail(r, "column chunks in other files are not supported");
		} else if (id == 3 && t == TC_STRUCT) {
			parse_column_meta(r, c);
			have_meta = 1;
		} else
			tc_skip(r, t);
	}
	tc_struct_end(r);
	if (!have_meta)
		tc_fail(r, "column chunk without metadata");
	/* Some writers set dictionary_page_offset to 0 when there is none. */
	c->start = c->data_page_offset;
	if (c->dictionary_page_offset > 0 && c->dictionary_page_offset < c->start)
		c->start = c->dictionary_page_offset;
}

static void parse_rowgroup(tc_reader *r, pq_rowgroup *g, int nleaves)
{
	int16_t last = 0, id;
	int t, et;
	int ncols = -1;
	tc_struct_begin(r);
	while ((t = tc_field(r, &last, &id)) != TC_STOP) {
		if (id == 1 && t == TC_LIST && !g->cols) {
			uint32_t n = tc_list(r, &et);
			if (et != TC_STRUCT || (int64_t)n != nleaves) {
				tc_fail(r, "row group column count differs from the schema");
				break;
			}
			g->cols = xcalloc(n ? n : 1, sizeof *g->cols);
			for (uint32_t i = 0; i < n && tc_ok(r); i++)
				parse_chunk(r, &g->cols[i]);
			ncols = (int)n;
		} else if (id == 3)
			g->num_rows = tc_int(r, t);
		else
			tc_skip(r, t);
	}
	tc_struct_end(r);
	if (ncols < 0 && tc_ok(r))
		tc_fail(r, "row group without columns");
}

static int show_of(const pq_schema_el *e)
{
	/* A DECIMAL scale outside what 128 bits can hold is shown unscaled. */
	if ((e->logical == 5 || e->converted == 5) && (e->scale < 0 || e->scale > 38))
		return SHOW_PLAIN;
	switch (e->logical) {
	case 5: return SHOW_DECIMAL;
	case 6: return SHOW_DATE;
	case 7: return SHOW_TIME;
	case 8: return SHOW_TIMESTAMP;
	case 10: return e->int_signed ? SHOW_PLAIN : SHOW_UNSIGNED;
	}
	switch (e->converted) {
	case 5: return SHOW_DECIMAL;
	case 6: return SHOW_DATE;
	case 7: case 8: return SHOW_TIME;
	case 9: case 10: return SHOW_TIMESTAMP;
	case 11: case 12: case 13: case 14: return SHOW_UNSIGNED;
	}
	if (e->type == PQ_INT96)
		return SHOW_TIMESTAMP;
	return SHOW_PLAIN;
}

/* Walks the schema tree from index *i, counting leaves; returns -1 on a
 * malformed tree. */
static int count_leaves(const pq_meta *m, int *i, int depth)
{
	if (*i >= m->nschema || depth > 100)
		return -1;
	const pq_schema_el *e = &m->schema[(*i)++];
	if (e->num_children <= 0)
		return e->type < 0 ? -1 : 1;
	int total = 0;
	for (int c = 0; c < e->num_children; c++) {
		int n = count_leaves(m, i, depth + 1);
		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

int pq_meta_parse(const uint8_t *p, size_t n, pq_meta *m, char *err, size_t errlen)
{
	tc_reader r;
	int16_t last = 0, id;
	int t, et;
	int have_schema = 0, have_rgs = 0;
	memset(m, 0, sizeof *m);
	tc_init(&r, p, n);
	tc_struct_begin(&r);
	while ((t = tc_field(&r, &last, &id)) != TC_STOP) {
		if (id == 2 && t == TC_LIST && !have_schema) {
			uint32_t k = tc_list(&r, &et);
			if (et != TC_STRUCT || k == 0 || k > MAX_SCHEMA) {
				tc_fail(&r, "bad schema list");
				break;
			}
			m->schema = xcalloc(k, sizeof *m->schema);
			m->nschema = (int)k;
			for (uint32_t i = 0; i < k && tc_ok(&r); i++)
				parse_schema_el(&r, &m->schema[i]);
			have_schema = 1;
			/* The row groups need the leaf count, which the schema gives. */
			int i = 0;
			m->nleaves = tc_ok(&r) ? count_leaves(m, &i, 0) : -1;
			if (m->nleaves < 0 || i != m->nschema)
				tc_fail(&r, "malformed schema tree");
		} else if (id == 3)
			m->num_rows = tc_int(&r, t);
		else if (id == 4 && t == TC_LIST && have_schema && !have_rgs) {
			uint32_t k = tc_list(&r, &et);
			if (et != TC_STRUCT || k > MAX_ROWGROUPS) {
				tc_fail(&r, "bad row group list");
				break;
			}
			m->rgs = xcalloc(k ? k : 1, sizeof *m->rgs);
			m->nrg = (int)k;
			for (uint32_t i = 0; i < k && tc_ok(&r); i++)
				parse_rowgroup(&r, &m->rgs[i], m->nleaves);
			have_rgs = 1;
		} else if (id == 6 && t == TC_BINARY) {
			uint32_t k;
			const uint8_t *s = tc_binary(&r, &k);
			if (s && !m->created_by)
				m->created_by = dupbin(s, k);
		} else if (id == 4 && !have_schema) {
			tc_fail(&r, "row groups before the schema");
		} else
			tc_skip(&r, t);
	}
	tc_struct_end(&r);
	if (tc_ok(&r) && (!have_schema || !have_rgs))
		tc_fail(&r, "footer without schema or row groups");
	if (!tc_ok(&r)) {
		snprintf(err, errlen, "bad parquet footer: %s (at byte %zu of %zu)",
			r.err, tc_pos(&r), n);
		pq_meta_free(m);
		return -1;
	}

	/* Top-level columns: the children of the root. */
	const pq_schema_el *root = &m->schema[0];
	m->cols = xcalloc(root->num_children > 0 ? (size_t)root->num_children : 1, sizeof *m->cols);
	int si = 1, leaf = 0;
	for (int c = 0; c < root->num_children; c++) {
		pq_column *col = &m->cols[m->ncols++];
		const pq_schema_el *e = &m->schema[si];
		int nl = count_leaves(m, &si, 1);
		col->name = e->name;
		col->leaf = leaf;
		col->el = e;
		col->nested = e->num_children > 0 || e->repetition == PQ_REPEATED;
		col->max_def = e->repetition == PQ_OPTIONAL;
		col->show = show_of(e);
		leaf += nl;
	}
	/* Every chunk must agree with its leaf's type. */
	for (int g = 0; g < m->nrg; g++)
		for (int c = 0; c < m->ncols; c++) {
			const pq_column *col = &m->cols[c];
			if (!col->nested && m->rgs[g].cols[col->leaf].type != col->el->type) {
				snprintf(err, errlen, "bad parquet footer: column '%s' has type %s in row group %d, %s in the schema",
					col->name, pq_type_name(m->rgs[g].cols[col->leaf].type), g, pq_type_name(col->el->type));
				pq_meta_free(m);
				return -1;
			}
		}
	return 0;
}

void pq_meta_free(pq_meta *m)
{
	for (int i = 0; i < m->nschema; i++)
		free(m->schema[i].name);
	free(m->schema);
	for (int g = 0; g < m->nrg; g++)
		free(m->rgs[g].cols);
	free(m->rgs);
	free(m->cols);
	free(m->created_by);
	memset(m, 0, sizeof *m);
}

size_t pq_page_header_parse(const uint8_t *p, size_t n, pq_page_header *h, const char **err)
{
	tc_reader r;
	int16_t last = 0, id;
	int t;
	memset(h, 0, sizeof *h);
	h->type = -1;
	h->is_compressed = 1;
	tc_init(&r, p, n);
	tc_struct_begin(&r);
	while ((t = tc_field(&r, &last, &id)) != TC_STOP) {
		if (id == 1) h->type = (int)tc_int(&r, t);
		else if (id == 2) h->uncompressed_size = (int32_t)tc_int(&r, t);
		else if (id == 3) h->compressed_size = (int32_t)tc_int(&r, t);
		else if ((id == 5 || id == 7 || id == 8) && t == TC_STRUCT) {
			/* 5 DataPageHeader {1 num_values, 2 encoding, 3 def enc, 4 rep enc}
			 * 7 DictionaryPageHeader {1 num_values, 2 encoding}
			 * 8 DataPageHeaderV2 {1 num_values, 2 num_nulls, 3 num_rows,
			 *   4 encoding, 5 def len, 6 rep len, 7 is_compressed} */
			int16_t l2 = 0, id2;
			int t2;
			h->has_body_header = id;
			tc_struct_begin(&r);
			while ((t2 = tc_field(&r, &l2, &id2)) != TC_STOP) {
				if (id2 == 1 && t2 != TC_STRUCT) h->num_values = (int32_t)tc_int(&r, t2);
				else if (id == 8 && id2 == 2) h->num_nulls = (int32_t)tc_int(&r, t2);
				else if (id == 8 && id2 == 3) h->num_rows = (int32_t)tc_int(&r, t2);
				else if (id == 8 && id2 == 4) h->encoding = (int)tc_int(&r, t2);
				else if (id == 8 && id2 == 5) h->def_len = (int32_t)tc_int(&r, t2);
				else if (id == 8 && id2 == 6) h->rep_len = (int32_t)tc_int(&r, t2);
				else if (id == 8 && id2 == 7) h->is_compressed = tc_bool(&r, t2);
				else if (id != 8 && id2 == 2) h->encoding = (int)tc_int(&r, t2);
				else if (id == 5 && id2 == 3) h->def_encoding = (int)tc_int(&r, t2);
				else tc_skip(&r, t2);
			}
			tc_struct_end(&r);
		} else
			tc_skip(&r, t);
	}
	tc_struct_end(&r);
	if (!tc_ok(&r)) {
		*err = r.err;
		return 0;
	}
	if (h->compressed_size < 0 || h->uncompressed_size < 0 || h->num_values < 0 ||
	    h->def_len < 0 || h->rep_len < 0 || h->num_nulls < 0) {
		*err = "negative size in page header";
		return 0;
	}
	return tc_pos(&r);
}

const char *pq_codec_name(int codec)
{
	static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
		"BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
	return codec >= 0 && codec < 8 ? names[codec] : "unknown codec";
}

const char *pq_encoding_name(int enc)
{
	static const char *names[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY",
		"RLE", "BIT_PACKED", "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY",
		"DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
	return enc >= 0 && enc < 10 ? names[enc] : "unknown encoding";
}

const char *pq_type_name(int type)
{
	static const char *names[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT",
		"DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
	return type >= 0 && type < 8 ? names[type] : type == -1 ? "group" : "unknown type";
}
