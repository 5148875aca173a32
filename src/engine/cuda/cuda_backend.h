// The CUDA backend's own entry point, for callers that want to switch its speed features off:
// the invariance tests (CUDA graph ≡ eager launches, fused cuBLASLt epilogues ≡ unfused kernels,
// cuDNN's BatchNorm ≡ own kernels, resident ≡ streamed data) and benchmarks.
// make_cuda_backend(device) in engine/backend.h is this with the defaults. Without CUDA in the
// build it throws gt::Error like make_cuda_backend(device).
#pragma once
#include <memory>
#include <string>

#include "engine/backend.h"

namespace gt::engine {

struct CudaOptions {
  bool graphs = true;           // capture the epoch's steps as CUDA graphs (else eager launches)
  bool fused_epilogues = true;  // bias/ReLU/dReLU/bias-gradient inside the cuBLASLt GEMMs
  int graph_steps = 128;        // steps captured in one graph
  // One persistent kernel per epoch for one-hidden-layer MLPs of up to 256 units and 32 rows a
  // step (fused_mlp.h), where the GPU can run it; off: always the cuBLASLt path.
  bool fused_mlp = true;

  // The CNN path (every network that is not an MLP; cuDNN):
  bool cudnn_batchnorm = true;  // cuDNN's BatchNorm graphs where an engine runs them, else own
  bool fused_conv = true;       // conv + bias + ReLU as one cuDNN graph where an engine runs it
  // cuDNN engines noted deterministic where one exists (a seed then gives the same run).
  bool deterministic = true;
  // Where the training set and evaluated sets live: uploaded once when they fit in GPU memory
  // (automatic), always uploaded, or always streamed from pinned host buffers.
  enum class Data { automatic, resident, streamed };
  Data data = Data::automatic;
  bool random_flip = false;  // a seeded random horizontal flip of each training image
  // Time up to 8 candidate engines per convolution and BatchNorm problem in setup and keep the
  // fastest (as PyTorch's cudnn.benchmark does); with a file, the choices are kept there for
  // later runs on the same GPU and cuDNN.
  bool cudnn_autotune = false;
  std::string autotune_file;
};

// The defaults as the environment changes them, which make_cuda_backend(device) (and so
// `greentrain train`, which has no flags for them) uses; for benchmarks and diagnosis:
//   GREENTRAIN_CNN_BATCHNORM=own|cudnn  cudnn_batchnorm off or on;
//   GREENTRAIN_CUDNN_AUTOTUNE=FILE      cudnn_autotune with that file ("memory": no file).
// A value other than these is a gt::Error naming the variable.
CudaOptions with_environment(CudaOptions options);

std::unique_ptr<Backend> make_cuda_backend(int device, const CudaOptions& options);

// The backends behind make_cuda_backend: it starts the MLP one (which checks the device), and
// setup() hands a network that is not an MLP to the CNN one. Without the cuDNN path in the build,
// make_cuda_cnn_backend throws gt::Error saying why.
std::unique_ptr<Backend> make_cuda_mlp_backend(int device, const CudaOptions& options);
std::unique_ptr<Backend> make_cuda_cnn_backend(int device, const CudaOptions& options);

}  // namespace gt::engine
