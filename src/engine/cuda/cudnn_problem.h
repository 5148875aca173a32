// The problems the cuDNN path solves, as plain values with no cuDNN types: 2-D convolutions
// (forward, backward data, backward filter, and forward fused with bias and ReLU) and BatchNorm
// (forward training, backward) over NHWC tensors, in one of the engine's four precisions. A
// problem is also its plan's cache key: equal problems share one execution plan, and its text
// (`plan_key`) keys the autotune file. Compute is FP32 in every precision (BatchNorm's scale,
// bias and statistics are FP32 tensors too); fp32 means true FP32, no TF32 tensor cores.
// Layouts: activations are NHWC; filters are KRSC ([filters][kh][kw][in], the OHWI layout of
// the CPU layers); a tensor's dims are always given in cuDNN's N, C, H, W order with strides in
// the same order, so the layout lives in the strides.
#pragma once
#include <array>
#include <compare>
#include <cstdint>
#include <string>

#include "engine/precision.h"

namespace gt::engine::cuda {

struct Tensor4d {
  std::array<int64_t, 4> dims{};     // N, C, H, W
  std::array<int64_t, 4> strides{};  // elements, same order

  static Tensor4d nhwc(int64_t n, int64_t c, int64_t h, int64_t w);  // channels fastest
  static Tensor4d krsc(int64_t k, int64_t c, int64_t r, int64_t s);  // filters, channels fastest
  int64_t elements() const;  // the elements its strides span (1 + Σ (dim − 1)·stride)
  auto operator<=>(const Tensor4d&) const = default;
};

// Strides and zero padding of a 2-D convolution (no dilation). The padding before and after may
// differ: the layers use "same" padding as Keras defines it (same_padding below).
struct ConvGeometry {
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  auto operator<=>(const ConvGeometry&) const = default;
};

// Keras' "same" padding: output = ceil(input / stride), the total padding
// max((output − 1)·stride + kernel − input, 0) split with the smaller half first.
ConvGeometry same_padding(int64_t h, int64_t w, int kernel, int stride);
int64_t conv_output_size(int64_t input, int kernel, int stride, int pad_before, int pad_after);

enum class ConvOp {
  forward,            // y = conv(x, w)
  backward_data,      // dx = conv_transpose(dy, w): x holds dx, y holds dy
  backward_filter,    // dw = Σ x ⊗ dy: w holds dw, y holds dy
  forward_bias_relu,  // y = relu(conv(x, w) + bias), bias one value per output channel
};

// "conv_fwd", "conv_dgrad", "conv_wgrad", "conv_fwd_bias_relu" (as in plan keys).
std::string to_string(ConvOp op);

struct ConvProblem {
  ConvOp op = ConvOp::forward;
  Precision precision = Precision::fp32;
  Tensor4d x, w, y;  // input [N, C, H, W], filter [K, C, R, S], output [N, K, P, Q]
  ConvGeometry geometry;
  // Byte alignment the data pointers are guaranteed to have (x, w, y; bias follows y): cuDNN
  // may pick vectorised kernels for larger ones. 16 suits every buffer from cudaMalloc or a
  // 256-byte-aligned slab offset of a channel count that is a multiple of 8.
  std::array<int, 3> alignment{16, 16, 16};
  auto operator<=>(const ConvProblem&) const = default;
};

// An NHWC convolution of `batch` images h × w × c with a square kernel into `filters` channels,
// KRSC filters, Keras "same" padding; checks the sizes (gt::Error on a non-positive one).
ConvProblem conv_problem(ConvOp op, Precision precision, int64_t batch, int64_t h, int64_t w,
                         int64_t c, int64_t filters, int kernel, int stride);
// The same with explicit geometry; the output size follows from it.
ConvProblem conv_problem(ConvOp op, Precision precision, int64_t batch, int64_t h, int64_t w,
                         int64_t c, int64_t filters, int kernel, const ConvGeometry& geometry);

enum class BatchNormOp {
  forward_training,  // y, saved mean and inverse std, running statistics updated
  backward,          // dx, dscale, dbias from x, dy, scale and the saved statistics
};

struct BatchNormProblem {
  BatchNormOp op = BatchNormOp::forward_training;
  Precision precision = Precision::fp32;  // of x, y, dx, dy; the per-channel tensors are FP32
  Tensor4d x;                             // NHWC
  int alignment = 16;
  auto operator<=>(const BatchNormProblem&) const = default;
};

BatchNormProblem batchnorm_problem(BatchNormOp op, Precision precision, int64_t batch, int64_t h,
                                   int64_t w, int64_t c);

// The device buffers of one call. Convolutions: the roles follow ConvOp (backward_data writes
// x, backward_filter writes w, both read dy from y). Every pointer must have the alignment its
// problem promised.
struct ConvTensors {
  void* x = nullptr;
  void* w = nullptr;
  void* y = nullptr;
  void* bias = nullptr;  // forward_bias_relu only, in the precision's storage type
};

// BatchNorm forward training (PyTorch's rule): y = scale·(x − mean)·inv_std + bias with the
// batch mean and inverse standard deviation 1/√(biased variance + epsilon), both saved for the
// backward pass; running = (1 − momentum)·running + momentum·batch statistic (unbiased variance).
// The running statistics are read from *_in and written to *_out.
struct BatchNormForwardTensors {
  const void* x = nullptr;
  void* y = nullptr;
  const float* scale = nullptr;
  const float* bias = nullptr;
  const float* running_mean_in = nullptr;
  const float* running_var_in = nullptr;
  float* running_mean_out = nullptr;
  float* running_var_out = nullptr;
  float* saved_mean = nullptr;
  float* saved_inv_std = nullptr;
  float epsilon = 1e-5f;
  float momentum = 0.1f;
};

struct BatchNormBackwardTensors {
  const void* x = nullptr;
  const void* dy = nullptr;
  const float* scale = nullptr;
  const float* saved_mean = nullptr;
  const float* saved_inv_std = nullptr;
  void* dx = nullptr;
  float* dscale = nullptr;
  float* dbias = nullptr;
};

// The plan cache's key as text, e.g.
// "conv_fwd fp16 x=8x16x32x32:16384,1,512,16 w=… y=… stride=1,1 pad=1,1,1,1 align=16,16,16";
// distinct problems give distinct keys. No tabs or newlines (the autotune file's separators).
std::string plan_key(const ConvProblem& problem);
std::string plan_key(const BatchNormProblem& problem);

// Tensor cores read channels in 16-byte groups: the channel count a tensor-core precision needs
// (a multiple of 8 for fp16/bf16, of 4 for tf32), padded with zero channels; fp32 needs none.
// The first convolution's 1 or 3 input channels are the usual case.
int channel_multiple(Precision precision);
int64_t padded_channels(int64_t channels, Precision precision);

// Bytes per element of a precision's activations (fp32 and tf32: 4, fp16 and bf16: 2).
int element_bytes(Precision precision);

// The largest power of two (up to 256) dividing the address: what a pointer can promise.
int pointer_alignment(const void* pointer);

}  // namespace gt::engine::cuda
