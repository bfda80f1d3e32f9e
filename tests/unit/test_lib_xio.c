/* Input streams: plain and zstd, long lines, exact reads; atomic outputs. */
#include "xio.h"
#include "tap.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

static char dir[] = "/tmp/bonsai-xio.XXXXXX";

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	char plain[256], zst[256], out[256];
	snprintf(plain, sizeof plain, "%s/plain.txt", dir);
	snprintf(zst, sizeof zst, "%s/text.zst", dir);
	snprintf(out, sizeof out, "%s/out.txt", dir);

	/* three lines, the middle one 5 MB, the last without a newline */
	size_t big = 5 << 20;
	char *text = malloc(big + 64);
	size_t n = 0;
	n += (size_t)sprintf(text + n, "first\n");
	for (size_t i = 0; i < big; i++)
		text[n++] = (char)('a' + i % 26);
	n += (size_t)sprintf(text + n, "\nlast");
	write_bytes(plain, text, n);
	size_t zcap = ZSTD_compressBound(n);
	char *z = malloc(zcap);
	size_t zn = ZSTD_compress(z, zcap, text, n, 3);
	/* two frames back to back, as `cat a.zst b.zst` makes */
	char *z2 = malloc(2 * zn);
	memcpy(z2, z, zn);
	memcpy(z2 + zn, z, zn);
	write_bytes(zst, z2, 2 * zn);

	for (int k = 0; k < 2; k++) {
		instream *in = instream_open(k ? zst : plain);
		char *line;
		size_t len;
		int lines = 0, good = 1;
		/* the second frame's first line joins the first frame's last */
		const char *want[] = {"first", NULL, k ? "lastfirst" : "last", NULL, "last"};
		while (instream_getline(in, &line, &len)) {
			const char *w = lines < 5 ? want[lines] : "";
			if (w)
				good &= strcmp(line, w) == 0;
			else
				good &= len == big && line[0] == 'a' && line[big - 1] == (char)('a' + (big - 1) % 26);
			lines++;
		}
		ok(good && lines == (k ? 5 : 3), "%s: lines of any length, last line without newline (%d lines)",
		   k ? "zstd, two frames" : "plain", lines);
		ok(instream_line_no(in) == lines, "line numbers count");
		instream_close(in);
	}

	size_t len;
	char *all = read_file(zst, &len);
	ok(len == 2 * n && memcmp(all, text, n) == 0 && memcmp(all + n, text, n) == 0, "read_file decompresses");
	free(all);

	/* a truncated zstd file is an error, tested in a child */
	write_bytes(zst, z, zn / 2);
	pid_t pid = fork();
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		char *p = read_file(zst, &len);
		(void)p;
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 1, "a truncated zstd stream is an error (exit 1)");

	outfile *o = outfile_open(out);
	outfile_write(o, "abc", 3);
	ok(access(out, F_OK) != 0, "an output does not exist under its name before commit");
	outfile_commit(o);
	all = read_file(out, &len);
	ok(len == 3 && memcmp(all, "abc", 3) == 0, "after commit it holds what was written");
	free(all);
	o = outfile_open(out);
	outfile_write(o, "xyz!", 4);
	outfile_abort(o);
	all = read_file(out, &len);
	ok(len == 3, "an aborted rewrite leaves the old file untouched");
	free(all);

	/* A FIFO (like /dev/null, not a regular file) is written in place, not
	 * replaced by a renamed file. */
	char fifo[256], got[256];
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	snprintf(got, sizeof got, "%s/got", dir);
	ok(mkfifo(fifo, 0600) == 0, "mkfifo");
	pid_t reader = fork();
	if (reader == 0) {
		char cmd2[600];
		snprintf(cmd2, sizeof cmd2, "timeout 10 cat %s > %s", fifo, got); /* no hang if never written */
		_exit(system(cmd2) == 0 ? 0 : 1);
	}
	o = outfile_open(fifo);
	outfile_write(o, "via fifo", 8);
	outfile_commit(o);
	waitpid(reader, &status, 0);
	struct stat fs;
	ok(stat(fifo, &fs) == 0 && S_ISFIFO(fs.st_mode), "a FIFO output is still a FIFO after commit");
	all = read_file(got, &len);
	ok(len == 8 && memcmp(all, "via fifo", 8) == 0, "and what was written went through it");
	free(all);

	/* The _err functions return what went wrong, name the file, and leave
	 * nothing half-written behind: a process that dies would not show that. */
	char err[512], missing[300], files[600];
	snprintf(missing, sizeof missing, "%s/no/such/dir/out", dir);
	err[0] = '\0';
	ok(!outfile_open_err(missing, err, sizeof err) && strstr(err, missing) &&
	   strstr(err, "cannot create"), "outfile_open_err: a missing folder is an error naming the file ('%s')", err);
	err[0] = '\0';
	ok(!outfile_open_err("", err, sizeof err) && strstr(err, "empty output file name"),
	   "outfile_open_err: an empty name is an error ('%s')", err);
	err[0] = '\0';
	ok(!outfile_open_err(dir, err, sizeof err) && strstr(err, "is a directory"),
	   "outfile_open_err: a folder is an error ('%s')", err);
	if (access("/dev/full", W_OK) == 0) {
		/* /dev/full takes the write into stdio's buffer; the flush fails */
		o = outfile_open_err("/dev/full", err, sizeof err);
		int w = o ? outfile_write_err(o, "abc", 3, err, sizeof err) : -1;
		err[0] = '\0';
		ok(o && w == 0 && outfile_commit_err(o, err, sizeof err) == -1 && strstr(err, "/dev/full") &&
		   strstr(err, "No space left"), "outfile_commit_err: a full device is an error ('%s')", err);
	} else {
		ok(1, "# SKIP no /dev/full");
	}
	/* a rename that cannot happen: the target became a folder meanwhile */
	char later[300];
	snprintf(later, sizeof later, "%s/later", dir);
	o = outfile_open_err(later, err, sizeof err);
	ok(o && outfile_write_err(o, "abc", 3, err, sizeof err) == 0, "outfile_write_err writes");
	ok(mkdir(later, 0700) == 0, "the output's name taken by a folder");
	err[0] = '\0';
	ok(o && outfile_commit_err(o, err, sizeof err) == -1 && strstr(err, "cannot rename into place"),
	   "outfile_commit_err: a failed rename is an error ('%s')", err);
	snprintf(files, sizeof files, "ls %s | grep -c tmp >/dev/null", dir);
	ok(system(files) != 0, "and its temporary file is gone");
	rmdir(later);

	/* more outputs open at once than there is room to clean up after: an
	 * error from the library, not an exit, and no temporary file left */
	outfile *many[70];
	int opened = 0;
	char name[300];
	err[0] = '\0';
	for (; opened < 70; opened++) {
		snprintf(name, sizeof name, "%s/many%d", dir, opened);
		if (!(many[opened] = outfile_open_err(name, err, sizeof err)))
			break;
	}
	ok(opened == 64 && strstr(err, "too many outputs open at once") && access(name, F_OK) != 0,
	   "the 65th output open at once is an error (%d opened: '%s')", opened, err);
	snprintf(files, sizeof files, "test $(ls %s | grep -c tmp) -eq 64", dir);
	ok(system(files) == 0, "and leaves no temporary file of its own");
	while (opened > 0)
		outfile_abort(many[--opened]);

	/* mkdir_p_err: a folder there is fine, a file there is named */
	char *sub = xpath_join(dir, "made/below");
	ok(mkdir_p_err(sub, err, sizeof err) == 0 && mkdir_p_err(sub, err, sizeof err) == 0,
	   "mkdir_p_err: makes a folder and its parents; one already there is fine");
	char *afile = xpath_join(dir, "plain");
	FILE *pf = fopen(afile, "w");
	ok(pf && fclose(pf) == 0 && mkdir_p_err(afile, err, sizeof err) == -1 && strstr(err, afile) &&
		   strstr(err, "exists and is not a directory"),
	   "mkdir_p_err: a file where the folder goes: -1, named ('%s')", err);
	free(sub);
	free(afile);

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ok(system(cmd) == 0, "cleanup");
	free(text);
	free(z);
	free(z2);
	return done_testing();
}
