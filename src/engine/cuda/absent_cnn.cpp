// The CNN path of a CUDA build without cuDNN's headers (or with -DGREENTRAIN_CUDNN=OFF):
// GREENTRAIN_CUDNN_ABSENT, set by cmake/GreentrainCudnn.cmake, says why it is missing.
#include "common/error.h"
#include "engine/cuda/cuda_backend.h"

namespace gt::engine {

std::unique_ptr<Backend> make_cuda_cnn_backend(int, const CudaOptions&) {
  throw gt::Error(std::string("this greentrain trains only MLPs on the GPU: its CNN path is "
                              "absent (") +
                  GREENTRAIN_CUDNN_ABSENT + "); use --device cpu");
}

}  // namespace gt::engine
