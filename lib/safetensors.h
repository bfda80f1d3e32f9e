/* safetensors.h - a bounds-checked reader and a writer of the safetensors
 * format (8-byte little-endian header length N, N bytes of JSON header,
 * then the data section), and sharded checkpoints described by a
 * model.safetensors.index.json.
 *
 * Files are untrusted input: the header length, every dtype, shape and
 * data_offsets pair is checked against the file before a byte of data is
 * touched; overlapping tensors, holes, offsets past the end, sizes that do
 * not match dtype x shape, duplicate names and non-string metadata are all
 * refused with a message. */
#ifndef BONSAI_SAFETENSORS_H
#define BONSAI_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER (100u << 20)  /* as Hugging Face's reader: 100 MB */

typedef enum { ST_F32, ST_F64, ST_BF16, ST_F16, ST_I32, ST_I64, ST_NDTYPES } st_dtype;

typedef struct {
	char *name;
	st_dtype dtype;
	int ndim;
	int64_t shape[ST_MAX_DIMS];
	uint64_t numel;
	uint64_t begin, end;        /* byte offsets within the data section */
} st_tensor;

typedef struct {
	char *path;                 /* for messages */
	const unsigned char *data;  /* the data section */
	uint64_t data_len;
	st_tensor *t;               /* sorted by begin */
	size_t n;
	char **meta_keys, **meta_vals;
	size_t n_meta;
	void *map; size_t map_len;  /* mmap()ed file, or NULL */
	void *owned;                /* copied buffer, or NULL */
} safetensors;

const char *st_dtype_name(st_dtype d);
size_t st_dtype_size(st_dtype d);

/* Parses a whole file held in buf[0..len) (not copied: buf must outlive the
 * result). Returns NULL with a message in err on any problem. */
safetensors *st_parse(const void *buf, size_t len, const char *name, char *err, size_t errlen);
/* Maps and parses a file. Returns NULL with "PATH: what is wrong" in err. */
safetensors *st_open(const char *path, char *err, size_t errlen);
void st_close(safetensors *f);

const st_tensor *st_find(const safetensors *f, const char *name);
/* Metadata value by key, or NULL. */
const char *st_meta(const safetensors *f, const char *key);

/* Converts a tensor of any dtype to float / double (out has numel items). */
void st_to_f32(const safetensors *f, const st_tensor *t, float *out);
void st_to_f64(const safetensors *f, const st_tensor *t, double *out);
/* Checks a tensor's shape; returns 0 or -1 with a message naming both. */
int st_check_shape(const st_tensor *t, int ndim, const int64_t *shape, char *err, size_t errlen);

/* A checkpoint that may be split over several files: a single .safetensors
 * file, a directory holding model.safetensors or
 * model.safetensors.index.json, or the index file itself. */
typedef struct {
	safetensors **files;
	size_t n_files;
} st_set;

st_set *st_set_open(const char *path, char *err, size_t errlen);
/* Finds a tensor by name in any file of the set; NULL when absent. */
const st_tensor *st_set_find(const st_set *s, const char *name, const safetensors **file);
void st_set_close(st_set *s);

/* Writing: tensors are given whole, as float32 (or int32) arrays. */
typedef struct {
	const char *name;
	st_dtype dtype;            /* ST_F32 or ST_I32 */
	int ndim;
	int64_t shape[ST_MAX_DIMS];
	const void *data;
} st_out;

/* Writes a file atomically (temporary file + rename). meta is n_meta
 * key/value string pairs (may be 0). Tensors are laid out in the given
 * order, without padding. 0, or -1 with "PATH: why" in err (an I/O error,
 * no memory); nothing is left behind then. */
int st_write(const char *path, const st_out *t, size_t n, const char *const *meta_keys,
	     const char *const *meta_vals, size_t n_meta, char *err, size_t errlen);
/* XXH64 (seed 0) of the data section st_write() would write for t[0..n):
 * a checksum that can go into the metadata. */
uint64_t st_data_hash(const st_out *t, size_t n);
/* The XXH64 of a parsed file's data section. */
uint64_t st_file_data_hash(const safetensors *f);
/* The same, to a memory buffer (malloc()ed, *len bytes); NULL with the
 * message in err when out of memory. */
unsigned char *st_write_mem(const st_out *t, size_t n,
			    const char *const *meta_keys, const char *const *meta_vals,
			    size_t n_meta, size_t *len, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
