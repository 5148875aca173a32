// cuBLASLt plan cache and GEMM launch (see gemm.h).
#include "engine/cuda/gemm.h"

#include <string>

#include "common/error.h"
#include "engine/cuda/check.h"
#include "engine/cuda/cublaslt_library.h"

namespace gt::engine::cuda {

struct GemmRunner::Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool ok = false;
  ~Plan() {
    if (d) cublaslt().layout_destroy(d);
    if (b) cublaslt().layout_destroy(b);
    if (a) cublaslt().layout_destroy(a);
    if (desc) cublaslt().desc_destroy(desc);
  }
};

namespace {

cudaDataType_t data_type(DType t) {
  switch (t) {
    case DType::f32:
      return CUDA_R_32F;
    case DType::f16:
      return CUDA_R_16F;
    case DType::bf16:
      return CUDA_R_16BF;
  }
  return CUDA_R_32F;
}

cublasLtEpilogue_t lt_epilogue(Epilogue e) {
  switch (e) {
    case Epilogue::none:
      return CUBLASLT_EPILOGUE_DEFAULT;
    case Epilogue::bias:
      return CUBLASLT_EPILOGUE_BIAS;
    case Epilogue::relu_bias:
      return CUBLASLT_EPILOGUE_RELU_BIAS;
    case Epilogue::relu_aux_bias:
      return CUBLASLT_EPILOGUE_RELU_AUX_BIAS;
    case Epilogue::drelu_bgrad:
      return CUBLASLT_EPILOGUE_DRELU_BGRAD;
    case Epilogue::bgradb:
      return CUBLASLT_EPILOGUE_BGRADB;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

}  // namespace

GemmRunner::GemmRunner(DType type, bool tf32, void* workspace, size_t workspace_bytes)
    : type_(type), tf32_(tf32), workspace_(workspace), workspace_bytes_(workspace_bytes) {
  CUBLAS_CHECK(cublaslt().create(&handle_));
}

GemmRunner::~GemmRunner() {
  plans_.clear();
  if (handle_) cublaslt().destroy(handle_);
}

GemmRunner::Plan& GemmRunner::plan(const GemmCall& c) {
  const Key key{c.trans_a, c.trans_b,       c.m,    c.n,   c.k,     c.lda, c.ldb,
                c.ldd,     int(c.epilogue), c.bias, c.aux, c.aux_ld};
  auto found = plans_.find(key);
  if (found != plans_.end()) return *found->second;
  auto p = std::make_unique<Plan>();
  const cudaDataType_t dt = data_type(type_);
  const cublasComputeType_t compute = tf32_ ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  CUBLAS_CHECK(cublaslt().desc_create(&p->desc, compute, CUDA_R_32F));
  const cublasOperation_t ta = c.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t tb = c.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  CUBLAS_CHECK(cublaslt().desc_set(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  CUBLAS_CHECK(cublaslt().desc_set(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  const cublasLtEpilogue_t epi = lt_epilogue(c.epilogue);
  CUBLAS_CHECK(cublaslt().desc_set(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
  if (c.epilogue != Epilogue::none) {
    CUBLAS_CHECK(
        cublaslt().desc_set(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &c.bias, sizeof c.bias));
  }
  if (c.epilogue == Epilogue::relu_aux_bias || c.epilogue == Epilogue::drelu_bgrad) {
    CUBLAS_CHECK(cublaslt().desc_set(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &c.aux,
                                     sizeof c.aux));
    CUBLAS_CHECK(cublaslt().desc_set(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &c.aux_ld,
                                     sizeof c.aux_ld));
  }
  // Stored shapes: op(A) is m×k, op(B) is k×n, D is m×n.
  CUBLAS_CHECK(
      cublaslt().layout_create(&p->a, dt, c.trans_a ? c.k : c.m, c.trans_a ? c.m : c.k, c.lda));
  CUBLAS_CHECK(
      cublaslt().layout_create(&p->b, dt, c.trans_b ? c.n : c.k, c.trans_b ? c.k : c.n, c.ldb));
  CUBLAS_CHECK(cublaslt().layout_create(&p->d, dt, c.m, c.n, c.ldd));

  cublasLtMatmulPreference_t pref = nullptr;
  CUBLAS_CHECK(cublaslt().pref_create(&pref));
  const uint64_t ws = workspace_bytes_;
  CUBLAS_CHECK(cublaslt().pref_set(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  cublasLtMatmulHeuristicResult_t result{};
  int returned = 0;
  const cublasStatus_t status =
      cublaslt().heuristic(handle_, p->desc, p->a, p->b, p->d, p->d, pref, 1, &result, &returned);
  cublaslt().pref_destroy(pref);
  if (status == CUBLAS_STATUS_SUCCESS && returned > 0 && result.state == CUBLAS_STATUS_SUCCESS) {
    p->algo = result.algo;
    p->ok = true;
  } else if (status != CUBLAS_STATUS_SUCCESS && status != CUBLAS_STATUS_NOT_SUPPORTED &&
             status != CUBLAS_STATUS_INVALID_VALUE) {
    throw_cublas_error(status, "cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__);
  }
  auto& ref = *p;
  plans_.emplace(key, std::move(p));
  return ref;
}

bool GemmRunner::supported(const GemmCall& call) { return plan(call).ok; }

void GemmRunner::run(const GemmCall& c, cudaStream_t stream) {
  Plan& p = plan(c);
  if (!p.ok)
    throw gt::Error("cuBLASLt has no algorithm for a " + std::to_string(c.m) + "x" +
                    std::to_string(c.n) + "x" + std::to_string(c.k) + " GEMM with epilogue " +
                    std::to_string(int(c.epilogue)));
  const float alpha = 1.0f, beta = 0.0f;
  CUBLAS_CHECK(cublaslt().matmul(handle_, p.desc, &alpha, c.a, p.a, c.b, p.b, &beta, c.d, p.d, c.d,
                                 p.d, &p.algo, workspace_, workspace_bytes_, stream));
}

}  // namespace gt::engine::cuda
