/* pq_json.h - rows of decoded columns as JSON Lines: one object per row,
 * keys in the selected order, nulls as null, strings escaped exactly, and
 * numbers written so that they read back to the same value. */
#ifndef FETCH_PQ_JSON_H
#define FETCH_PQ_JSON_H

#include <stdint.h>
#include "buf.h"
#include "pq_read.h"

/* Appends rows [from, to) of the decoded columns to out. */
void pq_json_rows(buf_t *out, const pq_file *f, const pq_colbuf *cols, int64_t from, int64_t to);

/* The shortest decimal text that reads back to the same double (a FLOAT
 * column's values are shown widened to double). */
int fmt_double(char *s, double d);

#endif
