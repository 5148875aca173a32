// A figure the energy module may lack (a GPU setting NVML did not report, an idle power never
// measured) as JSON: the number, or null when there is none.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>

namespace gt::energy {

inline nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

}  // namespace gt::energy
