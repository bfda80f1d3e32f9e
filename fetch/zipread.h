/* zipread.h - reads one member out of a zip archive through any byte source
 * (a local file, or HTTP range requests: a few hundred kilobytes out of a
 * large archive without downloading the rest). Stored and deflated members;
 * sizes and CRC-32 are checked against the central directory. Zip64,
 * encrypted and multi-disk archives are refused. The archive is untrusted:
 * every offset and length is bounds-checked. */
#ifndef FETCH_ZIPREAD_H
#define FETCH_ZIPREAD_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "pq_read.h"   /* pq_source: a sized byte source with ranged reads */

typedef struct {
	char *name;
	uint16_t flags, method;
	uint32_t crc;
	uint64_t csize, usize, local_off;
} zip_entry;

typedef struct {
	zip_entry *e;
	size_t n;
	uint64_t cd_off;   /* where the central directory starts: members end before it */
} zip_dir;

/* Reads the central directory. Returns 0, or -1 with a message in err (d
 * then holds nothing to free). */
int zip_read_dir(pq_source *src, zip_dir *d, char *err, size_t errlen);
void zip_dir_free(zip_dir *d);
/* The member called name, or NULL. */
const zip_entry *zip_find(const zip_dir *d, const char *name);

/* Appends the member's uncompressed bytes to out, refusing members larger
 * than max_size; progress (if not NULL) is told the compressed bytes read.
 * Returns 0, or -1 with a message in err (out is then undefined). */
int zip_extract(pq_source *src, const zip_dir *d, const zip_entry *e, uint64_t max_size,
	buf_t *out, void (*progress)(uint64_t done, uint64_t total, void *arg), void *arg,
	char *err, size_t errlen);

#endif
