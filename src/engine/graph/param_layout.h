// The parameter layout: every tensor of a network (trainable weights, biases, BatchNorm's γ
// and β, and its running statistics, which are buffers) as a named slot in one flat slab of
// floats. Backends allocate their slabs (FP32 master weights, gradients, optimizer moments,
// reduced-precision copies) with this layout, so one offset finds a tensor in each of them;
// values cross the Backend interface as a whole slab in this layout. Trainable slots come
// first and fill [0, trainable_elements), so an optimizer is one loop over that range and
// never touches a buffer. Every slot starts at a multiple of kSlabAlign elements (512 bytes
// of FP32, aligned for vector loads and GPU transactions); the padding between slots is zero.
// Tensor layouts: Dense weight [units][inputs], Conv2D weight [filters][kh][kw][in] (OHWI),
// biases, γ, β and statistics [channels].
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph/network.h"

namespace gt::engine::graph {

constexpr int64_t kSlabAlign = 128;

enum class TensorRole { weight, bias, gamma, beta, running_mean, running_var };
enum class Init { glorot_uniform, he_uniform, zeros, ones };

struct TensorSlot {
  std::string name;  // "<layer>.<role>": "conv1.weight", "bn1.running_var"
  int layer = 0;     // index into Network::layers
  TensorRole role = TensorRole::weight;
  std::vector<int> shape;
  int64_t offset = 0;  // elements from the start of the slab
  int64_t size = 0;    // elements
  bool trainable = true;
  // Stored FP32 under every precision (BatchNorm's γ, β and statistics); other trainable
  // tensors are rounded to the policy's storage type in the compute copy.
  bool fp32_only = false;
  Init init = Init::zeros;
  int fan_in = 0, fan_out = 0;  // for the Glorot and He bounds
};

struct ParamLayout {
  std::vector<TensorSlot> slots;  // trainable slots first, each in layer order
  int64_t elements = 0;           // the slab's length, padding included
  int64_t trainable_elements = 0;

  // The slot named `name`; throws gt::Error when there is none.
  const TensorSlot& slot(std::string_view name) const;
  // The slot of layer `layer` with `role`, or nullptr.
  const TensorSlot* find(int layer, TensorRole role) const;
};

ParamLayout layout_of(const Network& net);

std::string to_string(TensorRole role);  // "weight", "bias", "gamma", …

// A slot's values in a slab laid out by its layout.
inline std::span<float> view(std::span<float> slab, const TensorSlot& s) {
  return slab.subspan(size_t(s.offset), size_t(s.size));
}
inline std::span<const float> view(std::span<const float> slab, const TensorSlot& s) {
  return slab.subspan(size_t(s.offset), size_t(s.size));
}

}  // namespace gt::engine::graph
