/* cli.c - see cli.h. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *progname = "bonsai";

static void run_atdie(void);

/* Set by die(): its message is the one that tells what went wrong. */
static int dying;

/* What is still in stdout's buffer at exit (a --help, the one JSON line
 * of a report) is written only now: when that fails (a full disk,
 * /dev/full, a closed descriptor) the exit status must say so, not 0 for
 * output that never arrived. */
static void check_stdout(void)
{
	if (dying)
		return;
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return;
	fprintf(stderr, "%s: stdout: write failed%s%s\n", progname, errno ? ": " : "",
		errno ? strerror(errno) : "");
	_exit(EXIT_RUNTIME);
}

void cli_init(const char *name)
{
	const char *slash = strrchr(name, '/');
	progname = slash ? slash + 1 : name;
	/* Registered first, so run last: after the cleanup below. */
	atexit(check_stdout);
	/* What a library ends the program with (libgomp's "out of memory",
	 * an exit() that is not ours) removes the half-written outputs too; a
	 * tool that succeeds has no handler left by then. */
	atexit(run_atdie);
}

const char *cli_progname(void) { return progname; }

#define MAX_ATDIE 64
static struct { void (*fn)(void *); void *arg; } atdie[MAX_ATDIE];
static int n_atdie;

int cli_atdie_err(void (*fn)(void *), void *arg)
{
	if (n_atdie == MAX_ATDIE)
		return -1;
	atdie[n_atdie].fn = fn;
	atdie[n_atdie].arg = arg;
	n_atdie++;
	return 0;
}

void cli_atdie(void (*fn)(void *), void *arg)
{
	if (cli_atdie_err(fn, arg))
		die("internal error: too many cleanup handlers");
}

void cli_atdie_remove(void (*fn)(void *), void *arg)
{
	for (int i = n_atdie - 1; i >= 0; i--) {
		if (atdie[i].fn == fn && atdie[i].arg == arg) {
			memmove(&atdie[i], &atdie[i + 1], (size_t)(n_atdie - i - 1) * sizeof atdie[0]);
			n_atdie--;
			return;
		}
	}
}

static void run_atdie(void)
{
	/* A handler that dies itself must not loop back into the list. */
	while (n_atdie > 0) {
		n_atdie--;
		atdie[n_atdie].fn(atdie[n_atdie].arg);
	}
}

static _Noreturn void run_atdie_and_exit(int code)
{
	dying = 1;
	run_atdie();
	exit(code);
}

static void vmessage(const char *file, long line, const char *fmt, va_list ap)
{
	progress_done();
	fprintf(stderr, "%s: ", progname);
	if (file) {
		if (line > 0)
			fprintf(stderr, "%s:%ld: ", file, line);
		else
			fprintf(stderr, "%s: ", file);
	}
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(NULL, 0, fmt, ap);
	va_end(ap);
	run_atdie_and_exit(EXIT_RUNTIME);
}

void die_at(const char *file, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(file, line, fmt, ap);
	va_end(ap);
	run_atdie_and_exit(EXIT_RUNTIME);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(NULL, 0, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", progname);
	run_atdie_and_exit(EXIT_USAGE);
}

int errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int err_out_of_memory(const char *err) { return err && strstr(err, "out of memory") != NULL; }

void warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(NULL, 0, fmt, ap);
	va_end(ap);
}

static volatile sig_atomic_t got_signal, second_pending, in_critical, first_from_parent;
static int twice_mode, polled;
static char first_note[160], second_note[160];

static void say(const char *s) { ssize_t r = write(2, s, strlen(s)); (void)r; }

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	int from_parent = si && si->si_code == SI_USER && si->si_pid == getppid();
	if (got_signal && twice_mode) {
		/* The parent passing on a signal that came to the whole process
		 * group, the trainer included (make run's scripts pass a SIGTERM
		 * on, as make sends it to them alone): the same stop, not a
		 * second one. A parent that sent the first (bonsai-train --gpus
		 * to its ranks) passes a second one on as such. */
		if (from_parent && !first_from_parent)
			return;
		if (in_critical) {
			second_pending = sig;
			return;
		}
		say(second_note);
		_exit(128 + sig);
	}
	if (!got_signal) {
		first_from_parent = from_parent;
		if (twice_mode)
			say(first_note);
	}
	got_signal = sig;
}

