// The factors a plan's builtin workload may vary, and how each reaches `greentrain train`: one
// table that plan validation, the workload builder, `experiment init` and the report read, so
// the trainer's vocabulary is written once. Model factors (neurons, filters) are not flags of
// their own: they complete the model text (graph/model_text.h), see run_model_text.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gt::engine {

struct TrainFactor {
  std::string name;      // "batch_size"
  std::string flag;      // "--batch-size"; empty for the model factors
  std::string expected;  // what a level looks like, for messages: "a positive integer"
  std::string example;   // the levels `experiment init` writes: "[32, 128]"
};

const std::vector<TrainFactor>& train_factors();
const TrainFactor* find_train_factor(std::string_view name);
// "precision, batch_size, …": the names, for messages.
std::string train_factor_names();

// Throws gt::UsageError "expected …" (the factor's `expected`) when `level` is not a valid
// level of factor `name`.
void check_factor_level(std::string_view name, std::string_view level);

// The --model text of one run: `model` is a family ("mlp", "cnn") or a whole model text, and
// a neurons or filters level (when the plan varies it) replaces that part of it. "mlp" needs
// neurons, "cnn" needs filters (its head defaults to graph::kDefaultHead units). Throws
// gt::UsageError "expected …" when they do not make a model.
std::string run_model_text(std::string_view model, const std::optional<std::string>& neurons,
                           const std::optional<std::string>& filters);

// A level as people read it: "128 neurons", "batch 32", "10 epochs", "filters 32,64,128",
// "32 px", "fp16"; other factors as "name=level".
std::string factor_label(std::string_view name, std::string_view level);

}  // namespace gt::engine
