// The metered run's reserved names and the name check (see reserved_names.h).
#include "run/reserved_names.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>

namespace gt::run {
namespace {

bool same_nocase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool listed(const std::vector<std::string>& list, const std::string& name) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& x) { return same_nocase(x, name); });
}

bool ends_with_nocase(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && same_nocase(s.substr(s.size() - tail.size()), tail);
}

}  // namespace

const std::vector<std::string>& energy_columns() {
  static const std::vector<std::string> v = {
      "duration_s",    "energy_j",     "gpu_energy_j", "cpu_energy_j", "ram_energy_j",
      "wall_energy_j", "net_energy_j", "avg_power_w",  "peak_power_w", "co2e_g"};
  return v;
}

const std::vector<std::string>& quality_columns() {
  static const std::vector<std::string> v = {"outside_cpu_share", "flagged_phases"};
  return v;
}

const std::vector<std::string>& component_names() {
  static const std::vector<std::string> v = {"gpu", "cpu", "ram", "wall", "net"};
  return v;
}

const std::vector<std::string>& phase_column_suffixes() {
  static const std::vector<std::string> v = {"_energy_j", "_net_energy_j", "_duration_s",
                                             "_gpu_energy_j", "_uncertainty_j"};
  return v;
}

std::optional<std::string> NameCheck::metric_key(const std::string& name, std::string& why) const {
  for (const auto& k : kept_)
    if (same_nocase(k.name, name)) {
      why = fmt::format("ignored metric '{}': the name is {} (rename it in the workload)", name,
                        k.why);
      return std::nullopt;
    }
  for (const auto& c : energy_columns())
    if (same_nocase(c, name)) return (c == "duration_s" ? "train_" : "workload_") + c;
  for (const auto& c : quality_columns())
    if (same_nocase(c, name)) return "workload_" + c;
  return name;
}

std::optional<std::string> NameCheck::phase_problem(const std::string& name) const {
  if (listed(component_names(), name))
    return fmt::format(
        "ignored phase '{}': its columns ({}_energy_j, ...) would be the run's own {} figures; "
        "rename the phase",
        name, name, name);
  for (const auto& c : component_names())
    if (ends_with_nocase(name, "_" + c))
      return fmt::format(
          "ignored phase '{}': its column {}_energy_j would be the {} figure of a phase '{}'; "
          "rename the phase",
          name, name, c, name.substr(0, name.size() - c.size() - 1));
  for (const auto& suffix : phase_column_suffixes()) {
    const std::string column = name + suffix;
    if (listed(energy_columns(), column))
      return fmt::format("ignored phase '{}': its column {} is the run's own; rename the phase",
                         name, column);
    for (const auto& k : kept_)
      if (same_nocase(k.name, column))
        return fmt::format("ignored phase '{}': its column {} is {}; rename the phase", name,
                           column, k.why);
  }
  return std::nullopt;
}

}  // namespace gt::run
