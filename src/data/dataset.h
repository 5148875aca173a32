// The in-memory form of one split of a classification data set, shared by the loaders (data/)
// and the compute backends (engine/). Image data stays bytes (value = u8 * scale, so a GPU
// backend can keep the set resident as bytes and normalise on the device); tabular data is
// already standardised FP32. Exactly one of u8 / f32 is non-empty.
#pragma once
#include <cstdint>
#include <vector>

namespace gt::data {

struct Dataset {
  int64_t rows = 0;
  int features = 0;
  int classes = 0;
  std::vector<uint8_t> u8;
  std::vector<float> f32;
  float scale = 1.0f / 255.0f;
  std::vector<int32_t> labels;

  // Feature j of row i as FP32 (u8 * scale, or the standardised value).
  float value(int64_t row, int j) const {
    const int64_t k = row * features + j;
    return u8.empty() ? f32[k] : float(u8[k]) * scale;
  }
  // The rows [first, first + count) as a new data set (same classes and scale).
  Dataset slice(int64_t first, int64_t count) const;
};

}  // namespace gt::data
