/* cli.h - the manners every bonsai tool shares: messages, exit codes,
 * checked allocation, progress on stderr. */
#ifndef BONSAI_CLI_H
#define BONSAI_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define BONSAI_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Set once from main(); every message starts with it. */
void cli_init(const char *progname);
const char *cli_progname(void);

/* "prog: msg" on stderr, then exit(1). */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: file:line: msg" (line 0 = no line number), then exit(1). */
_Noreturn void die_at(const char *file, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "prog: msg", then exit(2) with a pointer to --help. */
_Noreturn void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For functions that report errors to their caller: formats the message
 * into err[errlen] (when err is not NULL) and returns -1. */
int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A library message for running out of memory says "out of memory"
 * (tests/unit/failalloc.h checks it): whether err is one, for a caller that
 * takes other failures as "not there" but must not hide this one. */
int err_out_of_memory(const char *err);

/* "prog: msg" on stderr and carry on. */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Functions run (most recent first) before die() exits, or at any other
 * exit() once cli_init() ran (a library that ends the program: libgomp
 * out of memory): used to remove half-written outputs so that an error
 * never leaves one behind. A tool removes its handlers when it succeeds. */
void cli_atdie(void (*fn)(void *), void *arg);
/* The same for library code: -1 when the list (64) is full. */
int cli_atdie_err(void (*fn)(void *), void *arg);
void cli_atdie_remove(void (*fn)(void *), void *arg);

/* SIGINT/SIGTERM/SIGHUP set a flag instead of killing the process (a
 * SIGHUP ignored from the start, as under nohup, stays ignored), so that
 * long work can stop cleanly: cli_check_interrupt() dies ("interrupted",
 * running the cleanup handlers) once a signal came. Blocking reads return
 * early on a signal and call it. Tools that save state on a signal (the
 * trainer) test cli_interrupted() themselves. */
void cli_catch_signals(void);
/* SIGUSR1 (a scheduler's pre-emption warning) counts like SIGTERM.
 * cli_catch_signals_twice: the same, for work that stops at a safe point (the trainer's step): the
 * first signal prints first ("stopping after ..."), a second one prints
 * second and exits at once with 128+signal, unless inside cli_critical(1)
 * (writing a checkpoint), which it then leaves first. The parent passing
 * on a first signal that came from elsewhere is not a second one. */
void cli_catch_signals_twice(const char *first, const char *second);
/* cli_poll_signals: the same as cli_catch_signals, for a loop that tests
 * cli_interrupted() at its own safe points (bonsai-plot --watch): reads
 * do not stop it. */
void cli_poll_signals(void);
void cli_critical(int on);
int cli_interrupted(void);
void cli_check_interrupt(void);
/* What a reader calls between reads: cli_check_interrupt(), unless the
 * tool stops at safe points of its own (cli_catch_signals_twice,
 * cli_poll_signals). */
void cli_check_interrupt_reading(void);

/* Where a tool runs, "cpu" or "cuda": given (an option's value; NULL when
 * none) or else $BONSAI_DEVICE; NULL when neither is set (the tool picks).
 * Any other value is a usage error that names the option or variable. */
const char *cli_device(const char *given);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* reallocarray with overflow check. */
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);

/* Progress lines: shown when stderr is a terminal, unless forced on
 * (--progress, BONSAI_PROGRESS=1) or off (-q, BONSAI_PROGRESS=0). */
enum { PROGRESS_AUTO = -1, PROGRESS_OFF = 0, PROGRESS_ON = 1 };
void progress_set(int mode);
int progress_enabled(void);
/* Rewrites one status line on stderr at most ~4 times a second
 * (always when force is set); ends it with a newline on progress_done(). */
void progress(int force, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_done(void);

/* Monotonic seconds. */
double now_seconds(void);

/* Strict number parsing for option arguments: the whole string, a decimal
 * number (no white space around it; parse_double takes "1e-3" and ".5", not
 * "0x10", "inf" or "nan"), range checked; a bad value is a usage error
 * naming the option. */
long long parse_ll(const char *opt, const char *s, long long min, long long max);
double parse_double(const char *opt, const char *s, double min, double max);
/* "524288", "512k", "1M", "2G" (powers of 1024 for k/M/G). */
long long parse_size(const char *opt, const char *s, long long min, long long max);

/* Standard --version output. */
void print_version(void);

/* getopt_long with one message for a refused option, naming it ("prog:
 * unknown option '--foo'", or that it needs or takes no argument) and a
 * pointer to --help, then exit 2. cmd: the subcommand (argv[0] then is its
 * name), or NULL. Returns what getopt_long returns, never '?'. */
int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
	       const char *cmd);
/* The first line of that message alone, for a tool that goes on to show
 * its usage instead of the pointer (getopt_long just returned '?'). */
void cli_bad_option(char **argv, const char *optstring, const struct option *longopts,
		    const char *cmd);

#endif
