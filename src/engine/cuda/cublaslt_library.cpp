// Loads libcublasLt.so.<major> with dlopen on first use (see cublaslt_library.h): the soname of
// the toolkit this was built with, then the toolkit's own library folder.
#include "engine/cuda/cublaslt_library.h"

#include <dlfcn.h>

#include <string>

#include "common/error.h"

namespace gt::engine::cuda {
namespace {

template <typename F>
void bind(void* lib, const char* name, F& slot) {
  void* p = dlsym(lib, name);
  if (!p)
    throw gt::Error(std::string("libcublasLt has no ") + name + " (a cuBLASLt older than " +
                    std::to_string(CUBLAS_VER_MAJOR) + "?)");
  slot = reinterpret_cast<F>(p);
}

CublasLt load() {
  const std::string soname = "libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR);
  void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
#ifdef GREENTRAIN_CUDA_LIBRARY_DIR
  if (!lib)
    lib = dlopen((std::string(GREENTRAIN_CUDA_LIBRARY_DIR) + "/" + soname).c_str(),
                 RTLD_NOW | RTLD_LOCAL);
#endif
  if (!lib)
    throw gt::Error("cannot load " + soname + " (the CUDA backend's GEMMs need cuBLASLt " +
                    std::to_string(CUBLAS_VER_MAJOR) + "): " + dlerror());
  CublasLt api{};
  bind(lib, "cublasLtCreate", api.create);
  bind(lib, "cublasLtDestroy", api.destroy);
  bind(lib, "cublasLtGetStatusString", api.status_string);
  bind(lib, "cublasLtMatmulDescCreate", api.desc_create);
  bind(lib, "cublasLtMatmulDescDestroy", api.desc_destroy);
  bind(lib, "cublasLtMatmulDescSetAttribute", api.desc_set);
  bind(lib, "cublasLtMatrixLayoutCreate", api.layout_create);
  bind(lib, "cublasLtMatrixLayoutDestroy", api.layout_destroy);
  bind(lib, "cublasLtMatmulPreferenceCreate", api.pref_create);
  bind(lib, "cublasLtMatmulPreferenceDestroy", api.pref_destroy);
  bind(lib, "cublasLtMatmulPreferenceSetAttribute", api.pref_set);
  bind(lib, "cublasLtMatmulAlgoGetHeuristic", api.heuristic);
  bind(lib, "cublasLtMatmul", api.matmul);
  return api;  // the library stays loaded until the process ends
}

}  // namespace

const CublasLt& cublaslt() {
  static const CublasLt api = load();  // thread-safe; a failed load throws and is retried
  return api;
}

}  // namespace gt::engine::cuda
