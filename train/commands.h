/* commands.h - the subcommands of bonsai-train and what they share. */
#ifndef BONSAI_TRAIN_COMMANDS_H
#define BONSAI_TRAIN_COMMANDS_H

#include <stddef.h>

int cmd_verify(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* The device: given (--device, checked), else $BONSAI_DEVICE, else "cuda"
 * when built with CUDA and a GPU is usable, else "cpu". */
const char *pick_device(const char *given);
/* Writes to stdout and flushes; dies on error. */
void xfwrite_stdout(const void *p, size_t n);

#endif
