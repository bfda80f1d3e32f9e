/* xio.h - checked I/O: outputs that appear only when complete, and inputs
 * that may be compressed. Every failure names the file and exits, except
 * in the _err functions, for library code that reports errors to its
 * caller. */
#ifndef BONSAI_XIO_H
#define BONSAI_XIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* An output file written under a temporary name in the same directory and
 * renamed over PATH by outfile_commit(); if the program dies first, the
 * temporary file is removed. PATH "-" or NULL means stdout, and an existing
 * PATH that is not a regular file (/dev/null, a FIFO) is written directly:
 * neither can be replaced by a rename. An empty PATH is an error. */
typedef struct outfile {
	char *path;   /* what the user named, for messages */
	char *tmp;    /* temporary name, NULL for stdout and in-place outputs */
	FILE *fp;
	int in_place; /* a device or FIFO, written directly */
	uint64_t bytes;
} outfile;

outfile *outfile_open(const char *path);
void outfile_write(outfile *o, const void *p, size_t n);
/* What -f/--force decides in every tool: without force, an output named
 * on the command line that already exists as a file is refused before any
 * work ("PATH: already exists; use -f/--force to replace it", exit 1).
 * NULL, "-" and what is not a regular file (/dev/null, a FIFO) pass:
 * writing them replaces nothing. */
void output_check(const char *path, int force);
/* Two outputs of one tool (-o and --stats) that name the same file are a
 * usage error: the second written would replace the first, even with
 * --force. NULL and "-" pass. */
void outputs_distinct(const char *opt_a, const char *a, const char *opt_b, const char *b);

/* Flushes, fsyncs and renames into place; frees o. */
void outfile_commit(outfile *o);
/* Removes the temporary file; frees o. */
void outfile_abort(outfile *o);

/* The same for library code, which reports errors to its caller: open
 * returns NULL and write/commit -1 with "PATH: why" in err. After a failed
 * write the caller calls outfile_abort(); a failed commit has already
 * removed the temporary file and freed o. */
outfile *outfile_open_err(const char *path, char *err, size_t errlen);
int outfile_write_err(outfile *o, const void *p, size_t n, char *err, size_t errlen);
int outfile_commit_err(outfile *o, char *err, size_t errlen);

/* fwrite/fflush of fp: 0, or -1 with "NAME: write failed: reason" (ENOSPC,
 * EPIPE, ...); the x forms die with it. */
int fwrite_err(const void *p, size_t n, FILE *fp, const char *name, char *err, size_t errlen);
int fflush_err(FILE *fp, const char *name, char *err, size_t errlen);
void xfwrite(const void *p, size_t n, FILE *fp, const char *name);
void xfflush(FILE *fp, const char *name);
/* Writes to stdout and flushes, so that a reader of a pipe sees it now. */
void xfwrite_stdout(const void *p, size_t n);

/* An input byte stream: a file or stdin ("-"), decompressed on the fly
 * when it starts with the magic number of zstd, gzip or bzip2
 * (decompress.h); an input cut short or corrupt inside the compressed data
 * is an error naming the file and the compressed byte. */
typedef struct instream instream;

instream *instream_open(const char *path);
/* Dies naming the first of paths that instream_open() would refuse
 * (missing, unreadable, a directory; "-" is stdin): a tool that writes as
 * it reads checks its inputs first, so that it fails before its output
 * has begun. "-" named twice is a usage error: the second read would find
 * it empty. */
void inputs_check(char *const *paths, int n);
/* The same, returning NULL with "PATH: why" in err when PATH cannot be
 * opened (or there is no memory for its buffers); a later read or
 * decompression error, or running out of memory for a line, ends the
 * input early and instream_error() then says what happened (NULL while
 * all is well). Nothing such a stream does exits. */
instream *instream_open_err(const char *path, char *err, size_t errlen);
const char *instream_error(const instream *in);
const char *instream_name(const instream *in);
/* Reads up to n bytes; returns the count, 0 at end of input. */
size_t instream_read(instream *in, void *p, size_t n);
/* Reads exactly n bytes; returns 0 at a clean end of input (nothing read),
 * 1 when all n were read, and dies if the input ends part-way. */
int instream_read_exact(instream *in, void *p, size_t n, const char *what);
/* Reads one line of any length (without its '\n'); returns 0 at end of
 * input. *line stays valid until the next call. line_no counts from 1. */
int instream_getline(instream *in, char **line, size_t *len);
long instream_line_no(const instream *in);
/* Bytes read from the file so far (compressed bytes for a compressed input): how
 * far through it the reading is, for progress lines. */
uint64_t instream_file_bytes(const instream *in);
void instream_close(instream *in);

/* Reads a whole file into memory (NUL-terminated); dies on error. */
char *read_file(const char *path, size_t *len);
/* The same, returning NULL with "PATH: why" in err instead. */
char *read_file_err(const char *path, size_t *len, char *err, size_t errlen);

/* Writes n bytes to path atomically (outfile_*_err): 0, or -1 with
 * "PATH: why" in err, and then nothing is left at path or beside it. */
int write_file_err(const char *path, const void *p, size_t n, char *err, size_t errlen);

/* Directories: mkdir_p makes path and every missing folder above it;
 * mkdirs_above only the folders above the file path. Both die naming the
 * folder that cannot be made; the _err forms return -1 with the message. */
void mkdir_p(const char *path);
void mkdirs_above(const char *path);
int mkdir_p_err(const char *path, char *err, size_t errlen);
int mkdirs_above_err(const char *path, char *err, size_t errlen);

/* A folder a tool reads (a shard set, a run): -1 with "PATH: not a
 * directory (WHAT)" in err when PATH is there but is something else, where
 * opening a file inside it would say "PATH/NAME: ... Not a directory". 0
 * otherwise: a missing PATH is left to that open to name. dir_expected
 * dies with the message. */
int dir_expected_err(const char *path, const char *what, char *err, size_t errlen);
void dir_expected(const char *path, const char *what);

/* Removes the files of dir (one level) that match accepts, all when match
 * is NULL, then with and_dir dir itself; what cannot be removed is warned
 * about (a folder made by a tool that fails, cleaned on its way out). */
void remove_dir_files(const char *dir, int (*match)(const char *dir, const char *name),
		      int and_dir);
/* "dir/name", malloc()ed: the one place that joins a path. path_join
 * returns NULL when out of memory, xpath_join (for the tools) dies. */
char *path_join(const char *dir, const char *name);
char *xpath_join(const char *dir, const char *name);

#endif
