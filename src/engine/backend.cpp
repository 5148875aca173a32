// The Backend interface's MLP view: ModelSpec ↔ Network and Parameters ↔ slab, and the
// adapters that let tests and benchmarks drive any backend with them.
#include "engine/backend.h"

#include <fmt/core.h>

#include "common/error.h"
#include "engine/graph/model_text.h"

namespace gt::engine {

graph::Network to_network(const ModelSpec& spec) {
  graph::ModelText text;
  text.family = "mlp";
  text.neurons = spec.hidden;
  return graph::build_network(text, graph::Shape{1, 1, spec.inputs}, spec.classes, spec.dropout);
}

std::optional<ModelSpec> as_mlp(const graph::Network& net) {
  using namespace graph;
  ModelSpec spec;
  spec.inputs = int(net.input.size());
  spec.classes = net.classes;
  std::vector<float> rates;  // the dropout after each hidden layer (0: none)
  const auto& L = net.layers;
  size_t i = 0;
  if (i < L.size() && std::holds_alternative<Flatten>(L[i].spec)) ++i;
  while (i < L.size()) {
    const auto* dense = std::get_if<Dense>(&L[i].spec);
    if (!dense) return std::nullopt;
    if (i + 1 == L.size()) {
      for (float r : rates)
        if (r != rates.front()) return std::nullopt;
      spec.dropout = rates.empty() ? 0.0f : rates.front();
      return dense->units == net.classes ? std::optional(spec) : std::nullopt;
    }
    if (!std::holds_alternative<ReLU>(L[i + 1].spec)) return std::nullopt;
    spec.hidden.push_back(dense->units);
    i += 2;
    const auto* drop = i < L.size() ? std::get_if<Dropout>(&L[i].spec) : nullptr;
    rates.push_back(drop ? drop->rate : 0.0f);
    if (drop) ++i;
  }
  return std::nullopt;
}

Parameters dense_view(const graph::ParamLayout& layout, std::span<const float> slab) {
  if (slab.size() != size_t(layout.elements))
    throw gt::Error(fmt::format("internal: a slab of {} values for a layout of {}", slab.size(),
                                layout.elements));
  Parameters p;
  for (const graph::TensorSlot& s : layout.slots) {
    const auto v = graph::view(slab, s);
    if (s.role == graph::TensorRole::weight && s.shape.size() == 2)
      p.weights.emplace_back(v.begin(), v.end());
    else if (s.role == graph::TensorRole::bias && p.biases.size() + 1 == p.weights.size())
      p.biases.emplace_back(v.begin(), v.end());
    else
      throw gt::Error(
          fmt::format("internal: tensor {} has no place in a per-Dense-layer view", s.name));
  }
  return p;
}

std::vector<float> dense_slab(const graph::ParamLayout& layout, const Parameters& params) {
  std::vector<float> slab(size_t(layout.elements), 0.0f);
  size_t w = 0, b = 0;
  for (const graph::TensorSlot& s : layout.slots) {
    const bool weight = s.role == graph::TensorRole::weight && s.shape.size() == 2;
    const bool bias = s.role == graph::TensorRole::bias;
    const std::vector<std::vector<float>>& from = weight ? params.weights : params.biases;
    size_t& k = weight ? w : b;
    if ((!weight && !bias) || k >= from.size() || from[k].size() != size_t(s.size))
      throw gt::Error(
          fmt::format("parameters do not match the model's tensor {} ({} values)", s.name, s.size));
    std::copy(from[k].begin(), from[k].end(), slab.begin() + s.offset);
    ++k;
  }
  if (w != params.weights.size() || b != params.biases.size())
    throw gt::Error(
        fmt::format("parameters have {} layers; the model has {}", params.weights.size(), w));
  return slab;
}

void Backend::setup(const ModelSpec& model, const OptimizerSpec& opt, Precision precision,
                    int batch_size, const Dataset& train, uint64_t seed) {
  setup(to_network(model), opt, precision, batch_size, train, seed);
}

void Backend::set_parameters(const Parameters& params) { set_values(dense_slab(layout(), params)); }

Parameters Backend::parameters() { return dense_view(layout(), values()); }

}  // namespace gt::engine
