// The CUDA backend's own entry point, for callers that want to switch its speed features off:
// the invariance tests (CUDA graph ≡ eager launches, fused cuBLASLt epilogues ≡ unfused kernels)
// and benchmarks. make_cuda_backend(device) in engine/backend.h is this with the defaults.
#pragma once
#include <memory>

#include "engine/backend.h"

namespace gt::engine {

struct CudaOptions {
  bool graphs = true;           // capture the epoch's steps as CUDA graphs (else eager launches)
  bool fused_epilogues = true;  // bias/ReLU/dReLU/bias-gradient inside the cuBLASLt GEMMs
  int graph_steps = 128;        // steps captured in one graph
  // One persistent kernel per epoch for one-hidden-layer MLPs of up to 256 units and 32 rows a
  // step (fused_mlp.h), where the GPU can run it; off: always the cuBLASLt path.
  bool fused_mlp = true;
};

std::unique_ptr<Backend> make_cuda_backend(int device, const CudaOptions& options);

}  // namespace gt::engine
