/* CMSIS-NN's scratch-buffer sizes computed on the host by CMSIS-NN itself: the test oracle of
 * targets/cmsis_nn_sizes.py (tests/cmsis_nn_oracle.py compiles and loads this file).
 *
 * TFLM's CMSIS-NN kernels ask RequestScratchBufferInArena for what CMSIS-NN's
 * arm_*_get_buffer_size functions return on the target core. CMSIS-NN ships _dsp and _mve
 * variants of those functions for host-side planning: this file calls them for one feature set
 * (EK_PLAIN: no DSP, EK_DSP: Cortex-M4/M7/M33, EK_MVE: Helium, Cortex-M55).
 *
 * Parameters come as one int32 array, in the order TFLM's Prepare functions fill the
 * cmsis_nn structs: input n,h,w,c; filter n,h,w,c; output n,h,w,c; stride h,w; padding h,w;
 * dilation h,w; input offset, output offset, activation min, max.
 */
#include "arm_nnfunctions.h"

enum { EK_PLAIN = 0, EK_DSP = 1, EK_MVE = 2 };

static cmsis_nn_dims ek_dims(const int32_t *p) {
  cmsis_nn_dims d = {p[0], p[1], p[2], p[3]};
  return d;
}

static cmsis_nn_conv_params ek_conv_params(const int32_t *p) {
  cmsis_nn_conv_params c = {0};
  c.stride.h = p[12];
  c.stride.w = p[13];
  c.padding.h = p[14];
  c.padding.w = p[15];
  c.dilation.h = p[16];
  c.dilation.w = p[17];
  c.input_offset = p[18];
  c.output_offset = p[19];
  c.activation.min = p[20];
  c.activation.max = p[21];
  return c;
}

int32_t ek_conv(int bits, int feature, const int32_t *p) {
  const cmsis_nn_dims in = ek_dims(p), filter = ek_dims(p + 4), out = ek_dims(p + 8);
  const cmsis_nn_conv_params c = ek_conv_params(p);
  if (bits == 16) {
    if (feature == EK_MVE) return arm_convolve_wrapper_s16_get_buffer_size_mve(&c, &in, &filter, &out);
    if (feature == EK_DSP) return arm_convolve_wrapper_s16_get_buffer_size_dsp(&c, &in, &filter, &out);
    return arm_convolve_wrapper_s16_get_buffer_size(&c, &in, &filter, &out);
  }
  if (feature == EK_MVE) return arm_convolve_wrapper_s8_get_buffer_size_mve(&c, &in, &filter, &out);
  if (feature == EK_DSP) return arm_convolve_wrapper_s8_get_buffer_size_dsp(&c, &in, &filter, &out);
  return arm_convolve_wrapper_s8_get_buffer_size(&c, &in, &filter, &out);
}

/* TFLM asks for depthwise scratch with int8 inputs only. */
int32_t ek_depthwise_conv_s8(int feature, const int32_t *p) {
  const cmsis_nn_dims in = ek_dims(p), filter = ek_dims(p + 4), out = ek_dims(p + 8);
  const cmsis_nn_conv_params c = ek_conv_params(p);
  cmsis_nn_dw_conv_params dw = {0};
  dw.input_offset = c.input_offset;
  dw.output_offset = c.output_offset;
  dw.ch_mult = in.c > 0 ? out.c / in.c : 1;
  dw.stride = c.stride;
  dw.padding = c.padding;
  dw.dilation = c.dilation;
  dw.activation = c.activation;
  if (feature == EK_MVE) return arm_depthwise_conv_wrapper_s8_get_buffer_size_mve(&dw, &in, &filter, &out);
  if (feature == EK_DSP) return arm_depthwise_conv_wrapper_s8_get_buffer_size_dsp(&dw, &in, &filter, &out);
  return arm_depthwise_conv_wrapper_s8_get_buffer_size(&dw, &in, &filter, &out);
}

/* p: the filter dims only (n = accumulation depth, c = output depth), as TFLM passes them. */
int32_t ek_fully_connected(int bits, int feature, const int32_t *p) {
  const cmsis_nn_dims filter = ek_dims(p);
  if (bits == 16) {
    if (feature == EK_MVE) return arm_fully_connected_s16_get_buffer_size_mve(&filter);
    if (feature == EK_DSP) return arm_fully_connected_s16_get_buffer_size_dsp(&filter);
    return arm_fully_connected_s16_get_buffer_size(&filter);
  }
  if (feature == EK_MVE) return arm_fully_connected_s8_get_buffer_size_mve(&filter);
  if (feature == EK_DSP) return arm_fully_connected_s8_get_buffer_size_dsp(&filter);
  return arm_fully_connected_s8_get_buffer_size(&filter);
}

/* p: output width, channels. */
int32_t ek_avgpool(int bits, int feature, const int32_t *p) {
  if (bits == 16) {
    if (feature == EK_MVE) return arm_avgpool_s16_get_buffer_size_mve(p[0], p[1]);
    if (feature == EK_DSP) return arm_avgpool_s16_get_buffer_size_dsp(p[0], p[1]);
    return arm_avgpool_s16_get_buffer_size(p[0], p[1]);
  }
  if (feature == EK_MVE) return arm_avgpool_s8_get_buffer_size_mve(p[0], p[1]);
  if (feature == EK_DSP) return arm_avgpool_s8_get_buffer_size_dsp(p[0], p[1]);
  return arm_avgpool_s8_get_buffer_size(p[0], p[1]);
}

/* TFLM's fully-connected as a 1x1 convolution (batches > 1): the input dims n,h,w,c. */
int32_t ek_convolve_1x1_fast_s8(int feature, const int32_t *p) {
  const cmsis_nn_dims in = ek_dims(p);
  (void)feature; /* CMSIS-NN has no host variant: 0 except under Arm Compiler 6 with DSP */
  return arm_convolve_1x1_s8_fast_get_buffer_size(&in);
}
