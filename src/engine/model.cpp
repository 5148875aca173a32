// Model spec parsing, sizes, FLOP counts, Glorot-uniform initialisation and epoch shuffles.
#include "engine/model.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <numeric>
#include <random>

#include "common/error.h"

namespace gt::engine {

ModelSpec parse_model_spec(std::string_view text, int inputs, int classes, float dropout) {
  const auto bad = [&](const std::string& why) {
    return gt::UsageError(
        fmt::format("unknown model spec '{}': {} (expected mlp:H or "
                    "mlp:H1,H2,… with positive layer widths, e.g. mlp:128)",
                    text, why));
  };
  if (text.substr(0, 4) != "mlp:") throw bad("only 'mlp:' models are supported");
  ModelSpec spec;
  spec.inputs = inputs;
  spec.classes = classes;
  spec.dropout = dropout;
  std::string_view rest = text.substr(4);
  if (rest.empty()) throw bad("no hidden layer widths");
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    int width = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), width);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || width <= 0 ||
        width > 1 << 20)
      throw bad(fmt::format("'{}' is not a layer width", item));
    spec.hidden.push_back(width);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (!(dropout >= 0.0f && dropout < 1.0f))
    throw gt::UsageError(
        fmt::format("--dropout {} is out of range (expected 0 <= p < 1)", dropout));
  return spec;
}

std::string neurons_string(const ModelSpec& spec) {
  std::string s;
  for (size_t i = 0; i < spec.hidden.size(); ++i)
    s += (i ? "," : "") + std::to_string(spec.hidden[i]);
  return s;
}

std::string to_string(const ModelSpec& spec) { return "mlp:" + neurons_string(spec); }

int layer_count(const ModelSpec& spec) { return int(spec.hidden.size()) + 1; }
int layer_inputs(const ModelSpec& spec, int l) { return l == 0 ? spec.inputs : spec.hidden[l - 1]; }
int layer_outputs(const ModelSpec& spec, int l) {
  return l < int(spec.hidden.size()) ? spec.hidden[l] : spec.classes;
}

int64_t parameter_count(const ModelSpec& spec) {
  int64_t n = 0;
  for (int l = 0; l < layer_count(spec); ++l)
    n += int64_t(layer_inputs(spec, l) + 1) * layer_outputs(spec, l);
  return n;
}

double train_flops_per_sample(const ModelSpec& spec) {
  double f = 0;
  for (int l = 0; l < layer_count(spec); ++l) {
    const double mac = double(layer_inputs(spec, l)) * layer_outputs(spec, l);
    f += (l == 0 ? 4.0 : 6.0) * mac;
  }
  return f;
}

Parameters glorot_uniform(const ModelSpec& spec, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Parameters p;
  for (int l = 0; l < layer_count(spec); ++l) {
    const int in = layer_inputs(spec, l), out = layer_outputs(spec, l);
    const double limit = std::sqrt(6.0 / double(in + out));
    std::vector<float> w(size_t(in) * out);
    // 53 random bits → [0,1) explicitly, so the values do not depend on the standard library.
    for (auto& x : w) {
      const double u = double(rng() >> 11) * 0x1.0p-53;
      x = float((2.0 * u - 1.0) * limit);
    }
    p.weights.push_back(std::move(w));
    p.biases.emplace_back(size_t(out), 0.0f);
  }
  return p;
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
