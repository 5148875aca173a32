// The CNN path's data on the device: resident splits and streamed training batches (see
// cnn_data.h).
#include "engine/cuda/cnn_data.h"

#include <algorithm>
#include <cstring>

#include "engine/cuda/check.h"
#include "engine/cuda/epoch_shuffle.h"

namespace gt::engine::cuda {
namespace {

size_t sample_bytes(const data::Dataset& data) {
  return size_t(data.features) * (data.u8.empty() ? sizeof(float) : 1);
}

const void* host_values(const data::Dataset& data) {
  return data.u8.empty() ? static_cast<const void*>(data.f32.data())
                         : static_cast<const void*>(data.u8.data());
}

// The per-channel normalisation of `data` on the device (nothing when it has none).
void upload_normalisation(const data::Dataset& data, DeviceBuffer& mean, DeviceBuffer& stddev,
                          ImageSource& source, cudaStream_t stream) {
  if (data.u8.empty() || data.mean.empty()) return;
  const size_t bytes = data.mean.size() * sizeof(float);
  mean.allocate(bytes, "the normalisation");
  stddev.allocate(bytes, "the normalisation");
  CUDA_CHECK(cudaMemcpyAsync(mean.get(), data.mean.data(), bytes, cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(
      cudaMemcpyAsync(stddev.get(), data.stddev.data(), bytes, cudaMemcpyHostToDevice, stream));
  source.mean = mean.get<float>();
  source.stddev = stddev.get<float>();
}

// Points `source` at samples of the dataset's kind in `values`.
void point_at(const data::Dataset& data, const DeviceBuffer& values, const DeviceBuffer& labels,
              ImageSource& source) {
  source.u8 = data.u8.empty() ? nullptr : values.get<uint8_t>();
  source.f32 = data.u8.empty() ? values.get<float>() : nullptr;
  source.labels = labels.get<int32_t>();
}

// FNV-1a over the labels, the normalisation and up to 4096 evenly spaced bytes of the values.
uint64_t fingerprint(const data::Dataset& data) {
  uint64_t h = 0xcbf29ce484222325ull;
  const auto mix = [&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  };
  mix(data.labels.data(), data.labels.size() * sizeof(int32_t));
  mix(data.mean.data(), data.mean.size() * sizeof(float));
  mix(data.stddev.data(), data.stddev.size() * sizeof(float));
  const size_t bytes = size_t(data.rows) * sample_bytes(data);
  const auto* values = static_cast<const uint8_t*>(host_values(data));
  const size_t step = std::max<size_t>(1, bytes / 4096);
  for (size_t i = 0; i < bytes; i += step) mix(values + i, 1);
  return h;
}

}  // namespace

size_t resident_bytes(const data::Dataset& data) {
  return size_t(data.rows) * (sample_bytes(data) + sizeof(int32_t));
}

ImageSource image_shape(const data::Dataset& data, const graph::Shape& input, int padded_channels) {
  ImageSource s;
  s.rows = data.rows;
  s.height = input.height;
  s.width = input.width;
  s.channels = input.channels;
  s.padded_channels = padded_channels;
  s.scale = data.scale;
  return s;
}

void DeviceSplit::upload(const data::Dataset& data, const ImageSource& shape, cudaStream_t stream) {
  const size_t bytes = size_t(data.rows) * sample_bytes(data);
  const size_t label_bytes = size_t(data.rows) * sizeof(int32_t);
  if (values_.size() < bytes) values_.allocate(bytes, "a data split");
  if (labels_.size() < label_bytes) labels_.allocate(label_bytes, "a data split's labels");
  CUDA_CHECK(
      cudaMemcpyAsync(values_.get(), host_values(data), bytes, cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaMemcpyAsync(labels_.get(), data.labels.data(), label_bytes, cudaMemcpyHostToDevice,
                             stream));
  source_ = shape;
  source_.rows = data.rows;
  upload_normalisation(data, mean_, stddev_, source_, stream);
  point_at(data, values_, labels_, source_);
  CUDA_CHECK(cudaStreamSynchronize(stream));  // the host data may go away after this
  key_ = host_values(data);
  rows_ = data.rows;
  fingerprint_ = fingerprint(data);
}

bool DeviceSplit::holds(const data::Dataset& data) const {
  return key_ != nullptr && key_ == host_values(data) && rows_ == data.rows &&
         fingerprint_ == fingerprint(data);
}

BatchStream::BatchStream(const data::Dataset& data, int batch, const ImageSource& shape, int device)
    : data_(data), batch_(batch), sample_bytes_(sample_bytes(data)) {
  CUDA_CHECK(cudaSetDevice(device));
  CUDA_CHECK(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking));
  for (int k = 0; k < 2; ++k) {
    CUDA_CHECK(cudaEventCreateWithFlags(&copied_[k], cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&released_[k], cudaEventDisableTiming));
    CUDA_CHECK(cudaMallocHost(&pinned_[k], size_t(batch) * sample_bytes_));
    CUDA_CHECK(cudaMallocHost(&pinned_labels_[k], size_t(batch) * sizeof(int32_t)));
    staged_[k].allocate(size_t(batch) * sample_bytes_, "a streamed batch");
    staged_labels_[k].allocate(size_t(batch) * sizeof(int32_t), "a streamed batch's labels");
    // Never-written rows of an evaluation chunk stay finite.
    CUDA_CHECK(cudaMemset(staged_[k].get(), 0, staged_[k].size()));
    CUDA_CHECK(cudaMemset(staged_labels_[k].get(), 0, staged_labels_[k].size()));
    sources_[k] = shape;
    sources_[k].rows = batch;
    sources_[k].staged = true;
    point_at(data, staged_[k], staged_labels_[k], sources_[k]);
  }
  upload_normalisation(data, mean_, stddev_, sources_[0], copy_);
  sources_[1].mean = sources_[0].mean;
  sources_[1].stddev = sources_[0].stddev;
  CUDA_CHECK(cudaStreamSynchronize(copy_));
  rows_of_.resize(size_t(batch));
}

BatchStream::~BatchStream() {
  if (copy_) cudaStreamSynchronize(copy_);
  for (int k = 0; k < 2; ++k) {
    if (pinned_[k]) cudaFreeHost(pinned_[k]);
    if (pinned_labels_[k]) cudaFreeHost(pinned_labels_[k]);
    if (copied_[k]) cudaEventDestroy(copied_[k]);
    if (released_[k]) cudaEventDestroy(released_[k]);
  }
  if (copy_) cudaStreamDestroy(copy_);
}

void BatchStream::stage(int k, const EpochCounters& c, int64_t first, int rows,
                        cudaStream_t compute) {
  for (int r = 0; r < rows; ++r)
    rows_of_[size_t(r)] =
        shuffled_index(uint32_t(first + r), uint32_t(data_.rows), c.perm_key, c.perm_half_bits);
  fill(k, rows_of_.data(), rows, compute);
}

void BatchStream::stage_in_order(int k, int64_t first, int rows, cudaStream_t compute) {
  for (int r = 0; r < rows; ++r) rows_of_[size_t(r)] = first + r;
  fill(k, rows_of_.data(), rows, compute);
  CUDA_CHECK(cudaStreamSynchronize(copy_));
}

void BatchStream::fill(int k, const int64_t* rows_of, int rows, cudaStream_t compute) {
  // The pinned buffer's previous upload must have finished before it is overwritten.
  CUDA_CHECK(cudaEventSynchronize(copied_[k]));
  const auto* from = static_cast<const uint8_t*>(host_values(data_));
  for (int r = 0; r < rows; ++r) {
    std::memcpy(pinned_[k] + size_t(r) * sample_bytes_, from + size_t(rows_of[r]) * sample_bytes_,
                sample_bytes_);
    pinned_labels_[k][r] = data_.labels[size_t(rows_of[r])];
  }
  // The staging buffer's previous reader (the step two back) must be done with it.
  CUDA_CHECK(cudaStreamWaitEvent(copy_, released_[k], 0));
  CUDA_CHECK(cudaMemcpyAsync(staged_[k].get(), pinned_[k], size_t(rows) * sample_bytes_,
                             cudaMemcpyHostToDevice, copy_));
  CUDA_CHECK(cudaMemcpyAsync(staged_labels_[k].get(), pinned_labels_[k],
                             size_t(rows) * sizeof(int32_t), cudaMemcpyHostToDevice, copy_));
  CUDA_CHECK(cudaEventRecord(copied_[k], copy_));
  CUDA_CHECK(cudaStreamWaitEvent(compute, copied_[k], 0));
}

void BatchStream::release(int k, cudaStream_t compute) {
  CUDA_CHECK(cudaEventRecord(released_[k], compute));
}

}  // namespace gt::engine::cuda
