// Where cuDNN 9 is looked for at run time, and what happened at each place. cuDNN is not linked:
// the CNN path loads libcudnn.so.9 with dlopen from the first of these places that holds a
// usable one:
//   1. GREENTRAIN_CUDNN_LIB (a library file, or a folder holding libcudnn.so.9);
//   2. the dynamic loader's own search (LD_LIBRARY_PATH, ldconfig's cache, the default paths);
//   3. the CUDA toolkit's library folders ($CUDA_HOME, $CUDA_PATH, /usr/local/cuda, the toolkit
//      this was built with);
//   4. NVIDIA's Python wheel folder nvidia/cudnn/lib in the site-packages of every Python
//      interpreter on PATH (its virtual environment and its base install), the user's ~/.local
//      and ~/.pyenv versions, /usr/lib/python3/dist-packages, /usr/local/lib/python3*/
//      dist-packages and /opt/conda (where PyTorch's own cuDNN lives).
// A place is usable when the library loads, has cudnnGetVersion, reports 9.0 or newer and passes
// the caller's own check (its entry points bind, its sub-libraries load). Every place tried keeps
// a one-line reason, so `greentrain devices` can say which library is used or why none is.
// Nothing here needs cuDNN's headers.
#pragma once
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gt::engine::cuda {

// What the search reads from the process environment, gathered in one value so tests can
// describe a fake machine.
struct CudnnSearchInputs {
  std::optional<std::string> env_library;  // GREENTRAIN_CUDNN_LIB, when set
  bool loader_paths = true;                // try dlopen("libcudnn.so.9") by name
  std::vector<std::string> toolkit_dirs;   // CUDA toolkit library folders, in order
  std::string path_env;                    // PATH (Python interpreters are looked for there)
  std::vector<std::string> site_patterns;  // further site-packages folders (glob patterns)
};

// The inputs of this process: its environment and the toolkit it was built with.
CudnnSearchInputs cudnn_search_inputs();

// One place to try. `path` is a file to dlopen, or a bare soname for the loader's own search;
// a non-empty `nothing` means there is nothing to open at this place and says why.
struct CudnnCandidate {
  std::string place;  // e.g. "GREENTRAIN_CUDNN_LIB", "CUDA toolkit", "Python wheel"
  std::string path;
  std::string nothing;
};

// The places of `inputs`, in the order above, each file once (folders compared after
// resolving symbolic links).
std::vector<CudnnCandidate> cudnn_candidates(const CudnnSearchInputs& inputs);

struct CudnnAttempt {
  CudnnCandidate candidate;
  std::string outcome;       // "used", or why this place was not
  std::string line() const;  // "<place> <path>: <outcome>"
};

struct LocatedCudnn {
  void* library = nullptr;  // the dlopen handle (kept open for the process), null when none
  std::string path;         // the file loaded
  size_t version = 0;       // cudnnGetVersion()
  std::vector<CudnnAttempt> attempts;
  // "cuDNN 9 not found: <place> <path>: <why>; ..." on one line, for errors.
  std::string failure() const;
};

// Tries the candidates in order. `accept` is called with the handle of each library that loads
// and reports 9.0 or newer; it returns "" to take it, or why not (the library is then closed).
LocatedCudnn locate_cudnn(const std::vector<CudnnCandidate>& candidates,
                          const std::function<std::string(void*, size_t version)>& accept);

// cudnnGetVersion()'s number as text: 91900 → "9.19.0" (9.x: major·10000 + minor·100 + patch),
// 8907 → "8.9.7" (8.x and older: major·1000 + minor·100 + patch).
std::string cudnn_version_text(size_t version);

}  // namespace gt::engine::cuda
