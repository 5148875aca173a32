// cuBLASLt GEMMs with a cached plan per call shape: the matmul descriptor (compute type, the
// transposes, the epilogue and its bias/aux pointers), the three matrix layouts and the algorithm
// the heuristic chose are built once, on first use, and reused for every later step (and inside
// captured CUDA graphs). All matrices are column-major as cuBLASLt sees them; D = op(A)·op(B)
// with alpha 1 and beta 0. A plan whose epilogue cuBLASLt cannot run is remembered as
// unsupported, so the caller can fall back to the unfused kernels.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "engine/cuda/kernels.h"

namespace gt::engine::cuda {

enum class Epilogue {
  none,
  bias,           // D = A·B + bias (bias per row of D)
  relu_bias,      // D = relu(A·B + bias)
  relu_aux_bias,  // as relu_bias, and the ReLU bit-mask into aux
  drelu_bgrad,    // D = (A·B) ⊙ relu'(aux mask); bias = Σ over columns of D
  bgradb,         // D = A·B; bias = Σ of op(B) over k (one value per column of D)
};

struct GemmCall {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  int64_t lda = 0;
  const void* b = nullptr;
  int64_t ldb = 0;
  void* d = nullptr;
  int64_t ldd = 0;
  Epilogue epilogue = Epilogue::none;
  void* bias = nullptr;  // bias (read) or bias gradient (written)
  void* aux = nullptr;   // ReLU bit-mask
  int64_t aux_ld = 0;    // in bits; a multiple of 128
};

class GemmRunner {
 public:
  // `tf32`: FP32 storage with CUBLAS_COMPUTE_32F_FAST_TF32; otherwise CUBLAS_COMPUTE_32F.
  GemmRunner(DType type, bool tf32, void* workspace, size_t workspace_bytes);
  ~GemmRunner();
  GemmRunner(const GemmRunner&) = delete;
  GemmRunner& operator=(const GemmRunner&) = delete;

  bool supported(const GemmCall& call);
  void run(const GemmCall& call, cudaStream_t stream);  // throws gt::Error if unsupported
  size_t plan_count() const { return plans_.size(); }

 private:
  struct Plan;
  using Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int,
                         const void*, const void*, int64_t>;
  Plan& plan(const GemmCall& call);

  DType type_;
  bool tf32_;
  void* workspace_;
  size_t workspace_bytes_;
  cublasLtHandle_t handle_ = nullptr;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace gt::engine::cuda
