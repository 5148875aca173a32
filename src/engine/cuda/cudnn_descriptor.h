// An owning cuDNN backend descriptor (the graph API's one object type: tensors, operations,
// graphs, engine configurations, plans, variant packs) with typed setters. Every failed call
// throws gt::Error through throw_cudnn_error, naming the attribute and the caller's file:line.
// Internal to the cuDNN path: only cudnn_*.cpp include cuDNN's headers.
#pragma once
#include <cudnn_graph.h>

#include <cstdint>
#include <source_location>
#include <utility>
#include <vector>

namespace gt::engine::cuda {

class Descriptor {
 public:
  using Where = std::source_location;

  Descriptor() = default;
  explicit Descriptor(cudnnBackendDescriptorType_t type, Where where = Where::current());
  ~Descriptor();
  Descriptor(Descriptor&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  Descriptor& operator=(Descriptor&& o) noexcept;
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;

  cudnnBackendDescriptor_t get() const { return d_; }
  // Address of the handle, for cudnnBackendGetAttribute filling descriptors created beforehand.
  cudnnBackendDescriptor_t* slot() { return &d_; }

  Descriptor& set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count,
                  const void* values, Where where = Where::current());
  Descriptor& set_int64(cudnnBackendAttributeName_t name, int64_t value,
                        Where where = Where::current());
  Descriptor& set_int64s(cudnnBackendAttributeName_t name, const std::vector<int64_t>& values,
                         Where where = Where::current());
  Descriptor& set_data_type(cudnnBackendAttributeName_t name, cudnnDataType_t value,
                            Where where = Where::current());
  Descriptor& set_descriptor(cudnnBackendAttributeName_t name, const Descriptor& value,
                             Where where = Where::current());
  Descriptor& set_descriptors(cudnnBackendAttributeName_t name,
                              const std::vector<cudnnBackendDescriptor_t>& values,
                              Where where = Where::current());
  void finalize(Where where = Where::current());
  // For descriptors expected to fail on some inputs (plans of unsupported engines): no throw.
  cudnnStatus_t try_finalize();

  // cudnnBackendGetAttribute of up to `capacity` values into `values`; returns how many the
  // attribute holds (capacity 0 and null values ask for the count only).
  int64_t get(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t capacity,
              void* values, Where where = Where::current()) const;
  int64_t get_int64(cudnnBackendAttributeName_t name, Where where = Where::current()) const;

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};

}  // namespace gt::engine::cuda
