// The CNN path's status in a build without it (no CUDA, -DGREENTRAIN_CUDNN=OFF or no cuDNN 9
// headers): GREENTRAIN_CUDNN_ABSENT, set by cmake/GreentrainCudnn.cmake, says which.
#include "engine/cudnn_status.h"

namespace gt::engine {

CudnnStatus cudnn_status() {
  CudnnStatus status;
  status.absent = GREENTRAIN_CUDNN_ABSENT;
  return status;
}

}  // namespace gt::engine
