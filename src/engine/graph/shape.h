// The shape of one sample as it flows through a network, in NHWC order without the batch:
// height × width × channels, channels fastest in memory (the layout cuDNN's tensor cores and
// oneDNN's CPU kernels run fastest on). Flat features are 1 × 1 × features, so a Dense layer's
// input and output are shapes too.
#pragma once
#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace gt::engine::graph {

struct Shape {
  int height = 1, width = 1, channels = 0;

  int64_t size() const { return int64_t(height) * width * channels; }  // values per sample
  bool flat() const { return height == 1 && width == 1; }
  bool operator==(const Shape&) const = default;
};

// "28x28x1" for an image, "784" for flat features.
std::string to_string(const Shape& shape);

// The shape of one sample of `data`: its image shape, or 1 × 1 × features for tabular data.
Shape input_shape(const data::Dataset& data);

}  // namespace gt::engine::graph
