// The UUIDs of the GPUs CUDA itself would use in this process, in CUDA's device order. CUDA
// numbers GPUs in its own order (fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID) and
// CUDA_VISIBLE_DEVICES indices refer to that order, while NVML numbers them by PCI bus id; so
// only the UUID identifies a board across the two. The CUDA driver (libcuda.so.1, or the file
// named by GREENTRAIN_CUDA_DRIVER_LIB) is loaded at run time with dlopen and asked for
// cuDeviceGetUuid of each visible device: no context is created and nothing is linked at build
// time, so machines without a driver just get "unavailable".
#pragma once
#include <string>
#include <vector>

namespace gt::experiment {

struct CudaUuids {
  bool available = false;          // the driver answered
  std::vector<std::string> uuids;  // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", CUDA order
  std::string reason;              // why not available
};

CudaUuids cuda_visible_uuids();

// 16 raw bytes as NVML prints a UUID: "GPU-" + 8-4-4-4-12 lowercase hex digits.
std::string format_gpu_uuid(const unsigned char bytes[16]);

}  // namespace gt::experiment
