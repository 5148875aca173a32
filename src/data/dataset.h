// The in-memory form of one split of a classification data set, shared by the loaders (data/)
// and the compute backends (engine/). Image data stays bytes, one sample as height x width x
// channels (NHWC: channel fastest), value = (u8 * scale - mean[c]) / stddev[c] with per-channel
// mean and stddev (none: u8 * scale), so a GPU backend can keep the set resident as bytes and
// normalise on the device; tabular data is already standardised FP32 (height = width = 0).
// Exactly one of u8 / f32 is non-empty. The bytes are shared (data/bytes.h): copies and slices
// of a data set share them, and a decoded image cache is a read-only mapping, not a copy.
#pragma once
#include <cstdint>
#include <vector>

#include "data/bytes.h"

namespace gt::data {

struct Dataset {
  int64_t rows = 0;
  int features = 0;  // values per sample: height * width * channels for images
  int classes = 0;
  int height = 0, width = 0, channels = 1;  // image shape; height = width = 0: flat features
  Bytes u8;  // shared, copy-on-write (a view of the mapped image cache for folder data)
  std::vector<float> f32;
  float scale = 1.0f / 255.0f;
  std::vector<float> mean, stddev;  // per channel, applied after scale; empty: none
  std::vector<int32_t> labels;

  bool is_image() const { return height > 0 && width > 0; }
  // Feature j of row i as FP32 ((u8 * scale - mean) / stddev, or the standardised value).
  float value(int64_t row, int j) const {
    const int64_t k = row * features + j;
    if (!u8.empty()) {
      const float v = float(u8[k]) * scale;
      if (mean.empty()) return v;
      const int c = j % channels;
      return (v - mean[c]) / stddev[c];
    }
    return f32[k];
  }
  // The rows [first, first + count) as a new data set (same classes and scale), sharing the
  // bytes.
  Dataset slice(int64_t first, int64_t count) const;
};

}  // namespace gt::data
