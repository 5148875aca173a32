// What the CUDA backend's CNN path (cuDNN 9, loaded at run time) has on this machine, for
// `greentrain devices` and run manifests: the library and version in use, or why there is none,
// with one line per place the library was looked for. A build without CUDA or without cuDNN's
// headers answers with the reason the path is absent from the build.
#pragma once
#include <string>
#include <vector>

namespace gt::engine {

struct CudnnStatus {
  std::string absent;              // why this build has no cuDNN path ("" when it has one)
  bool usable = false;             // a cuDNN 9 was loaded
  std::string library;             // its file
  std::string version;             // "9.19.0"
  std::string cuda;                // the CUDA runtime it was built for, "13.0"
  std::vector<std::string> tried;  // "<place> <path>: <outcome>", in search order
};

// Searches on the first call (loading cuDNN when found); never throws.
CudnnStatus cudnn_status();

}  // namespace gt::engine
