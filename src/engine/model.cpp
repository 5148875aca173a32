// The MLP spec's helpers over the layer graph, and epoch shuffles (see model.h).
#include "engine/model.h"

#include <fmt/core.h>

#include <numeric>
#include <random>

#include "common/error.h"
#include "engine/graph/init.h"
#include "engine/graph/model_text.h"

namespace gt::engine {

ModelSpec parse_model_spec(std::string_view text, int inputs, int classes, float dropout) {
  const graph::ModelText m = graph::parse_model_text(text);
  if (m.family != "mlp")
    throw gt::UsageError(
        fmt::format("model spec '{}' is a {}, not an MLP (expected mlp:H or "
                    "mlp:H1,H2,…)",
                    text, m.family));
  if (!(dropout >= 0.0f && dropout < 1.0f))
    throw gt::UsageError(
        fmt::format("--dropout {} is out of range (expected 0 <= p < 1)", dropout));
  ModelSpec spec;
  spec.inputs = inputs;
  spec.classes = classes;
  spec.dropout = dropout;
  spec.hidden = m.neurons;
  return spec;
}

std::string neurons_string(const ModelSpec& spec) { return graph::widths_string(spec.hidden); }

std::string to_string(const ModelSpec& spec) { return "mlp:" + neurons_string(spec); }

int64_t parameter_count(const ModelSpec& spec) { return graph::parameter_count(to_network(spec)); }

double train_flops_per_sample(const ModelSpec& spec) {
  return graph::train_flops_per_sample(to_network(spec));
}

Parameters glorot_uniform(const ModelSpec& spec, uint64_t seed) {
  const graph::ParamLayout layout = graph::layout_of(to_network(spec));
  return dense_view(layout, graph::initial_values(layout, seed));
}

std::vector<int32_t> epoch_order(int64_t rows, uint64_t seed, int epoch) {
  std::vector<int32_t> order(rows);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch) + 1);
  for (int64_t i = rows - 1; i > 0; --i) {
    const auto j = int64_t(rng() % uint64_t(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

}  // namespace gt::engine
