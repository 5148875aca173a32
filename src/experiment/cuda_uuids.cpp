// CUDA device UUIDs through the driver API loaded with dlopen (see cuda_uuids.h). The few
// declarations below mirror cuda.h: CUresult is an int, CUdevice an int, CUuuid 16 bytes.
#include "experiment/cuda_uuids.h"

#include <dlfcn.h>
#include <fmt/core.h>

#include <cstdlib>

namespace gt::experiment {

std::string format_gpu_uuid(const unsigned char b[16]) {
  std::string hex;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    hex += fmt::format("{:02x}", b[i]);
  }
  return "GPU-" + hex;
}

CudaUuids cuda_visible_uuids() {
  CudaUuids out;
  const char* override_path = std::getenv("GREENTRAIN_CUDA_DRIVER_LIB");
  const std::string path = override_path && *override_path ? override_path : "libcuda.so.1";
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    out.reason = fmt::format("{} could not be loaded", path);
    return out;
  }
  using Init = int (*)(unsigned);
  using Count = int (*)(int*);
  using Get = int (*)(int*, int);
  using Uuid = int (*)(unsigned char*, int);
  auto init = reinterpret_cast<Init>(dlsym(h, "cuInit"));
  auto count = reinterpret_cast<Count>(dlsym(h, "cuDeviceGetCount"));
  auto get = reinterpret_cast<Get>(dlsym(h, "cuDeviceGet"));
  auto uuid = reinterpret_cast<Uuid>(dlsym(h, "cuDeviceGetUuid_v2"));
  if (!uuid) uuid = reinterpret_cast<Uuid>(dlsym(h, "cuDeviceGetUuid"));
  int n = 0;
  if (!init || !count || !get || !uuid) {
    out.reason = fmt::format("{} lacks cuInit/cuDeviceGetCount/cuDeviceGet/cuDeviceGetUuid", path);
  } else if (int rc = init(0); rc != 0) {
    out.reason = fmt::format("cuInit failed (CUDA error {})", rc);
  } else if (int rc2 = count(&n); rc2 != 0) {
    out.reason = fmt::format("cuDeviceGetCount failed (CUDA error {})", rc2);
  } else {
    out.available = true;
    for (int i = 0; i < n; ++i) {
      int dev = 0;
      unsigned char bytes[16] = {};
      if (get(&dev, i) != 0 || uuid(bytes, dev) != 0) {
        out.available = false;
        out.reason = fmt::format("cuDeviceGetUuid failed for CUDA device {}", i);
        out.uuids.clear();
        break;
      }
      out.uuids.push_back(format_gpu_uuid(bytes));
    }
  }
  // The driver stays loaded: unloading libcuda after cuInit is not supported.
  return out;
}

}  // namespace gt::experiment
