/* zipread.c - see zipread.h. Layout: APPNOTE.TXT (PKWARE), sections 4.3.7
 * (local file header), 4.3.12 (central directory header) and 4.3.16 (end
 * of central directory record). */
#include "zipread.h"
#include "cli.h"
#include "le.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_ZIP64_LOCATOR 0x07064b50u
#define EOCD_SIZE 22
#define MAX_COMMENT 65535
#define MAX_CD ((uint64_t)64 << 20)
#define CHUNK ((size_t)256 << 10)

void zip_dir_free(zip_dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->e[i].name);
	free(d->e);
	d->e = NULL;
	d->n = 0;
}

int zip_read_dir(pq_source *src, zip_dir *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	if (src->size < EOCD_SIZE)
		return errf(err, errlen, "not a zip archive (%llu bytes)", (unsigned long long)src->size);
	/* The end record is the last thing in the file, after a comment of up
	 * to 64 KiB: search back for the signature whose comment length fits. */
	uint64_t tail = src->size < EOCD_SIZE + MAX_COMMENT ? src->size : EOCD_SIZE + MAX_COMMENT;
	buf_t scratch = {0};
	const uint8_t *t = src->get(src, src->size - tail, (size_t)tail, &scratch);
	int64_t at = -1;
	for (int64_t i = (int64_t)tail - EOCD_SIZE; i >= 0; i--)
		if (le_get32(t + i) == SIG_EOCD && (uint64_t)i + EOCD_SIZE + le_get16(t + i + 20) == tail) {
			at = i;
			break;
		}
	if (at < 0) {
		buf_free(&scratch);
		return errf(err, errlen, "not a zip archive, or a truncated one (no end of central directory record)");
	}
	const uint8_t *e = t + at;
	uint64_t eocd_pos = src->size - tail + (uint64_t)at;
	uint16_t disk = le_get16(e + 4), cd_disk = le_get16(e + 6), n_here = le_get16(e + 8), n = le_get16(e + 10);
	uint32_t cd_size = le_get32(e + 12), cd_off = le_get32(e + 16);
	int zip64 = n == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu ||
		(at >= 20 && le_get32(e - 20) == SIG_ZIP64_LOCATOR);
	buf_free(&scratch);
	if (zip64)
		return errf(err, errlen, "zip64 archives are not supported");
	if (disk != 0 || cd_disk != 0 || n_here != n)
		return errf(err, errlen, "multi-disk archives are not supported");
	if ((uint64_t)cd_off + cd_size > eocd_pos)
		return errf(err, errlen, "central directory (%u bytes at %u) runs past its end record at %llu",
			cd_size, cd_off, (unsigned long long)eocd_pos);
	if (cd_size > MAX_CD)
		return errf(err, errlen, "central directory of %u bytes is too large", cd_size);
	d->cd_off = cd_off;
	const uint8_t *cd = src->get(src, cd_off, cd_size, &scratch);
	d->e = xcalloc(n ? n : 1, sizeof *d->e);
	size_t pos = 0;
	for (; d->n < n; d->n++) {
		if (cd_size - pos < 46 || le_get32(cd + pos) != SIG_CENTRAL) {
			buf_free(&scratch);
			errf(err, errlen, "central directory entry %zu is malformed", d->n + 1);
			zip_dir_free(d);
			return -1;
		}
		const uint8_t *h = cd + pos;
		size_t nl = le_get16(h + 28), xl = le_get16(h + 30), cl = le_get16(h + 32);
		if (cd_size - pos - 46 < nl + xl + cl) {
			buf_free(&scratch);
			errf(err, errlen, "central directory entry %zu runs past the directory", d->n + 1);
			zip_dir_free(d);
			return -1;
		}
		zip_entry *z = &d->e[d->n];
		z->flags = le_get16(h + 8);
		z->method = le_get16(h + 10);
		z->crc = le_get32(h + 16);
		z->csize = le_get32(h + 20);
		z->usize = le_get32(h + 24);
		z->local_off = le_get32(h + 42);
		z->name = xmalloc(nl + 1);
		memcpy(z->name, h + 46, nl);
		z->name[nl] = 0;
		pos += 46 + nl + xl + cl;
	}
	buf_free(&scratch);
	return 0;
}

const zip_entry *zip_find(const zip_dir *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->e[i].name, name) == 0)
			return &d->e[i];
	return NULL;
}

