/* edgekit standalone C: the portable kernel shim (C API over TFLM's reference kernels).
 *
 * The generated model file is C99 and calls these functions with parameters edgekit
 * computed at generation time, exactly as TFLM's Prepare would. Each function calls
 * the TFLM reference kernel TFLM's own Eval calls for the same op and types, so the
 * results are bit-exact to TFLM with its reference kernels. No heap, no globals. */
#ifndef EK_KERNELS_H_
#define EK_KERNELS_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EK_MAX_DIMS 6

typedef struct {
  int32_t count;
  int32_t dims[EK_MAX_DIMS];
} ek_shape;

/* CONV_2D and DEPTHWISE_CONV_2D (int8 activations, int8 weights, int32 bias). */
typedef struct {
  ek_shape input, filter, bias, output;
  int32_t stride_w, stride_h, dilation_w, dilation_h, pad_w, pad_h, depth_multiplier;
  int32_t input_offset, output_offset, act_min, act_max;
} ek_conv;

/* FULLY_CONNECTED: per-tensor (multiplier, shift) or per-channel arrays. */
typedef struct {
  ek_shape input, filter, bias, output;
  int32_t input_offset, weights_offset, output_offset, act_min, act_max;
  int32_t output_multiplier, output_shift;
} ek_fc;

/* AVERAGE_POOL_2D and MAX_POOL_2D. */
typedef struct {
  ek_shape input, output;
  int32_t stride_w, stride_h, filter_w, filter_h, pad_w, pad_h, act_min, act_max;
} ek_pool;

/* ADD (int8), with TFLM's general rescaling. */
typedef struct {
  ek_shape input1, input2, output;
  int32_t left_shift, input1_offset, input1_multiplier, input1_shift;
  int32_t input2_offset, input2_multiplier, input2_shift;
  int32_t output_offset, output_multiplier, output_shift, act_min, act_max;
} ek_add;

/* SOFTMAX int8 -> int8. */
typedef struct {
  ek_shape input, output;
  int32_t input_multiplier, input_left_shift, diff_min;
} ek_softmax;

/* MUL (int8), TFLM's single multiplier. */
typedef struct {
  ek_shape input1, input2, output;
  int32_t input1_offset, input2_offset, output_offset, output_multiplier, output_shift, act_min, act_max;
} ek_mul;

/* MEAN (int8): axes, and TFLM's multiplier from input to output scale. */
typedef struct {
  ek_shape input, output;
  int32_t axis[EK_MAX_DIMS];
  int32_t num_axis, keep_dims, input_zero_point, output_zero_point, multiplier, shift;
} ek_mean;

/* PAD (int8): padding before/after each dimension, the pad value. */
typedef struct {
  ek_shape input, output;
  int32_t count, left[5], right[5], value, image_style;
} ek_pad;

/* CONCATENATION (int8, every input with the output's quantization). */
#define EK_MAX_CONCAT 10
typedef struct {
  ek_shape output;
  int32_t axis, count;
  ek_shape inputs[EK_MAX_CONCAT];
} ek_concat;

/* TRANSPOSE (int8). */
typedef struct {
  ek_shape input, output;
  int32_t perm_count, perm[EK_MAX_DIMS];
} ek_transpose;

/* HARD_SWISH (int8): TFLM's 16-bit fixed-point multipliers. */
typedef struct {
  ek_shape input, output;
  int32_t input_zero_point, output_zero_point, reluish_multiplier, reluish_exponent;
  int32_t output_multiplier, output_exponent;
} ek_hard_swish;

/* LOGISTIC (int8 -> int8). */
typedef struct {
  int32_t size, input_zero_point, input_range_radius, input_multiplier, input_left_shift;
} ek_logistic;

/* RELU (requantizing, TFLM's ReluQuantized) and RELU6 (a clamp to [act_min, act_max] in the input's scale). */
typedef struct {
  ek_shape input, output;
  int32_t input_offset, output_offset, output_multiplier, output_shift, act_min, act_max;
} ek_relu;

/* QUANTIZE float -> int8 (scale) and int8 -> int8 (multiplier), DEQUANTIZE int8 -> float. */
typedef struct {
  ek_shape input, output;
  float scale;
  int32_t input_zero_point, output_zero_point, multiplier, shift;
} ek_quantize;

void ek_conv_s8(const ek_conv *p, const int32_t *multipliers, const int32_t *shifts, const int8_t *input,
                const int8_t *filter, const int32_t *bias, int8_t *output);
void ek_depthwise_conv_s8(const ek_conv *p, const int32_t *multipliers, const int32_t *shifts,
                          const int8_t *input, const int8_t *filter, const int32_t *bias, int8_t *output);
