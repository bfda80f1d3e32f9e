/* tokenize_tool.h - the subcommands of bonsai-tokenize. */
#ifndef BONSAI_TOKENIZE_TOOL_H
#define BONSAI_TOKENIZE_TOOL_H

#include <stdint.h>
#include <stddef.h>

int cmd_encode(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_train(int argc, char **argv);

#endif
