// edgekit standalone C: the portable kernel shim. Each function builds the TFLM parameter
// struct from the precomputed C struct and calls the reference kernel TFLM's Eval calls.
#include "ek_kernels.h"

#include "tensorflow/lite/kernels/internal/reference/integer_ops/add.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/conv.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/depthwise_conv.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h"
#include "tensorflow/lite/kernels/internal/reference/process_broadcast_shapes.h"
#include "tensorflow/lite/kernels/internal/reference/softmax.h"

namespace {

tflite::RuntimeShape Shape(const ek_shape& s) { return tflite::RuntimeShape(s.count, s.dims); }

tflite::ConvParams ConvParams(const ek_conv& p) {
  tflite::ConvParams op = {};
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

}  // namespace

extern "C" {

void ek_conv_s8(const ek_conv* p, const int32_t* multipliers, const int32_t* shifts, const int8_t* input,
                const int8_t* filter, const int32_t* bias, int8_t* output) {
  tflite::reference_integer_ops::ConvPerChannel(ConvParams(*p), multipliers, shifts, Shape(p->input), input,
                                                Shape(p->filter), filter, Shape(p->bias), bias,
                                                Shape(p->output), output);
}

void ek_depthwise_conv_s8(const ek_conv* p, const int32_t* multipliers, const int32_t* shifts,
                          const int8_t* input, const int8_t* filter, const int32_t* bias, int8_t* output) {
  tflite::DepthwiseParams op = {};
  op.input_offset = p->input_offset;
  op.weights_offset = 0;
  op.output_offset = p->output_offset;
  op.padding_type = tflite::PaddingType::kNone;
  op.padding_values.width = static_cast<int16_t>(p->pad_w);
  op.padding_values.height = static_cast<int16_t>(p->pad_h);
  op.stride_width = static_cast<int16_t>(p->stride_w);
  op.stride_height = static_cast<int16_t>(p->stride_h);
  op.dilation_width_factor = static_cast<int16_t>(p->dilation_w);
  op.dilation_height_factor = static_cast<int16_t>(p->dilation_h);
  op.depth_multiplier = static_cast<int16_t>(p->depth_multiplier);
  op.quantized_activation_min = p->act_min;
  op.quantized_activation_max = p->act_max;
  tflite::reference_integer_ops::DepthwiseConvPerChannel(op, multipliers, shifts, Shape(p->input), input,
                                                         Shape(p->filter), filter, Shape(p->bias), bias,
                                                         Shape(p->output), output);
}

void ek_fully_connected_s8(const ek_fc* p, const int8_t* input, const int8_t* filter, const int32_t* bias,
                           int8_t* output) {
  tflite::reference_integer_ops::FullyConnected(FcParams(*p), Shape(p->input), input, Shape(p->filter), filter,
                                                Shape(p->bias), bias, Shape(p->output), output);
}

void ek_fully_connected_per_channel_s8(const ek_fc* p, const int32_t* multipliers, const int32_t* shifts,
                                       const int8_t* input, const int8_t* filter, const int32_t* bias,
                                       int8_t* output) {
  tflite::reference_integer_ops::FullyConnectedPerChannel(FcParams(*p), multipliers, shifts, Shape(p->input),
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
  tflite::ArithmeticParams op = {};
  op.left_shift = p->left_shift;
  op.input1_offset = p->input1_offset;
  op.input1_multiplier = p->input1_multiplier;
  op.input1_shift = p->input1_shift;
  op.input2_offset = p->input2_offset;
  op.input2_multiplier = p->input2_multiplier;
  op.input2_shift = p->input2_shift;
  op.output_offset = p->output_offset;
  op.output_multiplier = p->output_multiplier;
  op.output_shift = p->output_shift;
  tflite::SetActivationParams(p->act_min, p->act_max, &op);
  // As TFLM's EvalAddQuantized: the broadcast path when the shapes differ.
  const tflite::RuntimeShape s1 = Shape(p->input1), s2 = Shape(p->input2), so = Shape(p->output);
  if (tflite::reference_ops::ProcessBroadcastShapes(s1, s2, &op)) {
    tflite::reference_integer_ops::BroadcastAdd4DSlow(op, s1, input1, s2, input2, so, output);
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

}  // extern "C"
