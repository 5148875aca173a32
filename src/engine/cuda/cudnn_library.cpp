// Loads cuDNN 9 on first use (see cudnn_library.h): runs the search of cudnn_locate.h, taking
// the first library whose entry points all bind and whose graph sub-library loads (a tensor
// descriptor can be created), and turns cuDNN statuses into one-line errors for CUDNN_CHECK.
#include "engine/cuda/cudnn_library.h"

#include <dlfcn.h>

#include <string>

#include "common/error.h"
#include "engine/cuda/check.h"

namespace gt::engine::cuda {
namespace {

template <typename F>
bool bind(void* lib, const char* name, F& slot, std::string& missing) {
  void* p = dlsym(lib, name);
  if (!p) {
    if (missing.empty()) missing = std::string("lacks ") + name;
    return false;
  }
  slot = reinterpret_cast<F>(p);
  return true;
}

// cuDNN's detailed message for the last failed call, on one line.
std::string last_error(const Cudnn& api) {
  char text[1024] = {};
  api.last_error_string(text, sizeof text);
  std::string out(text);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

struct Loaded {
  LocatedCudnn search;
  Cudnn api{};
};

Loaded load() {
  Loaded loaded;
  loaded.search = locate_cudnn(
      cudnn_candidates(cudnn_search_inputs()), [&loaded](void* lib, size_t) -> std::string {
        Cudnn api{};
        if (std::string why = bind_cudnn(lib, api); !why.empty()) return why;
        cudnnBackendDescriptor_t probe = nullptr;
        const cudnnStatus_t status = api.create_descriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &probe);
        if (status != CUDNN_STATUS_SUCCESS)
          return std::string("cannot load its graph sub-library: ") + api.error_string(status) +
                 " " + last_error(api);
        api.destroy_descriptor(probe);
        loaded.api = api;
        return "";
      });
  return loaded;
}

const Loaded& loaded() {
  static const Loaded instance = load();  // thread-safe; searched once per process
  return instance;
}

}  // namespace

std::string bind_cudnn(void* lib, Cudnn& api) {
  std::string missing;
  bind(lib, "cudnnGetVersion", api.get_version, missing);
  bind(lib, "cudnnGetCudartVersion", api.get_cudart_version, missing);
  bind(lib, "cudnnGetErrorString", api.error_string, missing);
  bind(lib, "cudnnGetLastErrorString", api.last_error_string, missing);
  bind(lib, "cudnnCreate", api.create, missing);
  bind(lib, "cudnnDestroy", api.destroy, missing);
  bind(lib, "cudnnSetStream", api.set_stream, missing);
  bind(lib, "cudnnBackendCreateDescriptor", api.create_descriptor, missing);
  bind(lib, "cudnnBackendDestroyDescriptor", api.destroy_descriptor, missing);
  bind(lib, "cudnnBackendSetAttribute", api.set_attribute, missing);
  bind(lib, "cudnnBackendGetAttribute", api.get_attribute, missing);
  bind(lib, "cudnnBackendFinalize", api.finalize, missing);
  bind(lib, "cudnnBackendExecute", api.execute, missing);
  return missing;
}

std::string cudart_version_text(size_t v) {
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

std::string cudnn_last_error() { return last_error(cudnn()); }

const LocatedCudnn& cudnn_search() { return loaded().search; }

const Cudnn& cudnn() {
  const Loaded& l = loaded();
  if (!l.search.library) throw gt::Error(l.search.failure());
  return l.api;
}

void throw_cudnn_error(int status, const char* call, const char* file, int line) {
  const Cudnn& api = cudnn();
  std::string detail = last_error(api);
  throw gt::Error(std::string("cuDNN error in ") + call + " at " + file + ":" +
                  std::to_string(line) + ": " +
                  api.error_string(static_cast<cudnnStatus_t>(status)) +
                  (detail.empty() ? "" : " (" + detail + ")"));
}

}  // namespace gt::engine::cuda
