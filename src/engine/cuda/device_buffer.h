// An owning device allocation (cudaMalloc/cudaFree) that names what it holds when the GPU is out
// of memory, and a pinned host block for the per-epoch counters. Allocated in Backend::setup only.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

#include "common/error.h"

namespace gt::engine::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(size_t bytes, const std::string& what) { allocate(bytes, what); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(o.bytes_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = o.bytes_;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void allocate(size_t bytes, const std::string& what) {
    release();
    if (bytes == 0) bytes = 256;
    const cudaError_t status = cudaMalloc(&ptr_, bytes);
    if (status != cudaSuccess) {
      ptr_ = nullptr;
      cudaGetLastError();  // clear the sticky-free error so later calls are not blamed
      throw gt::Error("cannot allocate " + std::to_string(bytes >> 20) + " MiB of GPU memory for " +
                      what + ": " + cudaGetErrorString(status));
    }
    bytes_ = bytes;
  }
  void release() noexcept {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  template <typename T = void>
  T* get() const {
    return static_cast<T*>(ptr_);
  }
  char* bytes_at(size_t offset) const { return static_cast<char*>(ptr_) + offset; }
  size_t size() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace gt::engine::cuda
