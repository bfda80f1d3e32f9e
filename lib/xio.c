/* xio.c - see xio.h. */
#define _POSIX_C_SOURCE 200809L
#include "xio.h"
#include "buf.h"
#include "cli.h"
#include "decompress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void outfile_cleanup(void *arg)
{
	outfile *o = arg;
	if (o->tmp)
		unlink(o->tmp);
}

static void outfile_free(outfile *o)
{
	free(o->path);
	free(o->tmp);
	free(o);
}

outfile *outfile_open_err(const char *path, char *err, size_t errlen)
{
	/* -o "$OUT" with OUT unset: the temporary file would be made in the
	 * current folder and only the final rename, after all the work, fail */
	if (path && !*path) {
		errf(err, errlen, "\"\": an empty output file name (give a file, or - for standard output)");
		return NULL;
	}
	outfile *o = calloc(1, sizeof *o);
	if (!o || !(o->path = strdup(path && strcmp(path, "-") != 0 ? path : "stdout"))) {
		free(o);
		errf(err, errlen, "%s: out of memory", path ? path : "stdout");
		return NULL;
	}
	if (!path || strcmp(path, "-") == 0) {
		o->fp = stdout;
		return o;
	}
	/* A device, FIFO or socket (-o /dev/null, a named pipe) is written in
	 * place: renaming a temporary file over it would replace it. */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			errf(err, errlen, "%s: is a directory", path);
			goto fail;
		}
		o->fp = fopen(path, "wb");
		if (!o->fp) {
			errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
			goto fail;
		}
		o->in_place = 1;
		return o;
	}
	size_t n = strlen(path) + 32;
	if (!(o->tmp = malloc(n))) {
		errf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(o->tmp);
	if (fd < 0) {
		errf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		goto fail;
	}
	/* mkstemp makes 0600; a finished output should look like any other file. */
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0 || !(o->fp = fdopen(fd, "wb"))) {
		errf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		close(fd);
		unlink(o->tmp);
		goto fail;
	}
	/* large writes: shards and checkpoints are hundreds of MB */
	setvbuf(o->fp, NULL, _IOFBF, 1 << 20);
	if (cli_atdie_err(outfile_cleanup, o)) {
		errf(err, errlen, "%s: too many outputs open at once", path);
		fclose(o->fp);
		unlink(o->tmp);
		goto fail;
	}
	return o;
fail:
	outfile_free(o);
	return NULL;
}

outfile *outfile_open(const char *path)
{
	char err[512];
	outfile *o = outfile_open_err(path, err, sizeof err);
	if (!o)
		die("%s", err);
	return o;
}

