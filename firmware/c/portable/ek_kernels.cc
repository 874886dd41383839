// edgekit standalone C: the portable kernel shim. Each function builds the TFLM parameter
// struct from the precomputed C struct and calls the reference kernel TFLM's Eval calls.
#include "ek_kernels.h"

#include "tensorflow/lite/kernels/internal/reference/add.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/add.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/conv.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/depthwise_conv.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h"
#include "tensorflow/lite/kernels/internal/reference/concatenation.h"
#include "tensorflow/lite/kernels/internal/reference/dequantize.h"
#include "tensorflow/lite/kernels/internal/reference/hard_swish.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/logistic.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/mul.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/tanh.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h"
#include "tensorflow/lite/kernels/internal/reference/pad.h"
#include "tensorflow/lite/kernels/internal/reference/quantize.h"
#include "tensorflow/lite/kernels/internal/reference/reduce.h"
#include "tensorflow/lite/kernels/internal/reference/requantize.h"
#include "tensorflow/lite/kernels/internal/reference/transpose.h"
#include "tensorflow/lite/kernels/internal/reference/process_broadcast_shapes.h"
#include "tensorflow/lite/kernels/internal/reference/softmax.h"
// ReluQuantized / Relu6Quantized: header templates of TFLM's own activation kernels (the int8
// ReLU is not in kernels/internal/reference/).
#include "tensorflow/lite/micro/kernels/activations.h"

