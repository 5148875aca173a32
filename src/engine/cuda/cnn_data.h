// Where the CNN path's images come from. A split that fits in GPU memory is uploaded once as
// it is stored (uint8 NHWC, or FP32 features) with its labels and per-channel mean and standard
// deviation, and every batch is gathered, normalised, channel-padded, shuffled and flipped on
// the device (cnn_kernels.h). A training set that does not fit is streamed instead: the host
// copies each batch's rows, in the same Feistel order the device would use (epoch_shuffle.h),
// into one of two pinned buffers, a copy stream moves it to one of two device staging buffers,
// and the compute stream waits only for its own buffer, so the copy of batch s + 1 overlaps the
// compute of batch s; the device still normalises, pads and flips. A run reads the same batches
// either way.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "engine/cuda/cnn_kernels.h"
#include "engine/cuda/device_buffer.h"
#include "engine/graph/shape.h"

namespace gt::engine::cuda {

// The bytes a split occupies on the device when resident (samples and labels).
size_t resident_bytes(const data::Dataset& data);

// The source fields every batch of `data` shares: the sample shape (`input`, the network's
// unpadded input), the padded channel count, the scale; no buffers yet.
ImageSource image_shape(const data::Dataset& data, const graph::Shape& input, int padded_channels);

// A split on the device: samples, labels and the normalisation (mean and stddev per channel).
class DeviceSplit {
 public:
  // Uploads `data` (synchronously: the host data may go away afterwards).
  void upload(const data::Dataset& data, const ImageSource& shape, cudaStream_t stream);
  // Whether `data` is the split uploaded last: the same storage, rows and fingerprint (labels
  // and a sample of the values), so a new data set that reuses freed memory is not mistaken
  // for it.
  bool holds(const data::Dataset& data) const;
  const ImageSource& source() const { return source_; }

 private:
  DeviceBuffer values_, labels_, mean_, stddev_;
  ImageSource source_;
  const void* key_ = nullptr;
  int64_t rows_ = -1;
  uint64_t fingerprint_ = 0;
};

// Training batches streamed from pinned host buffers (double-buffered against compute).
class BatchStream {
 public:
  BatchStream(const data::Dataset& data, int batch, const ImageSource& shape, int device);
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  // The staged source of buffer k (0 or 1): rows in order, labels beside them.
  const ImageSource& source(int k) const { return sources_[k]; }
  // Copies the `rows` rows at epoch positions [first, first + rows) of the order `counters`
  // shuffles into buffer k and queues their upload; `compute` waits for it before its next work.
  void stage(int k, const EpochCounters& counters, int64_t first, int rows, cudaStream_t compute);
  // Marks buffer k free again once the work queued on `compute` so far (its step) has run.
  void release(int k, cudaStream_t compute);
  // The same rows (positions [first, first + rows) in storage order, no shuffle) for an
  // evaluation chunk, copied synchronously.
  void stage_in_order(int k, int64_t first, int rows, cudaStream_t compute);

 private:
  void fill(int k, const int64_t* rows_of, int rows, cudaStream_t compute);

  const data::Dataset& data_;
  int batch_;
  size_t sample_bytes_;
  cudaStream_t copy_ = nullptr;
  cudaEvent_t copied_[2] = {nullptr, nullptr}, released_[2] = {nullptr, nullptr};
  uint8_t* pinned_[2] = {nullptr, nullptr};
  int32_t* pinned_labels_[2] = {nullptr, nullptr};
  DeviceBuffer staged_[2], staged_labels_[2], mean_, stddev_;
  ImageSource sources_[2];
  std::vector<int64_t> rows_of_;
};

}  // namespace gt::engine::cuda
