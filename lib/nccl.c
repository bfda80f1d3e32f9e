/* nccl.c - see nccl.h. */
#include "nccl.h"
#include "cli.h"

#include <dlfcn.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nccl_api api;
static int loaded;

/* Fills the table from handle h; -1 naming a missing symbol. */
static int resolve(void *h, char *err, size_t errlen)
{
	static const char *const names[] = {
		"ncclGetVersion", "ncclGetUniqueId", "ncclCommInitRank", "ncclCommDestroy",
		"ncclCommAbort", "ncclGetErrorString", "ncclReduceScatter", "ncclAllGather",
		"ncclReduce", "ncclBroadcast", "ncclGroupStart", "ncclGroupEnd",
	};
	void **slot[] = {
		(void **)&api.GetVersion, (void **)&api.GetUniqueId, (void **)&api.CommInitRank,
		(void **)&api.CommDestroy, (void **)&api.CommAbort, (void **)&api.GetErrorString,
		(void **)&api.ReduceScatter, (void **)&api.AllGather, (void **)&api.Reduce,
		(void **)&api.Broadcast, (void **)&api.GroupStart, (void **)&api.GroupEnd,
	};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!(*slot[i] = dlsym(h, names[i])))
			return errf(err, errlen, "%s has no %s", api.path, names[i]);
	return 0;
}

/* Tries one file (or bare name): its handle, or NULL after adding why to
 * the list tried. */
static void *try_one(const char *path, char *tried, size_t n)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h) {
		snprintf(api.path, sizeof api.path, "%s", path);
		return h;
	}
	size_t o = strlen(tried);
	if (o + 8 < n)
		snprintf(tried + o, n - o, "\n  %s: %s", path, dlerror());
	return NULL;
}

static const char *const SITE_GLOBS[] = {
	"%s/lib/python3*/site-packages/nvidia/nccl/lib/libnccl.so.2",
	"%s/lib/python3*/dist-packages/nvidia/nccl/lib/libnccl.so.2",
	"%s/local/lib/python3*/dist-packages/nvidia/nccl/lib/libnccl.so.2",
};

const nccl_api *nccl_load(char *err, size_t errlen)
{
	if (loaded)
		return &api;
	char tried[4096] = "", p[1024];
	void *found = NULL;
	const char *own = getenv("BONSAI_NCCL");
	if (own && *own)
		found = try_one(own, tried, sizeof tried);
#ifdef BONSAI_CUDA_LIB
	if (!found)
		found = try_one(BONSAI_CUDA_LIB "/libnccl.so.2", tried, sizeof tried);
#endif
	if (!found)
		found = try_one("libnccl.so.2", tried, sizeof tried);
	const char *home = getenv("HOME");
	char local[600] = "";
	if (home)
		snprintf(local, sizeof local, "%s/.local", home);
	const char *prefixes[] = { getenv("VIRTUAL_ENV"), getenv("CONDA_PREFIX"), local,
				   "/usr/local", "/usr", "/opt/conda" };
	for (size_t i = 0; !found && i < sizeof prefixes / sizeof *prefixes; i++) {
		if (!prefixes[i] || !*prefixes[i])
			continue;
		for (size_t k = 0; !found && k < sizeof SITE_GLOBS / sizeof *SITE_GLOBS; k++) {
			glob_t g;
			snprintf(p, sizeof p, SITE_GLOBS[k], prefixes[i]);
			if (glob(p, 0, NULL, &g) == 0) {
				for (size_t j = 0; !found && j < g.gl_pathc; j++)
					found = try_one(g.gl_pathv[j], tried, sizeof tried);
			} else {
				size_t o = strlen(tried);
				if (o + 8 < sizeof tried)
					snprintf(tried + o, sizeof tried - o, "\n  %s: no such file", p);
			}
			globfree(&g);
		}
	}
	if (!found) {
		errf(err, errlen, "cannot load NCCL (libnccl.so.2); tried:%s\n(install NCCL, e.g. "
				  "PyTorch's nvidia-nccl wheel, or point BONSAI_NCCL at the file)",
		     tried);
		return NULL;
	}
	if (resolve(found, err, errlen))
		return NULL;
	if (api.GetVersion(&api.version))
		api.version = 0;
	loaded = 1;
	return &api;
}
