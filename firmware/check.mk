# Compile checks for generated TFLite Micro sources.
#
#   make -f firmware/check.mk GEN=build/tflm NAME=digits [TFLM=/path/to/tflite-micro] [OUT=/tmp/x]
#
# host-c / host-cc: the model data and settings headers with gcc -std=c99 and g++ -std=c++17.
# cortex-m4 ... cortex-m55: the same with arm-none-eabi-gcc; `size` prints the flash bytes of
# the model data object. resolver and main (need TFLM=, a tree made by TFLM's
# create_tflm_tree.py such as ../shared/tflm/reference): the op resolver header and
# NAME_main.cc (written with `edgekit header --app`) with g++ -fsyntax-only against TFLM's
# headers. Every compile uses -Wall -Wextra -Werror (TFLM's own headers are -isystem: their
# warnings are TFLM's).

GEN  ?= .
NAME ?= model
OUT  ?= $(GEN)/.check
TFLM ?=
HERE := $(dir $(lastword $(MAKEFILE_LIST)))
NAME_UPPER := $(shell echo $(NAME) | tr a-z A-Z)
DATA := $(firstword $(wildcard $(GEN)/$(NAME)_model_data.c $(GEN)/$(NAME)_model_data.cc))
WARN := -Wall -Wextra -Werror
DEFS := -I$(GEN) -DEDGEKIT_NAME=$(NAME) -DEDGEKIT_NAME_UPPER=$(NAME_UPPER)
CROSS ?= arm-none-eabi-
CPUS := cortex-m4 cortex-m7 cortex-m33 cortex-m55

# TFLM's include paths as its cortex_m_generic build uses them (a tree from create_tflm_tree.py).
TFLM_INCLUDES := $(foreach d,. third_party/flatbuffers/include third_party/gemmlowp third_party/ruy,-isystem $(TFLM)/$(d))
TFLM_FLAGS := -std=c++17 $(WARN) -DTF_LITE_STATIC_MEMORY -I$(GEN) $(TFLM_INCLUDES)

.PHONY: all host-c host-cc resolver main size $(CPUS)
all: host-c host-cc $(CPUS)

$(OUT):
	mkdir -p $@

# A .c model file is C; a .cc one is C++ and is checked with the C++ compiler only.
host-c: | $(OUT)
ifeq ($(suffix $(DATA)),.c)
	gcc -std=c99 $(WARN) $(DEFS) -c $(DATA) -o $(OUT)/host_data.o
endif
	gcc -std=c99 $(WARN) $(DEFS) -c $(HERE)checks/use_settings.c -o $(OUT)/host_settings.o

host-cc: | $(OUT)
	g++ -std=c++17 $(WARN) $(DEFS) -x c++ -c $(DATA) -o $(OUT)/hostcc_data.o
	g++ -std=c++17 $(WARN) $(DEFS) -x c++ -c $(HERE)checks/use_settings.c -o $(OUT)/hostcc_settings.o

$(CPUS): | $(OUT)
	$(CROSS)gcc -mcpu=$@ -mthumb -O2 $(WARN) $(DEFS) $(if $(filter .c,$(suffix $(DATA))),-std=c99,-x c++ -std=c++17) \
		-c $(DATA) -o $(OUT)/$@_data.o
	$(CROSS)gcc -mcpu=$@ -mthumb -O2 -std=c99 $(WARN) $(DEFS) -c $(HERE)checks/use_settings.c -o $(OUT)/$@_settings.o
	$(CROSS)size $(OUT)/$@_data.o

resolver: | $(OUT)
	@test -n "$(TFLM)" || { echo "resolver check needs TFLM=/path/to/tflite-micro (its headers)"; exit 2; }
	printf '#include "$(NAME)_op_resolver.h"\nint edgekit_resolver_check();\nint edgekit_resolver_check() { static $(shell echo $(NAME) | sed -E 's/(^|_)([A-Za-z0-9])/\U\2/g')OpResolver r; return $(NAME)_register_ops(r) == kTfLiteOk; }\n' > $(OUT)/resolver_check.cc
	g++ $(TFLM_FLAGS) -c $(OUT)/resolver_check.cc -o $(OUT)/resolver_check.o

main: | $(OUT)
	@test -n "$(TFLM)" || { echo "main check needs TFLM=/path/to/a TFLM tree (its headers)"; exit 2; }
	g++ $(TFLM_FLAGS) -fsyntax-only $(GEN)/$(NAME)_main.cc
