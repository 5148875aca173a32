// Command-line checks for numbers: CLI11's NonNegativeNumber and Range let "nan" through (every
// comparison with NaN is false), accept "inf", and call junk such as "abc" out of range, so
// every numeric option uses these instead. The text must parse as a finite number
// (common/numbers.h), and a whole number for an integer option; "nan", "inf" and junk are
// "not a number", a number outside the bounds is "out of range".
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
        if (!v) return fmt::format("'{}' is not a number", text);
        if (*v < min || *v > max)
          return fmt::format("'{}' is out of range: expected {}", text, what);
        return {};
      },
      what.substr(2));
}

// A CLI11 validator for an integer option: a whole number in [min, max].
inline CLI::Validator whole_number(long long min, long long max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        const auto v = parse_finite(text);
        if (!v) return fmt::format("'{}' is not a number", text);
        if (text.find_first_of(".eE") != std::string::npos)
          return fmt::format("'{}' is not a whole number", text);
        if (*v < static_cast<double>(min) || *v > static_cast<double>(max))
          return fmt::format("'{}' is out of range: expected a whole number in {} .. {}", text, min,
                             max);
        return {};
      },
      fmt::format("whole number in {} .. {}", min, max));
}

// A finite number > 0 (a strictly positive quantity such as a TDP or an intensity).
inline CLI::Validator finite_positive() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const auto v = parse_finite(text);
        if (!v) return fmt::format("'{}' is not a number", text);
        if (!(*v > 0)) return fmt::format("'{}' is not a positive number", text);
        return {};
      },
      "positive number");
}

}  // namespace gt
