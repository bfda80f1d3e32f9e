TOOLS += bonsai-tokenize
bonsai-tokenize_SRCS := $(wildcard tokenize/*.c)
bonsai-tokenize_LIBS :=
# lib/tokenizer*.c and lib/pretok.c (linked into every tool) use utf8proc.
LDLIBS += -lutf8proc
