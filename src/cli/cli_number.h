// Command-line checks for numbers: CLI11's NonNegativeNumber and Range let "nan" through (every
// comparison with NaN is false) and accept "inf", so options that take a physical quantity use
// these instead. The text must parse as a finite number (common/numbers.h) within the bounds.
#pragma once
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <limits>

#include "common/numbers.h"

namespace gt {

// A CLI11 validator: a finite number in [min, max].
inline CLI::Validator finite_number(double min = -std::numeric_limits<double>::max(),
                                    double max = std::numeric_limits<double>::max()) {
  const bool bounded_below = min > -std::numeric_limits<double>::max();
  const bool bounded_above = max < std::numeric_limits<double>::max();
  std::string what = bounded_below && bounded_above ? fmt::format("a number in {} .. {}", min, max)
                     : bounded_below                ? fmt::format("a number >= {}", min)
                     : bounded_above                ? fmt::format("a number <= {}", max)
                                                    : std::string("a finite number");
  return CLI::Validator(
      [min, max, what](std::string& text) -> std::string {
        const auto v = parse_finite(text);
        if (!v || *v < min || *v > max) return fmt::format("'{}' is not {}", text, what);
        return {};
      },
      what.substr(2));
}

// A finite number > 0 (a strictly positive quantity such as a TDP or an intensity).
inline CLI::Validator finite_positive() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const auto v = parse_finite(text);
        if (!v || !(*v > 0)) return fmt::format("'{}' is not a positive finite number", text);
        return {};
      },
      "positive number");
}

}  // namespace gt
