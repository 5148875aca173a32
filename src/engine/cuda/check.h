// Error checking for every CUDA runtime and cuBLASLt call: CUDA_CHECK / CUBLAS_CHECK turn a
// failed status into gt::Error naming the call text, file:line and the library's own message,
// so "out of memory" or "no kernel image for this device" reach the user as one clear line.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <string>

#include "common/error.h"
#include "engine/cuda/cublaslt_library.h"

namespace gt::engine::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                          int line) {
  throw gt::Error(std::string("CUDA error in ") + call + " at " + file + ":" +
                  std::to_string(line) + ": " + cudaGetErrorString(status));
}

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char* call,
                                            const char* file, int line) {
  throw gt::Error(std::string("cuBLASLt error in ") + call + " at " + file + ":" +
                  std::to_string(line) + ": " + cublaslt().status_string(status));
}

}  // namespace gt::engine::cuda

#define CUDA_CHECK(call)                                                                \
  do {                                                                                  \
    const cudaError_t gt_cuda_status_ = (call);                                         \
    if (gt_cuda_status_ != cudaSuccess)                                                 \
      ::gt::engine::cuda::throw_cuda_error(gt_cuda_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define CUBLAS_CHECK(call)                                                                  \
  do {                                                                                      \
    const cublasStatus_t gt_cublas_status_ = (call);                                        \
    if (gt_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                         \
      ::gt::engine::cuda::throw_cublas_error(gt_cublas_status_, #call, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: reports a bad launch configuration at the launch site.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
