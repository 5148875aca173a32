// cuBLASLt loaded on first use (dlopen) instead of at process start: mapping and relocating the
// 500 MB library costs a short run about a quarter of a second, and the fused small-MLP path never
// calls it. `cublaslt()` returns the table of the entry points the backend uses, loading the
// library the first time (thread-safe); it throws gt::Error naming the library when it is missing.
#pragma once
#include <cublasLt.h>

namespace gt::engine::cuda {

struct CublasLt {
  decltype(&cublasLtCreate) create;
  decltype(&cublasLtDestroy) destroy;
  decltype(&cublasLtGetStatusString) status_string;
  decltype(&cublasLtMatmulDescCreate) desc_create;
  decltype(&cublasLtMatmulDescDestroy) desc_destroy;
  decltype(&cublasLtMatmulDescSetAttribute) desc_set;
  decltype(&cublasLtMatrixLayoutCreate) layout_create;
  decltype(&cublasLtMatrixLayoutDestroy) layout_destroy;
  decltype(&cublasLtMatmulPreferenceCreate) pref_create;
  decltype(&cublasLtMatmulPreferenceDestroy) pref_destroy;
  decltype(&cublasLtMatmulPreferenceSetAttribute) pref_set;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic;
  decltype(&cublasLtMatmul) matmul;
};

const CublasLt& cublaslt();

}  // namespace gt::engine::cuda