void ek_fully_connected_s8(const ek_fc *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                           int8_t *output);
void ek_fully_connected_per_channel_s8(const ek_fc *p, const int32_t *multipliers, const int32_t *shifts,
                                       const int8_t *input, const int8_t *filter, const int32_t *bias,
                                       int8_t *output);
void ek_average_pool_s8(const ek_pool *p, const int8_t *input, int8_t *output);
void ek_max_pool_s8(const ek_pool *p, const int8_t *input, int8_t *output);
void ek_add_s8(const ek_add *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void ek_softmax_s8(const ek_softmax *p, const int8_t *input, int8_t *output);
void ek_mul_s8(const ek_mul *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void ek_mean_s8(const ek_mean *p, const int8_t *input, int32_t *scratch, int8_t *output);
void ek_pad_s8(const ek_pad *p, const int8_t *input, int8_t *output);
void ek_concatenation_s8(const ek_concat *p, const int8_t *const *inputs, int8_t *output);
void ek_transpose_s8(const ek_transpose *p, const int8_t *input, int8_t *output);
void ek_hard_swish_s8(const ek_hard_swish *p, const int8_t *input, int8_t *output);
void ek_logistic_s8(const ek_logistic *p, const int8_t *input, int8_t *output);
void ek_relu_s8(const ek_relu *p, const int8_t *input, int8_t *output);
void ek_relu6_s8(const ek_relu *p, const int8_t *input, int8_t *output);
void ek_quantize_f32_s8(const ek_quantize *p, const float *input, int8_t *output);
void ek_requantize_s8(const ek_quantize *p, const int8_t *input, int8_t *output);
void ek_dequantize_s8_f32(const ek_quantize *p, const int8_t *input, float *output);

/* int16x8: int16 activations, int8 weights, int64 biases (the same parameter structs; the
 * activation ranges are int16). SOFTMAX takes TFLM's two 513-entry lookup tables, which
 * the generator computes as TFLM's Prepare does. */
#define EK_S16_LUT_SIZE 513
void ek_conv_s16(const ek_conv *p, const int32_t *multipliers, const int32_t *shifts, const int16_t *input,
                 const int8_t *filter, const int64_t *bias, int16_t *output);
void ek_depthwise_conv_s16(const ek_conv *p, const int32_t *multipliers, const int32_t *shifts,
                           const int16_t *input, const int8_t *filter, const int64_t *bias, int16_t *output);
void ek_fully_connected_s16(const ek_fc *p, const int16_t *input, const int8_t *filter, const int64_t *bias,
                            int16_t *output);
void ek_fully_connected_per_channel_s16(const ek_fc *p, const int32_t *multipliers, const int32_t *shifts,
                                        const int16_t *input, const int8_t *filter, const int64_t *bias,
                                        int16_t *output);
void ek_average_pool_s16(const ek_pool *p, const int16_t *input, int16_t *output);
void ek_max_pool_s16(const ek_pool *p, const int16_t *input, int16_t *output);
void ek_add_s16(const ek_add *p, const int16_t *input1, const int16_t *input2, int16_t *output);
void ek_mul_s16(const ek_mul *p, const int16_t *input1, const int16_t *input2, int16_t *output);
void ek_softmax_s16(const ek_softmax *p, const int16_t *exp_lut, const int16_t *one_over_one_plus_x_lut,
                    const int16_t *input, int16_t *output);
void ek_mean_s16(const ek_mean *p, const int16_t *input, int32_t *scratch, int16_t *output);
void ek_pad_s16(const ek_pad *p, const int16_t *input, int16_t *output);
void ek_concatenation_s16(const ek_concat *p, const int16_t *const *inputs, int16_t *output);
void ek_quantize_f32_s16(const ek_quantize *p, const float *input, int16_t *output);
void ek_dequantize_s16_f32(const ek_quantize *p, const int16_t *input, float *output);
void ek_requantize_s16(const ek_quantize *p, const int16_t *input, int16_t *output);
/* LOGISTIC and TANH int16 -> int16: TFLM's fixed-point sigmoid table (size, input_multiplier, input_left_shift). */
void ek_logistic_s16(const ek_logistic *p, const int16_t *input, int16_t *output);
void ek_tanh_s16(const ek_logistic *p, const int16_t *input, int16_t *output);
/* For the generator's test: TFLM's own tables (softmax_common.cc InitializeLutForInt16). */
void ek_softmax_s16_luts(int16_t *exp_lut, int16_t *one_over_one_plus_x_lut);

#ifdef __cplusplus
}
#endif

#endif /* EK_KERNELS_H_ */