namespace {

tflite::RuntimeShape Shape(const ek_shape& s) { return tflite::RuntimeShape(s.count, s.dims); }

// ConvParams and DepthwiseParams: the same fields (TFLM's two structs), filled alike.
template <typename Params>
Params ConvLikeParams(const ek_conv& p) {
  Params op = {};
  op.input_offset = p.input_offset;
  op.weights_offset = 0;
  op.output_offset = p.output_offset;
  op.padding_type = tflite::PaddingType::kNone;  // the kernels read padding_values only
  op.padding_values.width = static_cast<int16_t>(p.pad_w);
  op.padding_values.height = static_cast<int16_t>(p.pad_h);
  op.stride_width = static_cast<int16_t>(p.stride_w);
  op.stride_height = static_cast<int16_t>(p.stride_h);
  op.dilation_width_factor = static_cast<int16_t>(p.dilation_w);
  op.dilation_height_factor = static_cast<int16_t>(p.dilation_h);
  op.quantized_activation_min = p.act_min;
  op.quantized_activation_max = p.act_max;
  return op;
}

tflite::ConvParams ConvParams(const ek_conv& p) { return ConvLikeParams<tflite::ConvParams>(p); }

tflite::DepthwiseParams DepthwiseParams(const ek_conv& p) {
  tflite::DepthwiseParams op = ConvLikeParams<tflite::DepthwiseParams>(p);
  op.depth_multiplier = static_cast<int16_t>(p.depth_multiplier);
  return op;
}

tflite::FullyConnectedParams FcParams(const ek_fc& p) {
  tflite::FullyConnectedParams op = {};
  op.input_offset = p.input_offset;
  op.weights_offset = p.weights_offset;
  op.output_offset = p.output_offset;
  op.output_multiplier = p.output_multiplier;
  op.output_shift = p.output_shift;
  op.quantized_activation_min = p.act_min;
  op.quantized_activation_max = p.act_max;
  return op;
}

tflite::PoolParams PoolParams(const ek_pool& p) {
  tflite::PoolParams op = {};
  op.stride_width = p.stride_w;
  op.stride_height = p.stride_h;
  op.filter_width = p.filter_w;
  op.filter_height = p.filter_h;
  op.padding_values.width = static_cast<int16_t>(p.pad_w);
  op.padding_values.height = static_cast<int16_t>(p.pad_h);
  op.quantized_activation_min = p.act_min;
  op.quantized_activation_max = p.act_max;
  return op;
}

// MUL (and int16 ADD) as TFLM's Eval runs them: the broadcast kernel when the shapes differ
// (int8 ADD: ek_add_s8).
template <typename T, typename Broadcast, typename Elementwise>
void Binary(tflite::ArithmeticParams* op, const ek_shape& a, const T* x, const ek_shape& b, const T* y,
            const ek_shape& o, T* out, Broadcast broadcast, Elementwise elementwise) {
  const tflite::RuntimeShape s1 = Shape(a), s2 = Shape(b), so = Shape(o);
  if (tflite::reference_ops::ProcessBroadcastShapes(s1, s2, op)) {
    broadcast(*op, s1, x, s2, y, so, out);
  } else {
    elementwise(*op, s1, x, s2, y, so, out);
  }
}

// ADD's broadcast kernel out of line: inlined into ek_add_s8 with Add, its index arrays took
// the stack of every ADD (ResNet-8: +200 B of stack high-water mark).
__attribute__((noinline)) void AddBroadcast(const tflite::ArithmeticParams& op, const tflite::RuntimeShape& s1,
                                            const int8_t* x, const tflite::RuntimeShape& s2, const int8_t* y,
                                            const tflite::RuntimeShape& so, int8_t* out) {
  tflite::reference_integer_ops::BroadcastAdd4DSlow(op, s1, x, s2, y, so, out);
}

tflite::ArithmeticParams AddParams(const ek_add& p) {
  tflite::ArithmeticParams op = {};
  op.left_shift = p.left_shift;
  op.input1_offset = p.input1_offset;
  op.input1_multiplier = p.input1_multiplier;
  op.input1_shift = p.input1_shift;
  op.input2_offset = p.input2_offset;
  op.input2_multiplier = p.input2_multiplier;
  op.input2_shift = p.input2_shift;
  op.output_offset = p.output_offset;
  op.output_multiplier = p.output_multiplier;
  op.output_shift = p.output_shift;
  tflite::SetActivationParams(p.act_min, p.act_max, &op);
  return op;
}

tflite::ArithmeticParams MulParams(const ek_mul& p) {
  tflite::ArithmeticParams op = {};
  tflite::SetActivationParams(p.act_min, p.act_max, &op);  // as ADD (and TFLM's EvalMulQuantizedReference)
  op.input1_offset = p.input1_offset;
  op.input2_offset = p.input2_offset;
  op.output_offset = p.output_offset;
  op.output_multiplier = p.output_multiplier;
  op.output_shift = p.output_shift;
  return op;
}

// The kernels below are templates over the activation type: the int8 and int16 entry points
// run the same TFLM call with their types.
template <typename T>
void Mean(const ek_mean& p, const T* input, int32_t* scratch, T* output) {
  // TFLM's scratch buffers: the accumulators come from the arena, the index arrays are tiny.
  int temp_index[EK_MAX_DIMS], resolved_axis[EK_MAX_DIMS], axis[EK_MAX_DIMS];
  int in_dims[EK_MAX_DIMS], out_dims[EK_MAX_DIMS];
  for (int i = 0; i < EK_MAX_DIMS; ++i) {
    axis[i] = p.axis[i];
    in_dims[i] = p.input.dims[i];
    out_dims[i] = p.output.dims[i];
  }
  tflite::reference_ops::QuantizedMeanOrSumExtraArgs<T, int32_t>(
      input, p.input_zero_point, 0.0f, in_dims, p.input.count, output, 0.0f, p.multiplier, p.shift,
      p.output_zero_point, out_dims, p.output.count, axis, p.num_axis, p.keep_dims != 0, temp_index,
      resolved_axis, scratch, false);
}

template <typename T>
void Pad(const ek_pad& p, const T* input, T* output) {
  tflite::PadParams op = {};
  op.left_padding_count = static_cast<int8_t>(p.count);
  op.right_padding_count = static_cast<int8_t>(p.count);
  for (int i = 0; i < 5; ++i) {
    op.left_padding[i] = p.left[i];
    op.right_padding[i] = p.right[i];
  }
  const T value = static_cast<T>(p.value);
  if (p.image_style) {  // int8 only (the generator sets it so: pad.cc has no int16 image-style path)
    op.resizing_category = tflite::ResizingCategory::kImageStyle;
    tflite::reference_ops::PadImageStyle(op, Shape(p.input), input, &value, Shape(p.output), output);
  } else {
    op.resizing_category = tflite::ResizingCategory::kGenericResize;
    tflite::reference_ops::Pad(op, Shape(p.input), input, &value, Shape(p.output), output);
  }
}

template <typename T>
void Concatenation(const ek_concat& p, const T* const* inputs, T* output) {
  tflite::RuntimeShape shapes[EK_MAX_CONCAT];
  const tflite::RuntimeShape* shape_ptrs[EK_MAX_CONCAT];
  for (int i = 0; i < p.count; ++i) {
    shapes[i].ReplaceWith(p.inputs[i].count, p.inputs[i].dims);
    shape_ptrs[i] = &shapes[i];
  }
  tflite::ConcatenationParams op = {};
  op.axis = p.axis;
  op.inputs_count = p.count;
  tflite::reference_ops::Concatenation(op, shape_ptrs, inputs, Shape(p.output), output);
}

template <typename T>
void Quantize(const ek_quantize& p, const float* input, T* output) {
  tflite::QuantizationParams op = {};
  op.zero_point = p.output_zero_point;
  op.scale = static_cast<double>(p.scale);
  tflite::reference_ops::AffineQuantize(op, Shape(p.input), input, Shape(p.output), output);
}

template <typename T>
void Dequantize(const ek_quantize& p, const T* input, float* output) {
  tflite::DequantizationParams op = {};
  op.zero_point = p.input_zero_point;
  op.scale = static_cast<double>(p.scale);
  tflite::reference_ops::Dequantize(op, Shape(p.input), input, Shape(p.output), output);
}

template <typename T>
void Requantize(const ek_quantize& p, const T* input, T* output) {
  tflite::reference_ops::Requantize(input, Shape(p.input).FlatSize(), p.multiplier, p.shift, p.input_zero_point,
                                    p.output_zero_point, output);
}

}  // namespace

