// Problem values of the cuDNN path (see cudnn_problem.h): shapes, padding, keys, alignment.
#include "engine/cuda/cudnn_problem.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>

#include "common/error.h"

namespace gt::engine::cuda {
namespace {

std::string text(const Tensor4d& t) {
  return fmt::format("{}x{}x{}x{}:{},{},{},{}", t.dims[0], t.dims[1], t.dims[2], t.dims[3],
                     t.strides[0], t.strides[1], t.strides[2], t.strides[3]);
}

void check_positive(int64_t value, const char* what) {
  if (value <= 0)
    throw gt::Error(fmt::format("cuDNN convolution: {} must be positive (got {})", what, value));
}

}  // namespace

Tensor4d Tensor4d::nhwc(int64_t n, int64_t c, int64_t h, int64_t w) {
  return {{n, c, h, w}, {h * w * c, 1, w * c, c}};
}

Tensor4d Tensor4d::krsc(int64_t k, int64_t c, int64_t r, int64_t s) { return nhwc(k, c, r, s); }

int64_t Tensor4d::elements() const {
  int64_t span = 1;
  for (int i = 0; i < 4; ++i) span += (dims[i] - 1) * strides[i];
  return span;
}

ConvGeometry same_padding(int64_t h, int64_t w, int kernel, int stride) {
  auto split = [&](int64_t in, int& before, int& after) {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - in, 0);
    before = static_cast<int>(total / 2);
    after = static_cast<int>(total - total / 2);
  };
  ConvGeometry g;
  g.stride_h = g.stride_w = stride;
  split(h, g.pad_top, g.pad_bottom);
  split(w, g.pad_left, g.pad_right);
  return g;
}

int64_t conv_output_size(int64_t input, int kernel, int stride, int pad_before, int pad_after) {
  return (input + pad_before + pad_after - kernel) / stride + 1;
}

ConvProblem conv_problem(ConvOp op, Precision precision, int64_t batch, int64_t h, int64_t w,
                         int64_t c, int64_t filters, int kernel, int stride) {
  check_positive(stride, "the stride");
  return conv_problem(op, precision, batch, h, w, c, filters, kernel,
                      same_padding(h, w, kernel, stride));
}

ConvProblem conv_problem(ConvOp op, Precision precision, int64_t batch, int64_t h, int64_t w,
                         int64_t c, int64_t filters, int kernel, const ConvGeometry& g) {
  check_positive(batch, "the batch");
  check_positive(h, "the height");
  check_positive(w, "the width");
  check_positive(c, "the input channels");
  check_positive(filters, "the filters");
  check_positive(kernel, "the kernel size");
  check_positive(g.stride_h, "the stride");
  check_positive(g.stride_w, "the stride");
  if (std::min({g.pad_top, g.pad_left, g.pad_bottom, g.pad_right}) < 0)
    throw gt::Error("cuDNN convolution: negative padding");
  const int64_t p = conv_output_size(h, kernel, g.stride_h, g.pad_top, g.pad_bottom);
  const int64_t q = conv_output_size(w, kernel, g.stride_w, g.pad_left, g.pad_right);
  if (p <= 0 || q <= 0)
    throw gt::Error(fmt::format("cuDNN convolution: a {}x{} kernel does not fit a {}x{} input",
                                kernel, kernel, h, w));
  ConvProblem problem;
  problem.op = op;
  problem.precision = precision;
  problem.x = Tensor4d::nhwc(batch, c, h, w);
  problem.w = Tensor4d::krsc(filters, c, kernel, kernel);
  problem.y = Tensor4d::nhwc(batch, filters, p, q);
  problem.geometry = g;
  return problem;
}

BatchNormProblem batchnorm_problem(BatchNormOp op, Precision precision, int64_t batch, int64_t h,
                                   int64_t w, int64_t c) {
  check_positive(batch, "the batch");
  check_positive(h, "the height");
  check_positive(w, "the width");
  check_positive(c, "the channels");
  return {op, precision, Tensor4d::nhwc(batch, c, h, w), 16};
}

std::string plan_key(const ConvProblem& p) {
  const ConvGeometry& g = p.geometry;
  return fmt::format("{} {} x={} w={} y={} stride={},{} pad={},{},{},{} align={},{},{}",
                     to_string(p.op), to_string(p.precision), text(p.x), text(p.w), text(p.y),
                     g.stride_h, g.stride_w, g.pad_top, g.pad_left, g.pad_bottom, g.pad_right,
                     p.alignment[0], p.alignment[1], p.alignment[2]);
}

std::string plan_key(const BatchNormProblem& p) {
  return fmt::format("{} {} x={} align={}",
                     p.op == BatchNormOp::forward_training ? "bn_fwd_train" : "bn_bwd",
                     to_string(p.precision), text(p.x), p.alignment);
}

std::string to_string(ConvOp op) {
  switch (op) {
    case ConvOp::forward:
      return "conv_fwd";
    case ConvOp::backward_data:
      return "conv_dgrad";
    case ConvOp::backward_filter:
      return "conv_wgrad";
    case ConvOp::forward_bias_relu:
      return "conv_fwd_bias_relu";
  }
  return "conv";
}

int channel_multiple(Precision precision) {
  return precision == Precision::fp32 ? 1 : 16 / element_bytes(precision);
}

int64_t padded_channels(int64_t channels, Precision precision) {
  const int64_t m = channel_multiple(precision);
  return (channels + m - 1) / m * m;
}

int element_bytes(Precision precision) {
  return precision == Precision::fp16 || precision == Precision::bf16 ? 2 : 4;
}

int pointer_alignment(const void* pointer) {
  const auto address = reinterpret_cast<uintptr_t>(pointer);
  int alignment = 1;
  while (alignment < 256 && address % (2 * alignment) == 0) alignment *= 2;
  return alignment;
}

}  // namespace gt::engine::cuda
