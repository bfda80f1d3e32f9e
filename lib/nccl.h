/* nccl.h - NCCL, loaded at run time (dlopen), so that bonsai-train finds
 * libnccl.so.2 where PyTorch's wheels or the CUDA Toolkit put it without
 * LD_LIBRARY_PATH, and builds without NCCL's headers. Only the calls the
 * trainer makes, with NCCL's ABI (enums passed as int, the 128-byte id,
 * streams as void *). */
#ifndef BONSAI_NCCL_H
#define BONSAI_NCCL_H

#include <stddef.h>

enum { NCCL_ID_BYTES = 128 };
enum { NCCL_FLOAT32 = 7, NCCL_BFLOAT16 = 9 }; /* ncclDataType_t */
enum { NCCL_SUM = 0 };                        /* ncclRedOp_t */

typedef struct { char internal[NCCL_ID_BYTES]; } nccl_id;
typedef struct ncclComm *nccl_comm;

typedef struct {
	int (*GetVersion)(int *version);
	int (*GetUniqueId)(nccl_id *id);
	int (*CommInitRank)(nccl_comm *comm, int nranks, nccl_id id, int rank);
	int (*CommDestroy)(nccl_comm comm);
	int (*CommAbort)(nccl_comm comm);
	const char *(*GetErrorString)(int result);
	/* count: each rank's part; rank r's is at r * count of the whole buffer
	 * (in place when recv is that part of send, or send that part of recv) */
	int (*ReduceScatter)(const void *send, void *recv, size_t count, int type, int op,
			     nccl_comm comm, void *stream);
	int (*AllGather)(const void *send, void *recv, size_t count, int type, nccl_comm comm,
			 void *stream);
	int (*Reduce)(const void *send, void *recv, size_t count, int type, int op, int root,
		      nccl_comm comm, void *stream);
	int (*Broadcast)(const void *send, void *recv, size_t count, int type, int root,
			 nccl_comm comm, void *stream);
	int (*GroupStart)(void);
	int (*GroupEnd)(void);
	char path[512]; /* the file loaded */
	int version;    /* e.g. 22809 for 2.28.9 */
} nccl_api;

/* Loads libnccl.so.2 from, in order: $BONSAI_NCCL (a file), the CUDA
 * Toolkit's lib64 this build used (BONSAI_CUDA_LIB), the dynamic linker's search
 * (LD_LIBRARY_PATH, the binary's rpath, ldconfig), then the nvidia/nccl/lib
 * folders of Python's site-packages (PyTorch's wheels) under $VIRTUAL_ENV,
 * $CONDA_PREFIX, ~/.local, /usr/local, /usr and /opt/conda. Returns the API
 * (loaded once), or NULL with a message listing every place tried. */
const nccl_api *nccl_load(char *err, size_t errlen);

#endif
