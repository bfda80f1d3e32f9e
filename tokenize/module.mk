TOOLS += bonsai-tokenize
bonsai-tokenize_SRCS := $(wildcard tokenize/*.c)
bonsai-tokenize_LIBS :=
