// The model grammar (see model_text.h): parsing, the canonical text, and the layer list of
// each family.
#include "engine/graph/model_text.h"

#include <fmt/core.h>

#include <charconv>

#include "common/error.h"

namespace gt::engine::graph {
namespace {

constexpr int kMaxWidth = 1 << 20;

void add_head(std::vector<LayerSpec>& layers, const std::vector<int>& neurons, float dropout,
              int classes) {
  for (int width : neurons) {
    layers.push_back(Dense{width});
    layers.push_back(ReLU{});
    if (dropout > 0) layers.push_back(Dropout{dropout});
  }
  layers.push_back(Dense{classes});
}

}  // namespace

std::string model_grammar() { return "mlp:H1[,H2…] or cnn:F1[,F2…][/H1[,H2…]]"; }

std::string widths_string(const std::vector<int>& widths) {
  std::string s;
  for (size_t i = 0; i < widths.size(); ++i) s += (i ? "," : "") + std::to_string(widths[i]);
  return s;
}

std::vector<int> parse_widths(std::string_view text, const std::string& what) {
  std::vector<int> out;
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    int width = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), width);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || width <= 0 ||
        width > kMaxWidth)
      throw gt::UsageError(
          fmt::format("'{}' is not a list of {} (expected positive integers "
                      "separated by commas, e.g. 128 or 512,256)",
                      text, what));
    out.push_back(width);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

ModelText parse_model_text(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return gt::UsageError(
        fmt::format("unknown model spec '{}': {} (expected {} with positive "
                    "widths, e.g. mlp:128 or cnn:32,64,128/128)",
                    text, why, model_grammar()));
  };
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) throw bad("no family (mlp: or cnn:)");
  ModelText m;
  m.family = std::string(text.substr(0, colon));
  const std::string_view rest = text.substr(colon + 1);
  const auto widths = [&](std::string_view part, const char* what) {
    if (part.empty()) throw bad(fmt::format("no {}", what));
    try {
      return parse_widths(part, what);
    } catch (const gt::UsageError&) {
      throw bad(fmt::format("'{}' is not a list of {}", part, what));
    }
  };
  if (m.family == "mlp") {
    m.neurons = widths(rest, "hidden layer widths");
  } else if (m.family == "cnn") {
    const auto slash = rest.find('/');
    m.filters = widths(rest.substr(0, slash), "filters");
    m.neurons = slash == std::string_view::npos ? std::vector<int>{kDefaultHead}
                                                : widths(rest.substr(slash + 1), "head widths");
  } else {
    throw bad(fmt::format("unknown family '{}'", m.family));
  }
  return m;
}

std::string to_string(const ModelText& m) {
  if (m.family == "cnn") return "cnn:" + widths_string(m.filters) + "/" + widths_string(m.neurons);
  return m.family + ":" + widths_string(m.neurons);
}

Network build_network(const ModelText& m, const Shape& input, int classes, float dropout) {
  if (!(dropout >= 0.0f && dropout < 1.0f))
    throw gt::UsageError(
        fmt::format("--dropout {} is out of range (expected 0 <= p < 1)", dropout));
  if (classes < 2)
    throw gt::UsageError(
        fmt::format("the data have {} class; a classifier needs at least 2", classes));
  std::vector<LayerSpec> layers;
  if (m.family == "cnn") {
    if (input.flat())
      throw gt::UsageError(
          fmt::format("{} needs image data (height x width x channels); the "
                      "data have {} flat features",
                      to_string(m), input.channels));
    Shape shape = input;
    for (size_t b = 0; b < m.filters.size(); ++b) {
      if (shape.height < 2 || shape.width < 2)
        throw gt::UsageError(
            fmt::format("{}: block {} cannot pool a {}x{} image (after {} "
                        "blocks on {}); use fewer blocks or larger images",
                        to_string(m), b + 1, shape.height, shape.width, b, to_string(input)));
      layers.push_back(Conv2D{m.filters[b], 3, 1, false});
      layers.push_back(BatchNorm{});
      layers.push_back(ReLU{});
      layers.push_back(MaxPool2D{2, 2});
      shape = Shape{shape.height / 2, shape.width / 2, m.filters[b]};
    }
    layers.push_back(GlobalAvgPool{});
  } else {
    layers.push_back(Flatten{});
  }
  add_head(layers, m.neurons, dropout, classes);
  return make_network(to_string(m), input, classes, layers);
}

Network parse_network(std::string_view text, const Shape& input, int classes, float dropout) {
  return build_network(parse_model_text(text), input, classes, dropout);
}

}  // namespace gt::engine::graph
