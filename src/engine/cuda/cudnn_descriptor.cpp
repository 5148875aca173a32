// The owning cuDNN backend descriptor of cudnn_descriptor.h.
#include "engine/cuda/cudnn_descriptor.h"

#include <string>

#include "engine/cuda/check.h"
#include "engine/cuda/cudnn_library.h"

namespace gt::engine::cuda {
namespace {

void check(cudnnStatus_t status, const std::string& call, const Descriptor::Where& where) {
  if (status != CUDNN_STATUS_SUCCESS)
    throw_cudnn_error(status, call.c_str(), where.file_name(), static_cast<int>(where.line()));
}

std::string attribute_call(const char* function, cudnnBackendAttributeName_t name) {
  return std::string(function) + "(attribute " + std::to_string(static_cast<int>(name)) + ")";
}

}  // namespace

Descriptor::Descriptor(cudnnBackendDescriptorType_t type, Where where) {
  check(cudnn().create_descriptor(type, &d_),
        "cudnnBackendCreateDescriptor(type " + std::to_string(static_cast<int>(type)) + ")", where);
}

Descriptor::~Descriptor() {
  if (d_) cudnn().destroy_descriptor(d_);
}

Descriptor& Descriptor::operator=(Descriptor&& o) noexcept {
  if (this != &o) {
    if (d_) cudnn().destroy_descriptor(d_);
    d_ = std::exchange(o.d_, nullptr);
  }
  return *this;
}

Descriptor& Descriptor::set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                            int64_t count, const void* values, Where where) {
  check(cudnn().set_attribute(d_, name, type, count, values),
        attribute_call("cudnnBackendSetAttribute", name), where);
  return *this;
}

Descriptor& Descriptor::set_int64(cudnnBackendAttributeName_t name, int64_t value, Where where) {
  return set(name, CUDNN_TYPE_INT64, 1, &value, where);
}

Descriptor& Descriptor::set_int64s(cudnnBackendAttributeName_t name,
                                   const std::vector<int64_t>& values, Where where) {
  return set(name, CUDNN_TYPE_INT64, static_cast<int64_t>(values.size()), values.data(), where);
}

Descriptor& Descriptor::set_data_type(cudnnBackendAttributeName_t name, cudnnDataType_t value,
                                      Where where) {
  return set(name, CUDNN_TYPE_DATA_TYPE, 1, &value, where);
}

Descriptor& Descriptor::set_descriptor(cudnnBackendAttributeName_t name, const Descriptor& value,
                                       Where where) {
  cudnnBackendDescriptor_t raw = value.get();
  return set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw, where);
}

Descriptor& Descriptor::set_descriptors(cudnnBackendAttributeName_t name,
                                        const std::vector<cudnnBackendDescriptor_t>& values,
                                        Where where) {
  return set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, static_cast<int64_t>(values.size()),
             values.data(), where);
}

void Descriptor::finalize(Where where) {
  check(cudnn().finalize(d_), "cudnnBackendFinalize", where);
}

cudnnStatus_t Descriptor::try_finalize() { return cudnn().finalize(d_); }

int64_t Descriptor::get(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                        int64_t capacity, void* values, Where where) const {
  int64_t count = 0;
  check(cudnn().get_attribute(d_, name, type, capacity, &count, values),
        attribute_call("cudnnBackendGetAttribute", name), where);
  return count;
}

int64_t Descriptor::get_int64(cudnnBackendAttributeName_t name, Where where) const {
  int64_t value = 0;
  get(name, CUDNN_TYPE_INT64, 1, &value, where);
  return value;
}

}  // namespace gt::engine::cuda