void cli_catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a blocked read() returns EINTR so the flag is seen */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A hangup that comes ignored stays so: nohup's promise (a training
	 * started with nohup must outlive the terminal it was started from) */
	struct sigaction hup;
	if (sigaction(SIGHUP, NULL, &hup) != 0 || hup.sa_handler != SIG_IGN)
		sigaction(SIGHUP, &sa, NULL);
	/* Slurm's (and others') pre-emption warning */
	sigaction(SIGUSR1, &sa, NULL);
}

void cli_catch_signals_twice(const char *first, const char *second)
{
	/* a progress line may be under way on the terminal: start a new line */
	const char *nl = isatty(2) ? "\n" : "";
	snprintf(first_note, sizeof first_note, "%s%s: %s\n", nl, progname, first);
	snprintf(second_note, sizeof second_note, "%s%s: %s\n", nl, progname, second);
	twice_mode = 1;
	cli_catch_signals();
}

void cli_poll_signals(void)
{
	polled = 1;
	cli_catch_signals();
}

void cli_critical(int on)
{
	in_critical = on;
	if (!on && second_pending) {
		say(second_note);
		_exit(128 + second_pending);
	}
}

int cli_interrupted(void) { return got_signal; }

const char *cli_device(const char *given)
{
	const char *what = "--device", *d = given;
	if (!d) {
		what = "BONSAI_DEVICE";
		d = getenv(what);
		if (!d || !*d)
			return NULL;
	}
	if (strcmp(d, "cpu") && strcmp(d, "cuda"))
		die_usage("%s: '%s' is not cpu or cuda", what, d);
	return d;
}

void cli_check_interrupt_reading(void)
{
	if (!twice_mode && !polled)
		cli_check_interrupt();
}

void cli_check_interrupt(void)
{
	if (got_signal)
		die("interrupted by signal %d; nothing half-written was left behind", (int)got_signal);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory (asked for %zu bytes)", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die("out of memory (asked for %zu x %zu bytes)", n, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die("out of memory (asked for %zu bytes)", n);
	return q;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		die("out of memory (%zu x %zu bytes overflows)", n, size);
	return xrealloc(p, n * size);
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

static int progress_mode = PROGRESS_AUTO;
static int progress_line_open;
static double progress_last;

void progress_set(int mode) { progress_mode = mode; }

int progress_enabled(void)
{
	/* asked once: progress() runs per record or chunk in some tools */
	static int tty = -1;
	if (progress_mode != PROGRESS_AUTO)
		return progress_mode;
	if (tty < 0) {
		/* BONSAI_PROGRESS=1 or 0 decides for every tool (tests, logs);
		 * -q and --progress still win */
		const char *e = getenv("BONSAI_PROGRESS");
		tty = e && (!strcmp(e, "1") || !strcmp(e, "0")) ? *e == '1' : isatty(STDERR_FILENO);
	}
	return tty;
}

void progress(int force, const char *fmt, ...)
{
	if (!progress_enabled())
		return;
	double t = now_seconds();
	if (!force && t - progress_last < 0.25)
		return;
	progress_last = t;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "\r%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputs("\033[K", stderr);
	va_end(ap);
	progress_line_open = 1;
}

void progress_done(void)
{
	if (progress_line_open) {
		fputc('\n', stderr);
		progress_line_open = 0;
	}
}

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whether s holds only characters of set. strtoll and strtod skip leading
 * white space, and strtod reads more than decimals ("0x10" is 16, "inf",
 * "nan"): an option's number is checked for its characters first, so that
 * only a decimal number, whole, is taken. */
static int only_chars(const char *s, const char *set) { return s[strspn(s, set)] == '\0'; }

long long parse_ll(const char *opt, const char *s, long long min, long long max)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || !only_chars(s, "+-0123456789"))
		die_usage("%s: '%s' is not an integer", opt, s);
	if (v < min || v > max)
		die_usage("%s: %lld is out of range [%lld, %lld]", opt, v, min, max);
	return v;
}

