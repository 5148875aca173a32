// Error checking for every CUDA runtime, cuBLASLt and cuDNN call: CUDA_CHECK / CUBLAS_CHECK /
// CUDNN_CHECK turn a failed status into gt::Error naming the call text, file:line and the
// library's own message, so "out of memory" or "no kernel image for this device" reach the user
// as one clear line. CUDNN_CHECK needs no cuDNN header here (statuses are plain enums, 0 is
// success); throw_cudnn_error lives in cudnn_library.cpp, built only with the cuDNN path.
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

// `status` is a cudnnStatus_t; adds cuDNN's detailed message for the failed call.
[[noreturn]] void throw_cudnn_error(int status, const char* call, const char* file, int line);

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

#define CUDNN_CHECK(call)                                                                 \
  do {                                                                                    \
    const int gt_cudnn_status_ = static_cast<int>(call);                                  \
    if (gt_cudnn_status_ != 0)                                                            \
      ::gt::engine::cuda::throw_cudnn_error(gt_cudnn_status_, #call, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: reports a bad launch configuration at the launch site.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
