// The CUDA entry points of a build without CUDA: no devices, and a clear error if asked for one.
#include "common/error.h"
#include "engine/backend.h"
#include "engine/cuda/cuda_backend.h"

namespace gt::engine {

std::unique_ptr<Backend> make_cuda_backend(int) {
  throw gt::Error(
      "this greentrain was built without CUDA (rebuild with nvcc installed and "
      "-DGREENTRAIN_CUDA=ON); use --device cpu");
}

std::unique_ptr<Backend> make_cuda_backend(int device, const CudaOptions&) {
  return make_cuda_backend(device);
}

int cuda_device_count() { return 0; }

}  // namespace gt::engine
