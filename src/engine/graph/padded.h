// A network with its channel counts padded for tensor cores, and the map between its parameter
// layout and the original's. Tensor cores read 16 bytes of channels at a time, so a GPU backend
// runs a network whose input channels and convolution filters are rounded up to a multiple
// (8 for fp16/bf16, 4 for tf32, 1 for fp32) with zero channels: zero weights for the padded
// filters and input channels, γ = β = 0 and zero statistics for padded BatchNorm channels. Those
// stay exactly zero through training (their gradients are zero, so Adam and SGD leave them), and
// every real output is the same as the original network's. Values cross the backend interface
// in the original layout; `to_padded` and `from_padded` convert whole slabs.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "engine/graph/network.h"
#include "engine/graph/param_layout.h"

namespace gt::engine::graph {

struct PaddedNetwork {
  Network net;         // the padded network: same layers and names, padded channel counts
  ParamLayout layout;  // of `net`
  int multiple = 1;
  // For each element of the original layout, its offset in the padded one (-1: slot padding).
  std::vector<int64_t> index;
  bool changed = false;  // whether any channel count was rounded up
};

int64_t round_up(int64_t value, int64_t multiple);

// `net` with the input channels and every Conv2D's filters rounded up to `multiple`.
PaddedNetwork pad_channels(const Network& net, int multiple);

// A slab of the original layout as one of the padded layout (zeros in the padding), and back.
std::vector<float> to_padded(const PaddedNetwork& padded, std::span<const float> values);
std::vector<float> from_padded(const PaddedNetwork& padded, std::span<const float> values);

}  // namespace gt::engine::graph