double parse_double(const char *opt, const char *s, double min, double max)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	int range = errno == ERANGE;
	if ((errno && !range) || end == s || *end || !only_chars(s, "+-0123456789.eE"))
		die_usage("%s: '%s' is not a number", opt, s);
	/* a number all the same, past what a double holds (1e999 and 1e-320
	 * were "not a number") */
	if (range || !isfinite(v))
		die_usage("%s: '%s' is too %s", opt, s, isfinite(v) ? "close to 0" : "far from 0");
	if (v < min || v > max)
		die_usage("%s: %g is out of range [%g, %g]", opt, v, min, max);
	return v;
}

long long parse_size(const char *opt, const char *s, long long min, long long max)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	/* the number starts at s: strtoll skipped white space */
	if (errno || end == s || isspace((unsigned char)*s))
		die_usage("%s: '%s' is not a size", opt, s);
	long long mult = 1;
	if (*end == 'k' || *end == 'K')
		mult = 1LL << 10, end++;
	else if (*end == 'M')
		mult = 1LL << 20, end++;
	else if (*end == 'G')
		mult = 1LL << 30, end++;
	if (*end)
		die_usage("%s: '%s' is not a size (use a number with an optional k, M or G)", opt, s);
	if (v > LLONG_MAX / mult)
		die_usage("%s: '%s' is too large", opt, s);
	/* v * mult would wrap (undefined; in practice to a small size that the
	 * range then lets through: -9223372036854775807k is 1024) */
	if (v < LLONG_MIN / mult)
		die_usage("%s: '%s' is too small", opt, s);
	v *= mult;
	if (v < min || v > max)
		die_usage("%s: %lld is out of range [%lld, %lld]", opt, v, min, max);
	return v;
}

void print_version(void)
{
	printf("%s (bonsai) %s\n", progname, BONSAI_VERSION);
}

/* How many long options "--name[=value]" can stand for (any val when val < 0). */
static int long_matches(const char *arg, const struct option *longopts, int val)
{
	size_t n = strcspn(arg + 2, "=");
	int k = 0;
	for (; longopts && longopts->name; longopts++)
		k += (val < 0 || longopts->val == val) && !strncmp(longopts->name, arg + 2, n);
	return k;
}

void cli_bad_option(char **argv, const char *optstring, const struct option *longopts,
		    const char *cmd)
{
	const char *arg = argv[optind - 1], *what = "unknown option '%s'";
	char name[128];
	/* a refused short option can follow a long one: "--quiet -Zq" */
	if (!strncmp(arg, "--", 2) && (!optopt || long_matches(arg, longopts, optopt))) {
		const char *eq = strchr(arg, '=');
		snprintf(name, sizeof name, "%.*s", (int)(eq ? eq - arg : (long)strlen(arg)), arg);
		if (!optopt && long_matches(arg, longopts, -1) > 1)
			what = "ambiguous option '%s'";
		else if (optopt)
			what = eq ? "option '%s' takes no argument" : "option '%s' needs an argument";
	} else {
		if (optopt)
			snprintf(name, sizeof name, "-%c", optopt);
		else
			snprintf(name, sizeof name, "%.100s", arg);
		if (optopt && optopt != ':' && strchr(optstring, optopt))
			what = "option '%s' needs an argument";
	}
	progress_done();
	fprintf(stderr, "%s: %s%s", progname, cmd ? cmd : "", cmd ? ": " : "");
	fprintf(stderr, what, name);
	fputc('\n', stderr);
}

int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
	       const char *cmd)
{
	opterr = 0;
	int c = getopt_long(argc, argv, optstring, longopts, NULL);
	if (c != '?')
		return c;
	cli_bad_option(argv, optstring, longopts, cmd);
	fprintf(stderr, "Try '%s%s%s --help' for more information.\n", progname, cmd ? " " : "",
		cmd ? cmd : "");
	run_atdie_and_exit(EXIT_USAGE);
}
