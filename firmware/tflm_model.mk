# Add edgekit-generated TFLite Micro sources to a Make build.
#
#   EDGEKIT_MODEL_DIR  := model
#   EDGEKIT_MODEL_NAME := digits
#   include path/to/edgekit/firmware/tflm_model.mk
#   SRCS     += $(EDGEKIT_MODEL_SRCS)
#   CPPFLAGS += $(EDGEKIT_MODEL_CPPFLAGS)
#
# The directory holds the files `edgekit header` wrote; TFLM is built by your Makefile.
EDGEKIT_MODEL_SRCS := $(wildcard $(EDGEKIT_MODEL_DIR)/$(EDGEKIT_MODEL_NAME)_model_data.c \
                                 $(EDGEKIT_MODEL_DIR)/$(EDGEKIT_MODEL_NAME)_model_data.cc)
ifeq ($(EDGEKIT_MODEL_SRCS),)
$(error edgekit: no $(EDGEKIT_MODEL_NAME)_model_data.c/.cc in $(EDGEKIT_MODEL_DIR); run `edgekit header`)
endif
EDGEKIT_MODEL_CPPFLAGS := -I$(EDGEKIT_MODEL_DIR)
