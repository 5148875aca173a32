// Host-side launchers of the CNN path's own kernels (convolutions are cuDNN, Dense layers
// cuBLASLt): everything between them, over NHWC activations in the storage type (DType), with
// statistics and per-channel parameters in FP32.
//   image gather  : resident (or staged) uint8/FP32 images → the normalised, channel-padded batch,
//                   shuffled and optionally flipped on the GPU
//   BatchNorm     : batch statistics, normalisation (+ a fused ReLU), and its backward pass, as
//                   per-channel sums (shifted, FP32 partial sums added in double), when cuDNN has
//                   no BatchNorm engine or the run asks for these; evaluation with the running
//                   statistics always
//   pooling       : max pooling (gradient to the first maximum of each window) and global
//                   average pooling, both ways
//   element-wise  : ReLU, inverted dropout (masks from a hash of the seed, the step and the
//                   index, so backward recomputes them), explicit zero padding and cropping (the
//                   fallback for convolutions whose asymmetric padding cuDNN cannot run), the
//                   per-channel sum of a gradient (a convolution's bias gradient)
// Every launcher checks its launch.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/cuda/kernels.h"

namespace gt::engine::cuda {

// Where a batch of images comes from. Positions of the epoch's order: with `counter`, the batch
// starts at counter->step_in_epoch · stride_rows (shuffled with the epoch's Feistel keys when
// `shuffle`), else at fixed_offset; positions past the source's rows read its last row (an
// evaluation chunk padded to its planned size). `staged`: the batch's rows already lie in order
// at the start of u8/labels (the host gathered them), only the flip follows the position.
struct ImageSource {
  const uint8_t* u8 = nullptr;  // exactly one of u8 / f32: samples of height × width × channels
  const float* f32 = nullptr;
  const int32_t* labels = nullptr;
  int64_t rows = 0;
  int height = 1, width = 1, channels = 1;
  int padded_channels = 1;        // of the batch written (the extra channels are zero)
  float scale = 1.0f;             // u8 values: (u8 · scale − mean[c]) / stddev[c]
  const float* mean = nullptr;    // device, per channel; null: no normalisation
  const float* stddev = nullptr;  // device, per channel
  const EpochCounters* counter = nullptr;
  int64_t stride_rows = 0;
  bool shuffle = false;
  bool staged = false;
  int64_t fixed_offset = 0;
  bool flip = false;  // random horizontal flip: per position, from the epoch's keys and flip_seed
  uint32_t flip_seed = 0;
};

void launch_image_gather(const ImageSource& src, int rows, DType type, void* x, int32_t* labels_out,
                         cudaStream_t stream);

// ---- per-channel sums over NHWC tensors of `pixels` positions × `channels` -------------------

// Row chunks of a per-channel sum over `pixels` positions, and the FP32 scratch floats it needs
// (2 per chunk and channel).
int reduction_chunks(int64_t pixels, int channels);
int64_t reduction_floats(int64_t pixels, int channels);

struct BatchNormArgs {
  int64_t pixels = 0;  // batch × height × width
  int channels = 0;
  float eps = 1e-5f, momentum = 0.1f;
  const float* gamma = nullptr;  // FP32 parameters (the master weights)
  const float* beta = nullptr;
  float* running_mean = nullptr;  // FP32 buffers, moved by training passes that update them
  float* running_var = nullptr;
  // Per-channel FP32 scratch of the layer: the batch mean and 1/√(σ² + ε) (saved for backward),
  // the affine form of the forward pass (y = x·scale + shift), and backward's three factors.
  float* mean = nullptr;
  float* inv_std = nullptr;
  float* scale = nullptr;
  float* shift = nullptr;
  float* dx_scale = nullptr;    // γ/√(σ² + ε)
  float* dbeta_m = nullptr;     // Σ dy / M
  float* dgamma_m = nullptr;    // Σ dy·x̂ / M
  float* grad_gamma = nullptr;  // FP32 gradients
  float* grad_beta = nullptr;
  float* partial = nullptr;  // reduction_floats(pixels, channels) of scratch
  bool relu = false;         // a ReLU after it runs inside it
};

// Training: batch statistics, running statistics moved when `update_statistics`, y written.
void launch_batchnorm_forward_train(DType type, const BatchNormArgs& a, const void* x, void* y,
                                    bool update_statistics, cudaStream_t stream);
// Evaluation: the running statistics.
void launch_batchnorm_forward_eval(DType type, const BatchNormArgs& a, const void* x, void* y,
                                   cudaStream_t stream);
// dγ, dβ (FP32) and, when dx is set, dx; dy is the gradient of y (of the ReLU's output when one
// is fused: y then gives its mask).
void launch_batchnorm_backward(DType type, const BatchNormArgs& a, const void* x, const void* y,
                               const void* dy, void* dx, cudaStream_t stream);

// out[c] = Σ over positions of dy[p][c], stored in the storage type (a bias gradient).
void launch_channel_sum(DType type, const void* dy, int64_t pixels, int channels, float* partial,
                        void* out, cudaStream_t stream);

// ---- pooling ---------------------------------------------------------------------------------

struct PoolShape {
  int batch = 0, height = 0, width = 0, channels = 0;  // input
  int out_height = 0, out_width = 0;
  int pool = 2, stride = 2;
};
void launch_max_pool_forward(DType type, const PoolShape& s, const void* x, void* y,
                             cudaStream_t stream);
// dx (every position written) from x and dy: each window's gradient goes to its first maximum.
void launch_max_pool_backward(DType type, const PoolShape& s, const void* x, const void* dy,
                              void* dx, cudaStream_t stream);
void launch_global_avg_pool_forward(DType type, int batch, int64_t positions, int channels,
                                    const void* x, void* y, cudaStream_t stream);
void launch_global_avg_pool_backward(DType type, int batch, int64_t positions, int channels,
                                     const void* dy, void* dx, cudaStream_t stream);

// ---- element-wise ------------------------------------------------------------------------------

void launch_relu(DType type, const void* x, void* y, int64_t n, cudaStream_t stream);
// dy = y > 0 ? dy : 0 in place: the gradient through a ReLU whose output is y.
void launch_relu_backward(DType type, void* dy, const void* y, int64_t n, cudaStream_t stream);
// y = x·1/(1 − rate) where the unit is kept, 0 where dropped; the mask is a hash of (seed,
// state->global_step, salt, index), the same in forward and backward (x = dy, y = dx).
void launch_dropout(DType type, const void* x, void* y, int64_t n, float rate, uint64_t seed,
                    int salt, const DeviceState* state, cudaStream_t stream);

struct PadShape {
  int batch = 0, height = 0, width = 0, channels = 0;  // the unpadded tensor
  int top = 0, left = 0, bottom = 0, right = 0;
};
// The interior of the padded tensor from x (its border is never written: zero it once).
void launch_pad(DType type, const PadShape& s, const void* x, void* padded, cudaStream_t stream);
// x from the interior of the padded tensor.
void launch_crop(DType type, const PadShape& s, const void* padded, void* x, cudaStream_t stream);

}  // namespace gt::engine::cuda
