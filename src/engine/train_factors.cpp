// The builtin workload's factors (see train_factors.h).
#include "engine/train_factors.h"

#include <fmt/core.h>

#include <algorithm>

#include "common/error.h"
#include "common/numbers.h"
#include "engine/graph/model_text.h"
#include "engine/precision.h"

namespace gt::engine {
namespace {

bool positive_int(std::string_view s) {
  return !s.empty() && s.size() < 10 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         std::stol(std::string(s)) > 0;
}

std::string join_precisions() {
  std::string out;
  for (const auto& p : precision_names()) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

const std::vector<TrainFactor>& train_factors() {
  static const std::vector<TrainFactor> factors{
      {"precision", "--precision", "one of " + join_precisions(), R"(["fp32", "bf16"])"},
      {"batch_size", "--batch-size", "a positive integer", "[32, 128]"},
      {"neurons", "", "hidden layer sizes such as 128 or \"512,256\"", "[128]"},
      {"filters", "", "convolution filters per block such as \"32,64,128\"", R"(["32,64,128"])"},
      {"epochs", "--epochs", "a positive integer", "[1]"},
      {"lr", "--lr", "a positive finite number", "[0.001]"},
      {"optimizer", "--optimizer", "adam or sgd", R"(["adam"])"},
      {"image_size", "--image-size", "a positive integer (pixels per side)", "[32]"},
  };
  return factors;
}

const TrainFactor* find_train_factor(std::string_view name) {
  for (const auto& f : train_factors())
    if (f.name == name) return &f;
  return nullptr;
}

std::string train_factor_names() {
  std::string out;
  for (const auto& f : train_factors()) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

void check_factor_level(std::string_view name, std::string_view v) {
  const TrainFactor* f = find_train_factor(name);
  if (!f) throw gt::UsageError(fmt::format("expected one of: {}", train_factor_names()));
  bool ok = true;
  if (name == "precision") {
    const auto& p = precision_names();
    ok = std::find(p.begin(), p.end(), v) != p.end();
  } else if (name == "batch_size" || name == "epochs" || name == "image_size") {
    ok = positive_int(v);
  } else if (name == "neurons" || name == "filters") {
    try {
      graph::parse_widths(v, name == "neurons" ? "neurons" : "filters");
    } catch (const gt::UsageError&) {
      ok = false;
    }
  } else if (name == "lr") {
    const auto x = parse_finite(std::string(v));
    ok = x && *x > 0;
  } else if (name == "optimizer") {
    ok = v == "adam" || v == "sgd";
  }
  if (!ok) throw gt::UsageError("expected " + f->expected);
}

std::string run_model_text(std::string_view model, const std::optional<std::string>& neurons,
                           const std::optional<std::string>& filters) {
  graph::ModelText m;
  if (model == "mlp") {
    if (!neurons)
      throw gt::UsageError(
          "expected \"mlp:H\" or \"mlp:H1,H2\" with positive widths, or \"mlp\" with a neurons "
          "factor");
    m.family = "mlp";
  } else if (model == "cnn") {
    if (!filters)
      throw gt::UsageError(
          "expected \"cnn:F1,F2,…[/H]\" with positive filters and widths, or \"cnn\" with a "
          "filters factor");
    m.family = "cnn";
    m.neurons = {graph::kDefaultHead};
  } else {
    m = graph::parse_model_text(model);
  }
  if (filters && m.family != "cnn")
    throw gt::UsageError(
        fmt::format("expected a cnn model with a filters factor ({} has no "
                    "convolutions)",
                    m.family));
  if (neurons) m.neurons = graph::parse_widths(*neurons, "neurons");
  if (filters) m.filters = graph::parse_widths(*filters, "filters");
  return graph::to_string(m);
}

std::string factor_label(std::string_view name, std::string_view v) {
  const std::string level(v);
  if (name == "precision") return level;
  if (name == "batch_size") return "batch " + level;
  if (name == "neurons") return level + " neurons";
  if (name == "filters") return "filters " + level;
  if (name == "epochs") return level + (level == "1" ? " epoch" : " epochs");
  if (name == "image_size") return level + " px";
  return std::string(name) + "=" + level;
}

}  // namespace gt::engine
