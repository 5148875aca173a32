// How the statistics module writes a value it cannot compute (too few runs, zero variance): NaN
// in its results, null in their JSON.
#pragma once
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace gt::stats {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// `v` as a JSON number, or null when it is NaN or infinite.
inline nlohmann::json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

}  // namespace gt::stats