void output_check(const char *path, int force)
{
	struct stat st;
	if (force || !path || strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	die("%s: already exists; use -f/--force to replace it", path);
}

/* The folder of path, resolved (NULL when it cannot be: then the names
 * themselves are compared). */
static char *real_folder(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return realpath(".", NULL);
	if (slash == path)
		return realpath("/", NULL);
	char *dir = strndup(path, (size_t)(slash - path));
	char *real = dir ? realpath(dir, NULL) : NULL;
	free(dir);
	return real;
}

/* Whether two outputs are one file: the same existing regular file (links
 * included), or two names of one file not there yet. */
static int same_output(const char *a, const char *b)
{
	struct stat sa, sb;
	int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
	if (ea || eb)
		return ea && eb && S_ISREG(sa.st_mode) && sa.st_dev == sb.st_dev &&
			sa.st_ino == sb.st_ino;
	const char *na = strrchr(a, '/'), *nb = strrchr(b, '/');
	na = na ? na + 1 : a;
	nb = nb ? nb + 1 : b;
	char *da = real_folder(a), *db = real_folder(b);
	int same = da && db ? strcmp(da, db) == 0 && strcmp(na, nb) == 0 : strcmp(a, b) == 0;
	free(da);
	free(db);
	return same;
}

void outputs_distinct(const char *opt_a, const char *a, const char *opt_b, const char *b)
{
	if (!a || !b || strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
		return;
	if (same_output(a, b))
		die_usage("%s and %s name the same file, %s: one would replace the other", opt_a,
			  opt_b, b);
}

int outfile_write_err(outfile *o, const void *p, size_t n, char *err, size_t errlen)
{
	if (fwrite_err(p, n, o->fp, o->path, err, errlen))
		return -1;
	o->bytes += n;
	return 0;
}

void outfile_write(outfile *o, const void *p, size_t n)
{
	char err[600];
	if (outfile_write_err(o, p, n, err, sizeof err))
		die("%s", err);
}

/* Finishes the file; on an error its message is in err, and the output,
 * if it was a temporary file, is still there for outfile_abort(). */
static int outfile_finish(outfile *o, char *err, size_t errlen)
{
	if (fflush_err(o->fp, o->path, err, errlen))
		return -1;
	if (!o->tmp) {
		if (o->in_place) {
			FILE *fp = o->fp;
			o->fp = NULL;
			if (fclose(fp) != 0)
				return errf(err, errlen, "%s: %s", o->path, strerror(errno));
		}
		return 0;
	}
	if (fsync(fileno(o->fp)) != 0 && errno != EINVAL)
		return errf(err, errlen, "%s: %s", o->path, strerror(errno));
	FILE *fp = o->fp;
	o->fp = NULL;
	if (fclose(fp) != 0)
		return errf(err, errlen, "%s: %s", o->path, strerror(errno));
	if (rename(o->tmp, o->path) != 0)
		return errf(err, errlen, "%s: cannot rename into place: %s", o->path, strerror(errno));
	cli_atdie_remove(outfile_cleanup, o);
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

int outfile_commit_err(outfile *o, char *err, size_t errlen)
{
	if (outfile_finish(o, err, errlen)) {
		outfile_abort(o);
		return -1;
	}
	outfile_free(o);
	return 0;
}

void outfile_commit(outfile *o)
{
	char err[512];
	if (outfile_commit_err(o, err, sizeof err))
		die("%s", err);
}

void outfile_abort(outfile *o)
{
	if (o->fp && (o->in_place || o->tmp))
		fclose(o->fp);
	if (o->tmp) {
		unlink(o->tmp);
		cli_atdie_remove(outfile_cleanup, o);
	}
	outfile_free(o);
}

int fwrite_err(const void *p, size_t n, FILE *fp, const char *name, char *err, size_t errlen)
{
	if (n && fwrite(p, 1, n, fp) != n)
		return errf(err, errlen, "%s: write failed: %s", name, strerror(errno));
	return 0;
}

int fflush_err(FILE *fp, const char *name, char *err, size_t errlen)
{
	if (fflush(fp) != 0 || ferror(fp))
		return errf(err, errlen, "%s: write failed: %s", name, strerror(errno));
	return 0;
}

void xfwrite(const void *p, size_t n, FILE *fp, const char *name)
{
	char err[600];
	if (fwrite_err(p, n, fp, name, err, sizeof err))
		die("%s", err);
}

void xfflush(FILE *fp, const char *name)
{
	char err[600];
	if (fflush_err(fp, name, err, sizeof err))
		die("%s", err);
}

void xfwrite_stdout(const void *p, size_t n)
{
	xfwrite(p, n, stdout, "stdout");
	xfflush(stdout, "stdout");
}

#define IN_CHUNK (1 << 20)

struct instream {
	char *name;
	int fd;
	decompressor *dc; /* NULL: the input is not compressed */
	/* raw bytes read from fd, not yet decompressed */
	char *raw;
	size_t raw_pos, raw_len;
	int raw_eof;
	uint64_t fd_bytes; /* read from fd so far, for progress lines */
	/* decoded bytes, not yet handed out */
	char *dec;
	size_t dec_pos, dec_len;
	buf_t line;
	long line_no;
	/* errors end the input and are kept here instead of exiting */
	int soft;
	char *error;
};

/* Kept when even a stream's error message cannot be allocated. */
static char no_memory_for_error[] = "out of memory (for an input's error message)";

/* An I/O or decompression error: dies, or in a soft stream ends the input and keeps
 * the first message for instream_error(). */
static void fail(instream *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(instream *in, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!in->soft)
		die("%s: %s", in->name, msg);
	if (!in->error) {
		size_t n = strlen(in->name) + strlen(msg) + 3;
		in->error = malloc(n);
		if (in->error)
			snprintf(in->error, n, "%s: %s", in->name, msg);
		else
			in->error = no_memory_for_error;
	}
	in->raw_eof = 1;
	in->raw_pos = in->raw_len = 0;
	in->dec_pos = in->dec_len = 0;
}

static size_t fd_read(instream *in, char *p, size_t n)
{
	for (;;) {
		/* A regular file's read() never blocks, so never returns EINTR: a
		 * signal that came during the work on the last chunk is seen here. */
		cli_check_interrupt_reading();
		ssize_t r = read(in->fd, p, n);
		if (r >= 0) {
			in->fd_bytes += (uint64_t)r;
			return (size_t)r;
		}
		if (errno != EINTR) {
			fail(in, "read failed: %s", strerror(errno));
			return 0;
		}
		cli_check_interrupt_reading();
	}
}

static void raw_fill(instream *in)
{
	if (in->raw_pos < in->raw_len || in->raw_eof)
		return;
	in->raw_pos = 0;
	in->raw_len = fd_read(in, in->raw, IN_CHUNK);
	if (in->raw_len == 0)
		in->raw_eof = 1;
}

/* The stream's memory, before anything is opened; NULL when out of memory. */
static instream *stream_new(const char *name, int soft)
{
	instream *in = calloc(1, sizeof *in);
	if (!in)
		return NULL;
	in->soft = soft;
	in->fd = -1;
	/* a soft stream's long line reports running out of memory */
	in->line.checked = soft;
	in->name = strdup(name);
	in->raw = malloc(IN_CHUNK);
	in->dec = malloc(IN_CHUNK);
	if (!in->name || !in->raw || !in->dec) {
		instream_close(in);
		return NULL;
	}
	return in;
}

/* An input's file descriptor, or -1 with "PATH: why" in err (a directory
 * opens, and only its first read would fail). */
static int open_input(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return errf(err, errlen, "%s: is a directory", path);
	}
	return fd;
}

/* Opens path for in: 0, or -1 with "PATH: why" in err. */
static int open_fd(instream *in, const char *path, char *err, size_t errlen)
{
	in->fd = open_input(path, err, errlen);
	return in->fd < 0 ? -1 : 0;
}

void inputs_check(char *const *paths, int n)
{
	char err[600];
	struct stat st;
	int std_in = 0;
	for (int i = 0; i < n; i++) {
		if (strcmp(paths[i], "-") == 0) {
			/* read twice, standard input is empty the second time
			 * (bonsai-shard said "stdin: empty input" after sharding
			 * the first) */
			if (std_in++)
				die_usage("- (standard input) is named twice: it can be read once");
			continue;
		}
		/* a FIFO is left alone: opening it would wait for its writer, and
		 * closing it again could end that writer with SIGPIPE */
		if (stat(paths[i], &st) == 0 && S_ISFIFO(st.st_mode))
			continue;
		int fd = open_input(paths[i], err, sizeof err);
		if (fd < 0)
			die("%s", err);
		close(fd);
	}
}

/* A soft stream returns NULL with the message in err; a tool's dies on
 * an error once it is open (fail()), and instream_open() on one before. */
static instream *open_stream(const char *path, int soft, char *err, size_t errlen)
{
	int std_in = !path || strcmp(path, "-") == 0;
	const char *name = std_in ? "stdin" : path;
	instream *in = stream_new(name, soft);
	if (!in) {
		errf(err, errlen, "%s: out of memory (for the input's buffers, %d MB)", name,
		     2 * IN_CHUNK >> 20);
		return NULL;
	}
	if (std_in) {
		in->fd = STDIN_FILENO;
	} else if (open_fd(in, path, err, errlen)) {
		instream_close(in);
		return NULL;
	}
	/* Peek at the first bytes for a compressed form's magic number
	 * without losing them. */
	while (in->raw_len < DECOMPRESS_MAGIC_BYTES && !in->raw_eof) {
		size_t r = fd_read(in, in->raw + in->raw_len, IN_CHUNK - in->raw_len);
		if (r == 0)
			in->raw_eof = 1;
		in->raw_len += r;
	}
	char why[256];
	if (!in->error && decompressor_open(in->raw, in->raw_len, &in->dc, why, sizeof why))
		fail(in, "%s", why);
	if (in->error) {
		errf(err, errlen, "%s", in->error);
		instream_close(in);
		return NULL;
	}
	return in;
}

instream *instream_open(const char *path)
{
	char err[600];
	instream *in = open_stream(path, 0, err, sizeof err);
	if (!in)
		die("%s", err);
	return in;
}

instream *instream_open_err(const char *path, char *err, size_t errlen)
{
	return open_stream(path, 1, err, errlen);
}

const char *instream_error(const instream *in) { return in->error; }

const char *instream_name(const instream *in) { return in->name; }
long instream_line_no(const instream *in) { return in->line_no; }
uint64_t instream_file_bytes(const instream *in) { return in->fd_bytes; }

static void dec_fill(instream *in)
{
	if (in->dec_pos < in->dec_len || in->error)
		return;
	in->dec_pos = in->dec_len = 0;
	if (!in->dc) {
		if (in->raw_pos < in->raw_len) {
			/* hand out what the magic-number peek already read */
			size_t n = in->raw_len - in->raw_pos;
			memcpy(in->dec, in->raw + in->raw_pos, n);
			in->raw_pos = in->raw_len;
			in->dec_len = n;
			return;
		}
		if (!in->raw_eof) {
			in->dec_len = fd_read(in, in->dec, IN_CHUNK);
			if (in->dec_len == 0)
				in->raw_eof = 1;
		}
		return;
	}
	while (in->dec_len == 0) {
		raw_fill(in);
		if (in->raw_pos == in->raw_len) {
			/* an end inside a frame, member or stream: never a short
			 * input that looks complete */
			if (!decompressor_complete(in->dc))
				fail(in, "at byte %llu: %s: the file ends inside a %s (truncated)",
				     (unsigned long long)in->fd_bytes, decompressor_name(in->dc),
				     decompressor_unit(in->dc));
			return;
		}
		size_t raw_before = in->raw_pos;
		char why[256];
		if (decompressor_run(in->dc, in->raw, in->raw_len, &in->raw_pos, in->dec, IN_CHUNK,
				     &in->dec_len, why, sizeof why)) {
			/* the compressed byte where the decoder stopped */
			fail(in, "at byte %llu: %s",
			     (unsigned long long)(in->fd_bytes - (in->raw_len - in->raw_pos)), why);
			return;
		}
		if (in->raw_pos == raw_before && in->dec_len == 0) {
			fail(in, "at byte %llu: %s: the decoder is stuck",
			     (unsigned long long)(in->fd_bytes - (in->raw_len - in->raw_pos)),
			     decompressor_name(in->dc));
			return;
		}
	}
}

size_t instream_read(instream *in, void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		dec_fill(in);
		size_t avail = in->dec_len - in->dec_pos;
		if (avail == 0)
			break;
		size_t k = avail < n - got ? avail : n - got;
		memcpy((char *)p + got, in->dec + in->dec_pos, k);
		in->dec_pos += k;
		got += k;
	}
	return got;
}

int instream_read_exact(instream *in, void *p, size_t n, const char *what)
{
	size_t got = instream_read(in, p, n);
	if (got == 0 && n > 0)
		return 0;
	if (got < n)
		die("%s: truncated: input ends inside %s", in->name, what);
	return 1;
}

/* A soft stream's line or file buffer could not grow: the input ends
 * there, with the reason for instream_error(). */
static void out_of_memory(instream *in, const char *what, size_t size)
{
	fail(in, "out of memory (for %s of %zu bytes)", what, size);
}

int instream_getline(instream *in, char **line, size_t *len)
{
	in->line.len = 0;
	int any = 0;
	for (;;) {
		dec_fill(in);
		if (in->dec_pos == in->dec_len)
			break;
		any = 1;
		char *start = in->dec + in->dec_pos;
		size_t avail = in->dec_len - in->dec_pos;
		char *nl = memchr(start, '\n', avail);
		size_t take = nl ? (size_t)(nl - start) : avail;
		if (buf_append(&in->line, start, take)) {
			out_of_memory(in, "a line", in->line.len + take);
			return 0;
		}
		in->dec_pos += take + (nl != NULL);
		if (nl)
			goto done;
	}
	if (!any)
		return 0;
done:
	in->line_no++;
	*line = (char *)buf_cstr(&in->line);
	if (!*line) {
		out_of_memory(in, "a line", in->line.len + 1);
		return 0;
	}
	*len = in->line.len;
	return 1;
}

void instream_close(instream *in)
{
	if (!in)
		return;
	if (in->fd >= 0 && in->fd != STDIN_FILENO)
		close(in->fd);
	decompressor_free(in->dc);
	free(in->raw);
	free(in->dec);
	buf_free(&in->line);
	free(in->name);
	if (in->error != no_memory_for_error)
		free(in->error);
	free(in);
}

char *read_file_err(const char *path, size_t *len, char *err, size_t errlen)
{
	instream *in = instream_open_err(path, err, errlen);
	if (!in)
		return NULL;
	buf_t b = BUF_CHECKED;
	char tmp[1 << 16];
	size_t n;
	while ((n = instream_read(in, tmp, sizeof tmp)) > 0)
		if (buf_append(&b, tmp, n)) {
			out_of_memory(in, "the file", b.len + n);
			break;
		}
	if (!instream_error(in) && !buf_cstr(&b))
		out_of_memory(in, "the file", b.len + 1);
	if (instream_error(in)) {
		errf(err, errlen, "%s", instream_error(in));
		instream_close(in);
		buf_free(&b);
		return NULL;
	}
	instream_close(in);
	return buf_take(&b, len);
}

char *read_file(const char *path, size_t *len)
{
	char err[600];
	char *text = read_file_err(path, len, err, sizeof err);
	if (!text)
		die("%s", err);
	return text;
}

int write_file_err(const char *path, const void *p, size_t n, char *err, size_t errlen)
{
	outfile *o = outfile_open_err(path, err, errlen);
	if (!o)
		return -1;
	if (outfile_write_err(o, p, n, err, errlen)) {
		outfile_abort(o);
		return -1;
	}
	return outfile_commit_err(o, err, errlen);
}

int mkdirs_above_err(const char *path, char *err, size_t errlen)
{
	char *p = strdup(path);
	if (!p)
		return errf(err, errlen, "%s: out of memory", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			errf(err, errlen, "%s: cannot create directory: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

int mkdir_p_err(const char *path, char *err, size_t errlen)
{
	if (mkdirs_above_err(path, err, errlen))
		return -1;
	if (mkdir(path, 0777) == 0)
		return 0;
	if (errno != EEXIST)
		return errf(err, errlen, "%s: cannot create directory: %s", path, strerror(errno));
	/* what is there must be a folder, else the caller's files fail later
	 * as "PATH/NAME: Not a directory" */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
		return errf(err, errlen, "%s: exists and is not a directory", path);
	return 0;
}

void mkdirs_above(const char *path)
{
	char err[600];
	if (mkdirs_above_err(path, err, sizeof err))
		die("%s", err);
}

void mkdir_p(const char *path)
{
	char err[600];
	if (mkdir_p_err(path, err, sizeof err))
		die("%s", err);
}

int dir_expected_err(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
		return errf(err, errlen, "%s: not a directory (%s)", path, what);
	return 0;
}

void dir_expected(const char *path, const char *what)
{
	char err[600];
	if (dir_expected_err(path, what, err, sizeof err))
		die("%s", err);
}

char *path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	/* "run/" as the user typed it: "run/ckpt", not "run//ckpt" */
	int slash = !(a && dir[a - 1] == '/');
	char *p = malloc(a + b + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + slash, name, b + 1);
	return p;
}

char *xpath_join(const char *dir, const char *name)
{
	char *p = path_join(dir, name);
	if (!p)
		die("out of memory (a path in %s)", dir);
	return p;
}

void remove_dir_files(const char *dir, int (*match)(const char *dir, const char *name),
		      int and_dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			warnx_("%s: cannot list: %s", dir, strerror(errno));
		return;
	}
	/* by name within the open folder: a cleanup handler, often run when
	 * memory ran out, has nothing to allocate */
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (match && !match(dir, e->d_name)))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT)
			warnx_("%s/%s: cannot remove: %s", dir, e->d_name, strerror(errno));
	}
	closedir(d);
	if (and_dir && rmdir(dir) != 0 && errno != ENOENT)
		warnx_("%s: not removed: %s", dir, strerror(errno));
}
