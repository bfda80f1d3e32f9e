/* The scan for a run's checkpoints (gemma3_list_checkpoints): only the
 * names bonsai-train writes count, sorted by step; what the trainer prunes
 * and what readers resume from both come from it. */
#include "gemma3_checkpoint.h"
#include "xio.h"
#include "tap.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/bonsai-ckptdir.XXXXXX";

static void touch(const char *name)
{
	char *p = xpath_join(dir, name);
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
	free(p);
}

static int step_of(const char *name)
{
	long s;
	return gemma3_checkpoint_step(name, &s) ? (int)s : -1;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;

	/* names */
	is_int(step_of("ckpt-00000020.safetensors"), 20, "the writer's name: step 20");
	is_int(step_of("ckpt-00000000.safetensors"), 0, "step 0");
	is_int(step_of("ckpt-123456789.safetensors"), 123456789, "a step of 9 digits");
	const char *not_ckpt[] = {
		"ckpt-1", "ckpt-00000001", "ckpt-1.safetensors", "ckpt-00000001x.safetensors",
		"ckpt-00000001.safetensors.tmp.Ab12Cd", "ckpt-00000001.safetensorsx",
		"ckpt-00000001.safetensors ", "ckpt-000000001.safetensors", "ckpt--0000001.safetensors",
		"ckpt-+0000001.safetensors", "ckpt- 0000001.safetensors", "ckpt-.safetensors",
		"xckpt-00000001.safetensors", "ckpt_00000001.safetensors", "ckpt-00000001.json",
		"ckpt-99999999999999999999.safetensors", "model.safetensors", "config.json", "",
	};
	for (size_t i = 0; i < sizeof not_ckpt / sizeof *not_ckpt; i++)
		is_int(step_of(not_ckpt[i]), -1, "'%s' is not a checkpoint name", not_ckpt[i]);
	char err[512];
	char *name = gemma3_checkpoint_name(7, err, sizeof err);
	is_str(name, "ckpt-00000007.safetensors", "the name of step 7's checkpoint");
	free(name);

	/* a directory without checkpoints, and none at all */
	gemma3_ckpt *l;
	touch("config.json");
	char *latest = dir;
	is_int(gemma3_list_checkpoints(dir, &l, err, sizeof err), 0, "no checkpoints yet");
	ok(l == NULL && gemma3_latest_checkpoint(dir, &latest, err, sizeof err) == 0 && latest == NULL,
	   "nothing listed, no latest");
	char *missing = xpath_join(dir, "missing");
	is_int(gemma3_list_checkpoints(missing, &l, err, sizeof err), 0,
	       "a missing directory has no checkpoints");
	free(missing);

	/* checkpoints among look-alikes, listed by step not by name */
	const char *files[] = {
		"ckpt-00000020.safetensors", "ckpt-100000000.safetensors", "ckpt-00000003.safetensors",
		"ckpt-1.safetensors", "ckpt-00000999x.safetensors", "ckpt-00000500.safetensors.tmp.q1W2e3",
		"ckpt-00000400", "ckpt-000000600.safetensors",
	};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		touch(files[i]);
	/* and the temporary file of a checkpoint being written right now */
	char *being = xpath_join(dir, "ckpt-00000700.safetensors");
	outfile *o = outfile_open(being);
	long n = gemma3_list_checkpoints(dir, &l, err, sizeof err);
	is_int(n, 3, "three checkpoints among the look-alikes");
	if (n == 3) {
		is_int(l[0].step, 3, "oldest first: step 3");
		is_str(l[0].name, "ckpt-00000003.safetensors", "with its file name");
		is_int(l[1].step, 20, "then step 20");
		is_int(l[2].step, 100000000, "then step 100000000 (9 digits sort by value)");
		is_str(l[2].name, "ckpt-100000000.safetensors", "with its file name");
	}
	gemma3_free_checkpoints(l, n);
	char *want = xpath_join(dir, "ckpt-100000000.safetensors");
	char *got = NULL;
	gemma3_latest_checkpoint(dir, &got, err, sizeof err);
	is_str(got, want, "latest: the highest step");
	free(got);
	free(want);

	/* once the write is committed, it counts */
	outfile_write(o, "x", 1);
	outfile_commit(o);
	n = gemma3_list_checkpoints(dir, &l, err, sizeof err);
	is_int(n, 4, "a committed checkpoint is listed");
	if (n == 4)
		is_int(l[2].step, 700, "in step order");
	gemma3_free_checkpoints(l, n);
	free(being);

	char *j = xpath_join("a/b", "c.json");
	is_str(j, "a/b/c.json", "path_join");
	free(j);
	j = xpath_join("a/b/", "c.json");
	is_str(j, "a/b/c.json", "path_join of a folder given with its slash: one slash");
	free(j);
	j = xpath_join("/", "c.json");
	is_str(j, "/c.json", "path_join of the root");
	free(j);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd))
		return 1;
	return done_testing();
}
