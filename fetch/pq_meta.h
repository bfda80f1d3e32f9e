/* pq_meta.h - the parquet footer (FileMetaData) and page headers, decoded
 * from Thrift into plain structs, and the file's top-level columns. */
#ifndef FETCH_PQ_META_H
#define FETCH_PQ_META_H

#include <stddef.h>
#include <stdint.h>

/* Physical types, encodings, codecs, page types: the parquet.thrift numbers. */
enum { PQ_BOOLEAN, PQ_INT32, PQ_INT64, PQ_INT96, PQ_FLOAT, PQ_DOUBLE,
	PQ_BYTE_ARRAY, PQ_FIXED_LEN_BYTE_ARRAY };
enum { PQ_REQUIRED, PQ_OPTIONAL, PQ_REPEATED };
enum { ENC_PLAIN = 0, ENC_PLAIN_DICTIONARY = 2, ENC_RLE = 3, ENC_BIT_PACKED = 4,
	ENC_DELTA_BINARY_PACKED = 5, ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
	ENC_DELTA_BYTE_ARRAY = 7, ENC_RLE_DICTIONARY = 8, ENC_BYTE_STREAM_SPLIT = 9 };
enum { CODEC_UNCOMPRESSED = 0, CODEC_SNAPPY = 1, CODEC_GZIP = 2, CODEC_LZO = 3,
	CODEC_BROTLI = 4, CODEC_LZ4 = 5, CODEC_ZSTD = 6, CODEC_LZ4_RAW = 7 };
enum { PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3 };

/* How a value is shown: the logical (or legacy converted) type, reduced to
 * what changes the JSON text. */
enum { SHOW_PLAIN, SHOW_UNSIGNED, SHOW_DECIMAL, SHOW_DATE, SHOW_TIME,
	SHOW_TIMESTAMP };

typedef struct {
	char *name;
	int type;           /* physical type, -1 for a group */
	int type_length;
	int repetition;
	int num_children;
	int converted;      /* ConvertedType, -1 if absent */
	int logical;        /* LogicalType union member id, 0 if absent */
	int scale, precision;
	int time_unit;      /* 1e3, 1e6 or 1e9 ticks per second (TIME/TIMESTAMP) */
	int int_bits, int_signed;
} pq_schema_el;

typedef struct {
	int type, codec;
	int64_t num_values;
	int64_t total_compressed_size;
	int64_t data_page_offset;
	int64_t dictionary_page_offset;  /* -1 when absent */
	int64_t start;                   /* first byte of the chunk */
} pq_chunk;

typedef struct {
	int64_t num_rows;
	pq_chunk *cols;     /* one per leaf column, in schema order */
} pq_rowgroup;

/* A top-level column: a leaf we can read, or a nested one we report. */
typedef struct {
	char *name;
	int leaf;           /* index of its (first) leaf column */
	int nested;         /* group or repeated: not readable */
	const pq_schema_el *el;
	int max_def;        /* 1 for optional, 0 for required */
	int show;           /* SHOW_* */
} pq_column;

typedef struct {
	int64_t num_rows;
	int nschema;
	pq_schema_el *schema;
	int nrg;
	pq_rowgroup *rgs;
	int nleaves;
	int ncols;
	pq_column *cols;
	char *created_by;
} pq_meta;

/* Parses a footer; on error returns -1 with a message in err. */
int pq_meta_parse(const uint8_t *p, size_t n, pq_meta *m, char *err, size_t errlen);
void pq_meta_free(pq_meta *m);

typedef struct {
	int type;
	int32_t uncompressed_size, compressed_size;
	int32_t num_values, num_nulls, num_rows;
	int encoding;
	int def_encoding;
	int32_t def_len, rep_len;   /* v2 level sections */
	int is_compressed;          /* v2 */
	int has_body_header;        /* the type's header struct was present */
} pq_page_header;

/* Parses a page header from p[0..n); returns its length, or 0 with a
 * message in *err. */
size_t pq_page_header_parse(const uint8_t *p, size_t n, pq_page_header *h, const char **err);

const char *pq_codec_name(int codec);
const char *pq_encoding_name(int enc);
const char *pq_type_name(int type);

#endif
