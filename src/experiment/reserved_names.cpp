// The reserved names (see reserved_names.h).
#include "experiment/reserved_names.h"

#include <algorithm>

#include "common/ascii_case.h"
#include "experiment/run_setup.h"

namespace gt::experiment {
namespace {

bool contains_nocase(const std::vector<std::string>& list, const std::string& name) {
  const std::string n = ascii_lower(name);
  return std::any_of(list.begin(), list.end(), [&](const std::string& x) { return x == n; });
}

}  // namespace

const std::vector<std::string>& run_placeholders() {
  static const std::vector<std::string> v = {"seed", "run_id", "block", "repeat", "metrics_file"};
  return v;
}

const std::vector<std::string>& run_columns() {
  static const std::vector<std::string> v = {"run_id", "block", "repeat", "status", "warmup"};
  return v;
}

const std::vector<std::string>& fixed_metric_columns() {
  static const std::vector<std::string> v = {"test_accuracy", "final_loss"};
  return v;
}

std::optional<std::string> reserved_factor_name(const std::string& name) {
  if (contains_nocase(run_placeholders(), name) || contains_nocase(run_columns(), name))
    return "a field greentrain sets for each run";
  if (contains_nocase(run::energy_columns(), name) || contains_nocase(fixed_metric_columns(), name))
    return "a column of the runs table greentrain measures";
  if (contains_nocase(context_columns(), name))
    return "a column of the runs table that says what the run ran on";
  return std::nullopt;
}

run::NameCheck workload_name_check(const std::vector<std::string>& factors) {
  std::vector<run::KeptName> kept;
  for (const auto* list : {&run_placeholders(), &run_columns()})
    for (const auto& n : *list) kept.push_back({n, "a field greentrain sets for each run"});
  for (const auto& n : context_columns())
    kept.push_back({n, "a column of the runs table that says what the run ran on"});
  for (const auto& f : factors) kept.push_back({f, "a factor's name"});
  return run::NameCheck(std::move(kept));
}

std::string env_name(const std::string& factor) { return ascii_upper(factor); }

}  // namespace gt::experiment
