// The CUDA backend's CNN layers: one object per layer of a (channel-padded) network, run in
// order by the CNN executor (cnn_backend.cpp) over NHWC activations in the storage type. A layer
// reads its input x and writes its output y; backward reads dy and writes dx and its parameters'
// gradients (overwritten, never accumulated). Conv2D runs cuDNN's graph-API plans (forward, or
// forward fused with bias and ReLU; backward data; backward filter), with explicit padding where
// cuDNN cannot run Keras' asymmetric "same" padding; BatchNorm runs cuDNN's BatchNorm graphs or
// the path's own kernels (statistics and γ, β FP32 either way); Dense runs cuBLASLt (gemm.h);
// pooling, ReLU and dropout are own kernels (cnn_kernels.h). Every buffer and plan a layer needs
// exists before the first step: plans per batch size in prepare(), calls bound once in bind();
// forward and backward only launch work on the run's stream (capturable into a CUDA graph).
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/cuda/cnn_kernels.h"
#include "engine/cuda/cudnn_plans.h"
#include "engine/cuda/gemm.h"
#include "engine/graph/network.h"
#include "engine/graph/param_layout.h"
#include "engine/precision.h"

namespace gt::engine::cuda {

// train: dropout, batch statistics; debug: batch statistics, no dropout; eval: running
// statistics, no dropout.
enum class CnnPass { train, debug, eval };

// What every layer of one run shares.
struct CnnRun {
  Precision precision = Precision::fp32;
  DType type = DType::f32;
  int capacity = 0;  // rows of the largest pass
  cudaStream_t stream = nullptr;
  CudnnPlans* plans = nullptr;
  // Plans without the deterministic rule, for problems no deterministic engine runs (null: the
  // run does not ask for determinism, `plans` has no such rule).
  CudnnPlans* relaxed_plans = nullptr;
  GemmRunner* gemm = nullptr;
  DeviceState* state = nullptr;
  uint64_t seed = 0;
  bool cudnn_batchnorm = true;  // cuDNN's BatchNorm graphs where an engine runs them
  bool fused_conv = true;       // cuDNN's conv + bias + ReLU graph where an engine runs it
  bool fused_epilogues = true;  // cuBLASLt's bias epilogues for Dense layers
  float* reduction = nullptr;   // FP32 scratch of per-channel sums (reduction_floats)
  std::vector<std::string>* notes = nullptr;  // what was chosen, for the run's notes
};

// The parameter slabs, in the padded network's layout.
struct CnnSlabs {
  const graph::ParamLayout* layout = nullptr;
  float* master = nullptr;   // FP32 master weights and buffers (running statistics)
  char* weights = nullptr;   // what the layers read: the storage-type copy (master for FP32)
  char* grads = nullptr;     // gradients in the storage type
  float* grads32 = nullptr;  // FP32 gradients of the FP32-only slots (BatchNorm's γ and β)
  int element_bytes = 4;     // of the storage type
};

// A layer's activations and their gradients, each for `capacity` rows.
struct CnnTensors {
  void* x = nullptr;
  void* y = nullptr;
  void* dx = nullptr;
  void* dy = nullptr;
};

class CnnLayer {
 public:
  virtual ~CnnLayer() = default;
  // Builds what passes of `rows` samples need (cuDNN plans, cuBLASLt plans; the backward ones
  // when `training`); returns the largest cuDNN workspace among them.
  virtual size_t prepare(int rows, bool training) {
    (void)rows;
    (void)training;
    return 0;
  }
  // Binds every prepared cuDNN call to the shared workspace.
  virtual void bind(void* workspace, size_t bytes) {
    (void)workspace;
    (void)bytes;
  }
  virtual void forward(int rows, CnnPass pass) = 0;
  // Parameter gradients always; dx only when `need_dx`.
  virtual void backward(int rows, bool need_dx) = 0;
  // y is x (Flatten, a fused ReLU): the executor gives it its input's buffers.
  virtual bool aliases_input() const { return false; }
};

// Whether layer `index` runs inside the layer before it: a ReLU after a BatchNorm, or after a
// Conv2D with a bias (the convolution's fused bias + ReLU).
bool relu_fused_into_previous(const graph::Network& net, int index);

// Layer `index` of `net` (the padded network), bound to the slabs and its tensors.
std::unique_ptr<CnnLayer> make_cnn_layer(const graph::Network& net, int index, const CnnRun& run,
                                         const CnnSlabs& slabs, const CnnTensors& tensors);

}  // namespace gt::engine::cuda
