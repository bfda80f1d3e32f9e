/* pq_json.c - see pq_json.h. */
#include "pq_json.h"
#include "json.h"
#include "utf8.h"
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python's repr style: the fewest significant digits that round-trip, and a
 * ".0" on integral values so that they stay floating-point when read back. */
static int finish_float(char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] == '.' || s[i] == 'e' || s[i] == 'n' || s[i] == 'i')
			return n;
	s[n++] = '.';
	s[n++] = '0';
	s[n] = 0;
	return n;
}

int fmt_double(char *s, double d)
{
	int n = 0;
	/* 15 digits always suffice to show a shorter exact form of a normal
	 * double (it rounds to that form); subnormals have fewer bits. */
	int from = fabs(d) < 2.2250738585072014e-308 ? 1 : 15;
	for (int prec = from; prec <= 17; prec++) {
		n = snprintf(s, 32, "%.*g", prec, d);
		if (prec == 17 || strtod(s, NULL) == d)
			break;
	}
	return finish_float(s, n);
}

static int fmt_i64(char *s, int64_t v)
{
	char tmp[24];
	int n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	int k = 0;
	if (v < 0)
		s[k++] = '-';
	while (n)
		s[k++] = tmp[--n];
	s[k] = 0;
	return k;
}

static int fmt_u64(char *s, uint64_t u)
{
	return snprintf(s, 24, "%llu", (unsigned long long)u);
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int fmt_date(char *s, int64_t days)
{
	int64_t y;
	unsigned m, d;
	civil(days, &y, &m, &d);
	return snprintf(s, 40, "\"%04lld-%02u-%02u\"", (long long)y, m, d);
}

/* Time of day from ticks (unit ticks per second), fraction without
 * trailing zeros. A TIME outside the day (a writer's mistake) is shown as
 * it is: a minus sign, or hours past 23. s has room for 40 bytes. */
static int fmt_clock(char *s, int64_t ticks_in_day, int64_t unit)
{
	int n = 0;
	uint64_t t = (uint64_t)ticks_in_day, u = (uint64_t)unit;
	if (ticks_in_day < 0) {
		s[n++] = '-';
		t = 0 - t;
	}
	uint64_t secs = t / u, frac = t % u;
	n += snprintf(s + n, 40 - (size_t)n, "%02llu:%02llu:%02llu",
		      (unsigned long long)(secs / 3600), (unsigned long long)(secs / 60 % 60),
		      (unsigned long long)(secs % 60));
	if (frac) {
		int digits = unit == 1000 ? 3 : unit == 1000000 ? 6 : 9;
		char f[24];
		snprintf(f, sizeof f, "%0*llu", digits, (unsigned long long)frac);
		int k = digits;
		while (k > 0 && f[k - 1] == '0')
			k--;
		n += snprintf(s + n, 40 - (size_t)n, ".%.*s", k, f);
	}
	return n;
}

static int fmt_timestamp(char *s, int64_t v, int64_t unit)
{
	int64_t per_day = 86400 * unit;
	int64_t days = v / per_day, rem = v % per_day;
	if (rem < 0) {
		rem += per_day;
		days--;
	}
	int n = fmt_date(s, days);
	s[n - 1] = ' ';   /* replace the closing quote */
	n += fmt_clock(s + n, rem, unit);
	s[n++] = '"';
	s[n] = 0;
	return n;
}

/* A DECIMAL from its unscaled integer. */
static int fmt_decimal(char *s, __int128 v, int scale)
{
	char tmp[48];
	int n = 0, neg = v < 0;
	unsigned __int128 u = neg ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
	do {
		tmp[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u || n <= scale);
	int k = 0;
	if (neg)
		s[k++] = '-';
	while (n) {
		if (n == scale)
			s[k++] = '.';
		s[k++] = tmp[--n];
	}
	s[k] = 0;
	return k;
}

static __int128 be_signed(const uint8_t *p, uint32_t n)
{
	unsigned __int128 u = n && (p[0] & 0x80) ? ~(unsigned __int128)0 : 0;
	for (uint32_t i = 0; i < n; i++)
		u = (u << 8) | p[i];
	return (__int128)u;
}

/* Length of the pure-ASCII prefix, eight bytes at a time: most text is
 * mostly ASCII, and the UTF-8 check then only runs on the rest. */
static size_t ascii_prefix(const uint8_t *p, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080ULL)
			break;
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

static void put_string(buf_t *out, const uint8_t *p, uint32_t n)
{
	size_t a = ascii_prefix(p, n);
	if (a == n || utf8_valid((const char *)p + a, n - a)) {
		json_write_string(out, (const char *)p, n);
		return;
	}
	/* JSON text must be UTF-8: ill-formed bytes become U+FFFD, one per
	 * maximal subpart, as bonsai-filter repairs them. */
	buf_t fixed = {0};
	utf8_repair((const char *)p, n, &fixed);
	json_write_string(out, fixed.data ? fixed.data : "", fixed.len);
	buf_free(&fixed);
}

static void put_value(buf_t *out, const pq_column *col, const pq_val *v)
{
	char s[64];
	int n;
	const pq_schema_el *e = col->el;
	int64_t unit = e->time_unit ? e->time_unit : 1000;
	switch (e->type) {
	case PQ_BOOLEAN:
		buf_puts(out, v->i ? "true" : "false");
		return;
	case PQ_INT32:
	case PQ_INT64:
		switch (col->show) {
		case SHOW_UNSIGNED:
			n = fmt_u64(s, e->type == PQ_INT32 ? (uint64_t)(uint32_t)v->i : (uint64_t)v->i);
			break;
		case SHOW_DECIMAL: n = fmt_decimal(s, v->i, e->scale); break;
		case SHOW_DATE: n = fmt_date(s, v->i); break;
		case SHOW_TIME:
			if (e->type == PQ_INT32 && !e->time_unit)
				unit = 1000;
			else if (e->converted == 8 && !e->time_unit)
				unit = 1000000;
			s[0] = '"';
			n = 1 + fmt_clock(s + 1, v->i, unit);
			s[n++] = '"';
			s[n] = 0;
			break;
		case SHOW_TIMESTAMP:
			if (!e->time_unit && e->converted == 10)
				unit = 1000000;
			n = fmt_timestamp(s, v->i, unit);
			break;
		default: n = fmt_i64(s, v->i);
		}
		buf_append(out, s, (size_t)n);
		return;
	case PQ_INT96:
		n = fmt_timestamp(s, v->i, 1000000000);
		buf_append(out, s, (size_t)n);
		return;
	case PQ_FLOAT:
	case PQ_DOUBLE:
		if (!isfinite(v->d)) {
			buf_puts(out, "null");   /* JSON has no NaN or infinities */
			return;
		}
		/* FLOAT widened to double, as pyarrow and DuckDB show it. */
		n = fmt_double(s, v->d);
		buf_append(out, s, (size_t)n);
		return;
	default:   /* BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY */
		if (col->show == SHOW_DECIMAL && v->s.n <= 16) {
			n = fmt_decimal(s, be_signed(v->s.p, v->s.n), e->scale);
			buf_append(out, s, (size_t)n);
			return;
		}
		put_string(out, v->s.p, v->s.n);
	}
}

void pq_json_rows(buf_t *out, const pq_file *f, const pq_colbuf *cols, int64_t from, int64_t to)
{
	/* The keys, escaped once. */
	buf_t keys[f->nsel > 0 ? f->nsel : 1];
	for (int c = 0; c < f->nsel; c++) {
		const char *name = f->meta.cols[f->sel[c]].name;
		memset(&keys[c], 0, sizeof keys[c]);
		buf_putc(&keys[c], c ? ',' : '{');
		json_write_string(&keys[c], name, strlen(name));
		buf_putc(&keys[c], ':');
	}
	for (int64_t r = from; r < to; r++) {
		if (f->nsel == 0)
			buf_putc(out, '{');
		for (int c = 0; c < f->nsel; c++) {
			buf_append(out, keys[c].data, keys[c].len);
			if (cols[c].isnull && cols[c].isnull[r])
				buf_append(out, "null", 4);
			else
				put_value(out, &f->meta.cols[f->sel[c]], &cols[c].vals[r]);
		}
		buf_append(out, "}\n", 2);
	}
	for (int c = 0; c < f->nsel; c++)
		buf_free(&keys[c]);
}
