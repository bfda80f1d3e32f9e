/* lib/progress: durations for the time left, input sizes, a meter's
 * answers before it can know. */
#include "tap.h"

#include "cli.h"
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char s[32];
	format_duration(s, sizeof s, 0.2);
	is_str(s, "1s", "a fraction of a second rounds up: never 'ETA 0s' while work is left");
	format_duration(s, sizeof s, 42);
	is_str(s, "42s", "seconds");
	format_duration(s, sizeof s, 187);
	is_str(s, "3m07s", "minutes and seconds");
	format_duration(s, sizeof s, 3900);
	is_str(s, "1h05m", "hours and minutes");
	format_duration(s, sizeof s, -1);
	is_str(s, "?", "a negative time is unknown");
	format_duration(s, sizeof s, 1e300);
	is_str(s, "?", "an absurd time is unknown");

	meter m;
	meter_start(&m, 0);
	is_str(meter_eta(&m, 10), "?", "no total: no time left");
	meter_start(&m, 100);
	is_str(meter_eta(&m, 0), "?", "nothing done yet: no time left");
	usleep(20000);
	const char *e = meter_eta(&m, 100);
	is_str(e, "0s", "all done: no time left");
	ok(meter_rate(&m, 100) > 0 && meter_rate(&m, 100) < 100 / 0.019, "rate: done over the time since the start");

	char tmpl[] = "/tmp/test_lib_progress.XXXXXX";
	int fd = mkstemp(tmpl);
	ok(fd >= 0 && write(fd, "12345", 5) == 5, "a 5-byte file");
	char *two[] = {tmpl, tmpl};
	ok(files_size(two, 2) == 10, "files_size sums the files");
	char *with_dev[] = {tmpl, "/dev/null"};
	ok(files_size(with_dev, 2) == 0, "a file that is not regular: size unknown (0)");
	char *missing[] = {"/nonexistent/file"};
	ok(files_size(missing, 1) == 0, "a missing file: size unknown (0)");
	close(fd);
	unlink(tmpl);
	return done_testing();
}