// GCC keeps a kernel called from one place out of line (and passes its parameters in registers,
// as in TFLM's build, where Eval calls it from several): FULLY_CONNECTED's loop spilled inlined.
#if defined(__GNUC__) && !defined(__clang__)
#define EK_KERNEL_OUT_OF_LINE __attribute__((optimize("no-inline-functions-called-once")))
#else
#define EK_KERNEL_OUT_OF_LINE
#endif

extern "C" {

void ek_conv_s8(const ek_conv* p, const int32_t* multipliers, const int32_t* shifts, const int8_t* input,
                const int8_t* filter, const int32_t* bias, int8_t* output) {
  tflite::reference_integer_ops::ConvPerChannel(ConvParams(*p), multipliers, shifts, Shape(p->input), input,
                                                Shape(p->filter), filter, Shape(p->bias), bias,
                                                Shape(p->output), output);
}

void ek_depthwise_conv_s8(const ek_conv* p, const int32_t* multipliers, const int32_t* shifts,
                          const int8_t* input, const int8_t* filter, const int32_t* bias, int8_t* output) {
  tflite::reference_integer_ops::DepthwiseConvPerChannel(DepthwiseParams(*p), multipliers, shifts, Shape(p->input), input,
                                                         Shape(p->filter), filter, Shape(p->bias), bias,
                                                         Shape(p->output), output);
}

EK_KERNEL_OUT_OF_LINE void ek_fully_connected_s8(const ek_fc* p, const int8_t* input, const int8_t* filter, const int32_t* bias,
                           int8_t* output) {
  tflite::reference_integer_ops::FullyConnected(FcParams(*p), Shape(p->input), input, Shape(p->filter), filter,
                                                Shape(p->bias), bias, Shape(p->output), output);
}

EK_KERNEL_OUT_OF_LINE void ek_fully_connected_per_channel_s8(const ek_fc* p, const int32_t* multipliers, const int32_t* shifts,
                                       const int8_t* input, const int8_t* filter, const int32_t* bias,
                                       int8_t* output) {
  // TFLM takes the shifts as int*; on arm-none-eabi int32_t is long (same size, another type).
  static_assert(sizeof(int) == sizeof(int32_t), "int is 32 bits");
  tflite::reference_integer_ops::FullyConnectedPerChannel(FcParams(*p), multipliers,
                                                          reinterpret_cast<const int*>(shifts), Shape(p->input),
                                                          input, Shape(p->filter), filter, Shape(p->bias), bias,
                                                          Shape(p->output), output);
}

void ek_average_pool_s8(const ek_pool* p, const int8_t* input, int8_t* output) {
  tflite::reference_integer_ops::AveragePool(PoolParams(*p), Shape(p->input), input, Shape(p->output), output);
}

void ek_max_pool_s8(const ek_pool* p, const int8_t* input, int8_t* output) {
  tflite::reference_integer_ops::MaxPool(PoolParams(*p), Shape(p->input), input, Shape(p->output), output);
}

void ek_add_s8(const ek_add* p, const int8_t* input1, const int8_t* input2, int8_t* output) {
  tflite::ArithmeticParams op = AddParams(*p);
  // Called directly, as TFLM's EvalAddQuantized does, so GCC inlines Add here as there. Through
  // Binary's function pointers Add stayed a function of its own, AddFunc inlined into its loop:
  // 2 instructions more per element (measured, ResNet-8's ADDs; docs/c.md).
  const tflite::RuntimeShape s1 = Shape(p->input1), s2 = Shape(p->input2), so = Shape(p->output);
  if (tflite::reference_ops::ProcessBroadcastShapes(s1, s2, &op)) {
    AddBroadcast(op, s1, input1, s2, input2, so, output);
  } else {
    tflite::reference_integer_ops::Add(op, s1, input1, s2, input2, so, output);
  }
}

void ek_softmax_s8(const ek_softmax* p, const int8_t* input, int8_t* output) {
  tflite::SoftmaxParams op = {};
  op.input_multiplier = p->input_multiplier;
  op.input_left_shift = p->input_left_shift;
  op.diff_min = p->diff_min;
  tflite::reference_ops::Softmax(op, Shape(p->input), input, Shape(p->output), output);
}

void ek_mul_s8(const ek_mul* p, const int8_t* input1, const int8_t* input2, int8_t* output) {
  tflite::ArithmeticParams op = MulParams(*p);
  Binary(&op, p->input1, input1, p->input2, input2, p->output, output,
         tflite::reference_integer_ops::BroadcastMul4DSlow<int8_t>, tflite::reference_integer_ops::Mul<int8_t>);
}

void ek_mean_s8(const ek_mean* p, const int8_t* input, int32_t* scratch, int8_t* output) {
  Mean(*p, input, scratch, output);
}

void ek_pad_s8(const ek_pad* p, const int8_t* input, int8_t* output) {
  Pad(*p, input, output);
}

void ek_concatenation_s8(const ek_concat* p, const int8_t* const* inputs, int8_t* output) {
  Concatenation(*p, inputs, output);
}

void ek_transpose_s8(const ek_transpose* p, const int8_t* input, int8_t* output) {
  tflite::TransposeParams op = {};
  op.perm_count = static_cast<int8_t>(p->perm_count);
  for (int i = 0; i < p->perm_count; ++i) op.perm[i] = p->perm[i];
  tflite::reference_ops::Transpose(op, Shape(p->input), input, Shape(p->output), output);
}

void ek_hard_swish_s8(const ek_hard_swish* p, const int8_t* input, int8_t* output) {
  tflite::HardSwishParams op = {};
  op.input_zero_point = static_cast<int16_t>(p->input_zero_point);
  op.output_zero_point = static_cast<int16_t>(p->output_zero_point);
  op.reluish_multiplier_fixedpoint_int16 = static_cast<int16_t>(p->reluish_multiplier);
  op.reluish_multiplier_exponent = p->reluish_exponent;
  op.output_multiplier_fixedpoint_int16 = static_cast<int16_t>(p->output_multiplier);
  op.output_multiplier_exponent = p->output_exponent;
  tflite::reference_ops::HardSwish<int8_t>(op, Shape(p->input), input, Shape(p->output), output);
}

void ek_logistic_s8(const ek_logistic* p, const int8_t* input, int8_t* output) {
  tflite::reference_integer_ops::Logistic(p->input_zero_point, p->input_range_radius, p->input_multiplier,
                                          p->input_left_shift, p->size, input, output);
}

void ek_relu_s8(const ek_relu* p, const int8_t* input, int8_t* output) {
  tflite::ReluOpData op = {};
  op.params.input_offset = p->input_offset;
  op.params.output_offset = p->output_offset;
  op.params.output_multiplier = p->output_multiplier;
  op.params.output_shift = p->output_shift;
  op.params.quantized_activation_min = p->act_min;
  op.params.quantized_activation_max = p->act_max;
  tflite::ReluQuantized<int8_t>(op, Shape(p->input), Shape(p->output), input, output);
}

void ek_relu6_s8(const ek_relu* p, const int8_t* input, int8_t* output) {
  tflite::Relu6Quantized<int8_t>(static_cast<int8_t>(p->act_min), static_cast<int8_t>(p->act_max), Shape(p->input),
                                 input, Shape(p->output), output);
}

void ek_quantize_f32_s8(const ek_quantize* p, const float* input, int8_t* output) {
  Quantize(*p, input, output);
}

void ek_requantize_s8(const ek_quantize* p, const int8_t* input, int8_t* output) {
  Requantize(*p, input, output);
}

void ek_dequantize_s8_f32(const ek_quantize* p, const int8_t* input, float* output) {
  Dequantize(*p, input, output);
}

// int16x8: the int16 paths of the same TFLM Evals (conv.cc, depthwise_conv.cc, fully_connected.cc
// with an int64 bias; pooling.cc; add.cc: reference_ops::Add, general scaling; mul_common.cc;
// softmax.cc: SoftmaxInt16; reduce_common.cc; pad.cc; concatenation.cc; quantize, dequantize).

void ek_conv_s16(const ek_conv* p, const int32_t* multipliers, const int32_t* shifts, const int16_t* input,
                 const int8_t* filter, const int64_t* bias, int16_t* output) {
  tflite::reference_integer_ops::ConvPerChannel<std::int64_t>(
      ConvParams(*p), multipliers, shifts, Shape(p->input), input, Shape(p->filter), filter, Shape(p->bias),
      reinterpret_cast<const std::int64_t*>(bias), Shape(p->output), output);
}

void ek_depthwise_conv_s16(const ek_conv* p, const int32_t* multipliers, const int32_t* shifts,
                           const int16_t* input, const int8_t* filter, const int64_t* bias, int16_t* output) {
  tflite::reference_integer_ops::DepthwiseConvPerChannel(DepthwiseParams(*p), multipliers, shifts, Shape(p->input), input,
                                                         Shape(p->filter), filter, Shape(p->bias),
                                                         reinterpret_cast<const std::int64_t*>(bias),
                                                         Shape(p->output), output);
}

EK_KERNEL_OUT_OF_LINE void ek_fully_connected_s16(const ek_fc* p, const int16_t* input, const int8_t* filter,
                                                  const int64_t* bias, int16_t* output) {
  tflite::reference_integer_ops::FullyConnected(FcParams(*p), Shape(p->input), input, Shape(p->filter), filter,
                                                Shape(p->bias), reinterpret_cast<const std::int64_t*>(bias),
                                                Shape(p->output), output);
}

EK_KERNEL_OUT_OF_LINE void ek_fully_connected_per_channel_s16(const ek_fc* p, const int32_t* multipliers,
                                                              const int32_t* shifts, const int16_t* input,
                                                              const int8_t* filter, const int64_t* bias,
                                                              int16_t* output) {
  tflite::reference_integer_ops::FullyConnectedPerChannel(
      FcParams(*p), multipliers, reinterpret_cast<const int*>(shifts), Shape(p->input), input, Shape(p->filter),
      filter, Shape(p->bias), reinterpret_cast<const std::int64_t*>(bias), Shape(p->output), output);
}

void ek_average_pool_s16(const ek_pool* p, const int16_t* input, int16_t* output) {
  tflite::reference_integer_ops::AveragePool(PoolParams(*p), Shape(p->input), input, Shape(p->output), output);
}

void ek_max_pool_s16(const ek_pool* p, const int16_t* input, int16_t* output) {
  tflite::reference_integer_ops::MaxPool(PoolParams(*p), Shape(p->input), input, Shape(p->output), output);
}

void ek_add_s16(const ek_add* p, const int16_t* input1, const int16_t* input2, int16_t* output) {
  tflite::ArithmeticParams op = AddParams(*p);
  Binary(&op, p->input1, input1, p->input2, input2, p->output, output, tflite::reference_ops::BroadcastAdd4DSlow<int16_t>,
         [](const tflite::ArithmeticParams& q, const tflite::RuntimeShape& s1, const int16_t* a,
            const tflite::RuntimeShape& s2, const int16_t* b, const tflite::RuntimeShape& so, int16_t* out) {
           tflite::reference_ops::Add(q, s1, a, s2, b, so, out, false);  // add.cc: general scaling, not pot
         });
}

void ek_mul_s16(const ek_mul* p, const int16_t* input1, const int16_t* input2, int16_t* output) {
  tflite::ArithmeticParams op = MulParams(*p);
  Binary(&op, p->input1, input1, p->input2, input2, p->output, output,
         tflite::reference_integer_ops::BroadcastMul4DSlow<int16_t>, tflite::reference_integer_ops::Mul<int16_t>);
}

void ek_softmax_s16(const ek_softmax* p, const int16_t* exp_lut, const int16_t* one_over_one_plus_x_lut,
                    const int16_t* input, int16_t* output) {
  tflite::SoftmaxParams op = {};
  op.input_multiplier = p->input_multiplier;
  op.input_left_shift = p->input_left_shift;
  op.diff_min = p->diff_min;
  op.zero_point = 0;  // TFLM requires it of an int16 output
  // TFLM's SoftmaxParams takes mutable pointers; SoftmaxInt16 only reads them.
  op.exp_lut = const_cast<int16_t*>(exp_lut);
  op.one_over_one_plus_x_lut = const_cast<int16_t*>(one_over_one_plus_x_lut);
  tflite::reference_ops::SoftmaxInt16(op, Shape(p->input), input, Shape(p->output), output);
}

void ek_softmax_s16_luts(int16_t* exp_lut, int16_t* one_over_one_plus_x_lut) {
  const int32_t range = std::numeric_limits<int16_t>::max() - std::numeric_limits<int16_t>::min();
  tflite::LUTPopulate<int16_t>(10.0f / range, std::numeric_limits<int16_t>::max(), 2.0f / range, 0,
                               [](float value) { return std::exp(value); }, exp_lut);
  tflite::LUTPopulate<int16_t>(1.0f / range, std::numeric_limits<int16_t>::min(), 2.0f / range, 0,
                               [](float value) { return 1.0f / (1.0f + value); }, one_over_one_plus_x_lut);
}

void ek_mean_s16(const ek_mean* p, const int16_t* input, int32_t* scratch, int16_t* output) {
  Mean(*p, input, scratch, output);
}

void ek_pad_s16(const ek_pad* p, const int16_t* input, int16_t* output) {
  Pad(*p, input, output);  // pad.cc: reference_ops::Pad for int16 (image_style is 0)
}

void ek_concatenation_s16(const ek_concat* p, const int16_t* const* inputs, int16_t* output) {
  Concatenation(*p, inputs, output);
}

void ek_quantize_f32_s16(const ek_quantize* p, const float* input, int16_t* output) {
  Quantize(*p, input, output);
}

void ek_dequantize_s16_f32(const ek_quantize* p, const int16_t* input, float* output) {
  Dequantize(*p, input, output);
}

void ek_requantize_s16(const ek_quantize* p, const int16_t* input, int16_t* output) {
  Requantize(*p, input, output);
}

void ek_logistic_s16(const ek_logistic* p, const int16_t* input, int16_t* output) {
  tflite::reference_integer_ops::Logistic(p->input_multiplier, p->input_left_shift, p->size, input, output);
}

void ek_tanh_s16(const ek_logistic* p, const int16_t* input, int16_t* output) {
  const int32_t size = p->size;  // the kernel reads the flat size only
  const tflite::RuntimeShape flat(1, &size);
  tflite::reference_integer_ops::Tanh(p->input_multiplier, p->input_left_shift, flat, input, flat, output);
}

}  // extern "C"