int zip_extract(pq_source *src, const zip_dir *d, const zip_entry *e, uint64_t max_size,
	buf_t *out, void (*progress)(uint64_t done, uint64_t total, void *arg), void *arg,
	char *err, size_t errlen)
{
	const char *nm = e->name;
	if (e->flags & 1)
		return errf(err, errlen, "%s: encrypted members are not supported", nm);
	if (e->method != 0 && e->method != 8)
		return errf(err, errlen, "%s: compression method %u is not supported (only stored and deflate)",
			nm, e->method);
	if (e->usize > max_size)
		return errf(err, errlen, "%s: %llu bytes, more than the %llu expected at most", nm,
			(unsigned long long)e->usize, (unsigned long long)max_size);
	if (e->method == 0 && e->csize != e->usize)
		return errf(err, errlen, "%s: stored member with %llu bytes compressed but %llu uncompressed",
			nm, (unsigned long long)e->csize, (unsigned long long)e->usize);
	/* The member's data lies between its local header and the central
	 * directory; the local header's own name and extra lengths may differ
	 * from the central ones, and its sizes may be zero (data descriptor). */
	if (e->local_off > d->cd_off || d->cd_off - e->local_off < 30)
		return errf(err, errlen, "%s: local header offset %llu is outside the archive", nm,
			(unsigned long long)e->local_off);
	buf_t scratch = {0};
	const uint8_t *h = src->get(src, e->local_off, 30, &scratch);
	if (le_get32(h) != SIG_LOCAL) {
		buf_free(&scratch);
		return errf(err, errlen, "%s: no local file header at offset %llu", nm,
			(unsigned long long)e->local_off);
	}
	size_t nl = le_get16(h + 26), xl = le_get16(h + 28);
	uint64_t data = e->local_off + 30 + nl + xl;
	if (data > d->cd_off || d->cd_off - data < e->csize) {
		buf_free(&scratch);
		return errf(err, errlen, "%s: %llu compressed bytes at offset %llu run into the central directory",
			nm, (unsigned long long)e->csize, (unsigned long long)data);
	}
	const uint8_t *ln = src->get(src, e->local_off + 30, nl, &scratch);
	if (nl != strlen(nm) || memcmp(ln, nm, nl) != 0) {
		buf_free(&scratch);
		return errf(err, errlen, "%s: the local header names another file", nm);
	}
	size_t out0 = out->len;
	buf_reserve(out, (size_t)e->usize + 1);
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (e->method == 8 && inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
		buf_free(&scratch);
		return errf(err, errlen, "zlib: inflateInit2 failed");
	}
	int rc = 0, ended = e->method == 0;
	for (uint64_t done = 0; done < e->csize && rc == 0;) {
		size_t k = e->csize - done < CHUNK ? (size_t)(e->csize - done) : CHUNK;
		const uint8_t *p = src->get(src, data + done, k, &scratch);
		done += k;
		if (e->method == 0) {
			buf_append(out, p, k);
		} else {
			zs.next_in = (Bytef *)p;
			zs.avail_in = (uInt)k;
			while (zs.avail_in > 0 && !ended) {
				size_t room = (size_t)e->usize - (out->len - out0);
				/* One byte more than the member should have, to see an overrun. */
				zs.next_out = (Bytef *)out->data + out->len;
				zs.avail_out = (uInt)(room + 1 < (1u << 30) ? room + 1 : (1u << 30));
				int z = inflate(&zs, Z_NO_FLUSH);
				out->len = (size_t)((char *)zs.next_out - out->data);
				if (out->len - out0 > e->usize) {
					rc = errf(err, errlen, "%s: inflates to more than the %llu bytes listed", nm,
						(unsigned long long)e->usize);
					break;
				}
				if (z == Z_STREAM_END)
					ended = 1;
				else if (z != Z_OK) {
					rc = errf(err, errlen, "%s: corrupt deflate data (%s)", nm,
						zs.msg ? zs.msg : "zlib error");
					break;
				} else if (zs.avail_in > 0 && zs.avail_out > 0) {
					rc = errf(err, errlen, "%s: corrupt deflate data", nm);
					break;
				}
			}
			if (rc == 0 && ended && (zs.avail_in > 0 || done < e->csize))
				rc = errf(err, errlen, "%s: deflate data ends before the %llu compressed bytes listed",
					nm, (unsigned long long)e->csize);
		}
		if (progress)
			progress(done, e->csize, arg);
	}
	if (e->method == 8)
		inflateEnd(&zs);
	buf_free(&scratch);
	if (rc < 0)
		return rc;
	if (!ended)
		return errf(err, errlen, "%s: deflate data is cut short", nm);
	if (out->len - out0 != e->usize)
		return errf(err, errlen, "%s: %zu bytes, the central directory lists %llu", nm,
			out->len - out0, (unsigned long long)e->usize);
	uLong crc = crc32(0L, Z_NULL, 0);
	for (size_t off = out0; off < out->len;) {
		uInt k = out->len - off > (1u << 30) ? (1u << 30) : (uInt)(out->len - off);
		crc = crc32(crc, (const Bytef *)out->data + off, k);
		off += k;
	}
	if ((uint32_t)crc != e->crc)
		return errf(err, errlen, "%s: CRC-32 %08x, the central directory lists %08x", nm,
			(unsigned)crc, (unsigned)e->crc);
	return 0;
}
