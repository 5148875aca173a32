// cuDNN 9 loaded on first use (dlopen, found as cudnn_locate.h describes) instead of linked: a
// greentrain without cuDNN on the machine still runs everything but the CUDA CNN path, and the
// one that has it can use PyTorch's copy. `cudnn()` returns the table of the entry points the
// CNN path uses (the graph API; the legacy convolution functions are deprecated in 9.x), loading
// the library the first time (thread-safe); it throws gt::Error naming every place tried when
// none is usable. `cudnn_search()` returns that search, usable or not, and never throws.
#pragma once
#include <cudnn_graph.h>

#include "engine/cuda/cudnn_locate.h"

namespace gt::engine::cuda {

struct Cudnn {
  decltype(&cudnnGetVersion) get_version;
  decltype(&cudnnGetCudartVersion) get_cudart_version;
  decltype(&cudnnGetErrorString) error_string;
  decltype(&cudnnGetLastErrorString) last_error_string;
  decltype(&cudnnCreate) create;
  decltype(&cudnnDestroy) destroy;
  decltype(&cudnnSetStream) set_stream;
  decltype(&cudnnBackendCreateDescriptor) create_descriptor;
  decltype(&cudnnBackendDestroyDescriptor) destroy_descriptor;
  decltype(&cudnnBackendSetAttribute) set_attribute;
  decltype(&cudnnBackendGetAttribute) get_attribute;
  decltype(&cudnnBackendFinalize) finalize;
  decltype(&cudnnBackendExecute) execute;
};

const LocatedCudnn& cudnn_search();
const Cudnn& cudnn();

// cuDNN's detailed message for the last failed call, on one line ("" when it has none).
std::string cudnn_last_error();

// Binds the table from an open library; "" on success, else "lacks <symbol>" (for the search).
std::string bind_cudnn(void* library, Cudnn& table);

// The CUDA runtime version a cuDNN was built for, as text: 13010 → "13.1".
std::string cudart_version_text(size_t version);

}  // namespace gt::engine::cuda
