// Channel padding of a network and the map between the two parameter layouts (see padded.h).
#include "engine/graph/padded.h"

#include <fmt/core.h>

#include "common/error.h"

namespace gt::engine::graph {
namespace {

// How the values of one sample are laid out, before and after padding: height × width ×
// channels (a Flatten keeps it, so a Dense after it knows which inputs are padding).
struct Features {
  int64_t height = 1, width = 1, channels = 0, padded = 0;
  int64_t map(int64_t i) const {  // an original feature index → its padded index
    const int64_t c = i % channels, pixel = i / channels;
    return pixel * padded + c;
  }
};

}  // namespace

int64_t round_up(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

PaddedNetwork pad_channels(const Network& net, int multiple) {
  if (multiple < 1) throw gt::Error(fmt::format("internal: channel multiple {}", multiple));
  PaddedNetwork out;
  out.multiple = multiple;
  Shape input = net.input;
  if (!input.flat()) input.channels = int(round_up(input.channels, multiple));
  std::vector<LayerSpec> specs;
  for (const Layer& layer : net.layers) {
    LayerSpec spec = layer.spec;
    if (auto* c = std::get_if<Conv2D>(&spec)) c->filters = int(round_up(c->filters, multiple));
    specs.push_back(spec);
  }
  out.net = make_network(net.text, input, net.classes, specs);
  out.layout = layout_of(out.net);
  const ParamLayout original = layout_of(net);

  // Each layer's input features, original and padded.
  std::vector<Features> in(net.layers.size());
  Features f{net.input.height, net.input.width, net.input.channels, input.channels};
  for (size_t l = 0; l < net.layers.size(); ++l) {
    in[l] = f;
    const Layer& a = net.layers[l];
    const Layer& b = out.net.layers[l];
    if (std::holds_alternative<Flatten>(a.spec)) continue;  // same values, same order
    f = Features{a.out.height, a.out.width, a.out.channels, b.out.channels};
  }

  out.index.assign(size_t(original.elements), -1);
  for (const TensorSlot& s : original.slots) {
    const TensorSlot& p = out.layout.slot(s.name);
    out.changed = out.changed || p.size != s.size;
    const bool dense_weight =
        s.role == TensorRole::weight && std::holds_alternative<Dense>(net.layers[s.layer].spec);
    const bool conv_weight =
        s.role == TensorRole::weight && std::holds_alternative<Conv2D>(net.layers[s.layer].spec);
    for (int64_t i = 0; i < s.size; ++i) {
      int64_t j = i;  // biases, γ, β, statistics: the same index in a longer vector
      if (dense_weight) {
        const int64_t inputs = s.shape[1], row = i / inputs;
        j = row * p.shape[1] + in[size_t(s.layer)].map(i % inputs);
      } else if (conv_weight) {  // [K][R][S][C] → [Kp][R][S][Cp]: same filter, padded channels
        const int64_t c = s.shape[3], cp = p.shape[3];
        j = (i / c) * cp + i % c;
      }
      out.index[size_t(s.offset + i)] = p.offset + j;
    }
  }
  return out;
}

std::vector<float> to_padded(const PaddedNetwork& padded, std::span<const float> values) {
  if (values.size() != padded.index.size())
    throw gt::Error(
        fmt::format("internal: {} values for a layout of {}", values.size(), padded.index.size()));
  std::vector<float> out(size_t(padded.layout.elements), 0.0f);
  for (size_t i = 0; i < values.size(); ++i)
    if (padded.index[i] >= 0) out[size_t(padded.index[i])] = values[i];
  return out;
}

std::vector<float> from_padded(const PaddedNetwork& padded, std::span<const float> values) {
  if (values.size() != size_t(padded.layout.elements))
    throw gt::Error(fmt::format("internal: {} values for a padded layout of {}", values.size(),
                                padded.layout.elements));
  std::vector<float> out(padded.index.size(), 0.0f);
  for (size_t i = 0; i < out.size(); ++i)
    if (padded.index[i] >= 0) out[i] = values[size_t(padded.index[i])];
  return out;
}

}  // namespace gt::engine::graph
