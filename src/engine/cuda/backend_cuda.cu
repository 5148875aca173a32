// Placeholder CUDA backend until the real one lands: reports the device count, refuses to train.
#include <cuda_runtime.h>

#include "common/error.h"
#include "engine/backend.h"

namespace gt::engine {

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

std::unique_ptr<Backend> make_cuda_backend(int) {
  throw gt::Error("the CUDA backend is not implemented yet; use --device cpu");
}

}  // namespace gt::engine
