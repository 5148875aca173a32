// The parameter layout of a network (see param_layout.h).
#include "engine/graph/param_layout.h"

#include <fmt/core.h>

#include "common/error.h"

namespace gt::engine::graph {
namespace {

int64_t align_up(int64_t x) { return (x + kSlabAlign - 1) / kSlabAlign * kSlabAlign; }

// The tensors of one layer, without offsets, trainable ones and buffers apart.
void layer_slots(const Layer& layer, int index, std::vector<TensorSlot>& trainable,
                 std::vector<TensorSlot>& buffers) {
  auto add = [&](TensorRole role, std::vector<int> shape, Init init, bool train, bool fp32,
                 int fan_in = 0, int fan_out = 0) {
    TensorSlot s;
    s.name = layer.name + "." + to_string(role);
    s.layer = index;
    s.role = role;
    s.size = 1;
    for (int d : shape) s.size *= d;
    s.shape = std::move(shape);
    s.trainable = train;
    s.fp32_only = fp32;
    s.init = init;
    s.fan_in = fan_in;
    s.fan_out = fan_out;
    (train ? trainable : buffers).push_back(std::move(s));
  };
  if (const auto* d = std::get_if<Dense>(&layer.spec)) {
    const int in = int(layer.in.size());
    add(TensorRole::weight, {d->units, in}, Init::glorot_uniform, true, false, in, d->units);
    add(TensorRole::bias, {d->units}, Init::zeros, true, false);
  } else if (const auto* c = std::get_if<Conv2D>(&layer.spec)) {
    const int k = c->kernel, in = layer.in.channels;
    add(TensorRole::weight, {c->filters, k, k, in}, Init::he_uniform, true, false, k * k * in,
        k * k * c->filters);
    if (c->bias) add(TensorRole::bias, {c->filters}, Init::zeros, true, false);
  } else if (std::holds_alternative<BatchNorm>(layer.spec)) {
    const int ch = layer.in.channels;
    add(TensorRole::gamma, {ch}, Init::ones, true, true);
    add(TensorRole::beta, {ch}, Init::zeros, true, true);
    add(TensorRole::running_mean, {ch}, Init::zeros, false, true);
    add(TensorRole::running_var, {ch}, Init::ones, false, true);
  }
}

}  // namespace

std::string to_string(TensorRole role) {
  switch (role) {
    case TensorRole::weight:
      return "weight";
    case TensorRole::bias:
      return "bias";
    case TensorRole::gamma:
      return "gamma";
    case TensorRole::beta:
      return "beta";
    case TensorRole::running_mean:
      return "running_mean";
    case TensorRole::running_var:
      return "running_var";
  }
  return "?";
}

ParamLayout layout_of(const Network& net) {
  std::vector<TensorSlot> trainable, buffers;
  for (size_t l = 0; l < net.layers.size(); ++l)
    layer_slots(net.layers[l], int(l), trainable, buffers);
  ParamLayout layout;
  int64_t offset = 0;
  for (auto* group : {&trainable, &buffers}) {
    for (TensorSlot& s : *group) {
      s.offset = offset;
      offset = align_up(offset + s.size);
      layout.slots.push_back(std::move(s));
    }
    if (group == &trainable) layout.trainable_elements = offset;
  }
  layout.elements = offset;
  return layout;
}

const TensorSlot& ParamLayout::slot(std::string_view name) const {
  for (const TensorSlot& s : slots)
    if (s.name == name) return s;
  throw gt::Error(fmt::format("internal: the network has no tensor '{}'", name));
}

const TensorSlot* ParamLayout::find(int layer, TensorRole role) const {
  for (const TensorSlot& s : slots)
    if (s.layer == layer && s.role == role) return &s;
  return nullptr;
}

}  // namespace gt::engine::graph
