// Command-line checks for numbers: CLI11's NonNegativeNumber and Range let "nan" through (every
// comparison with NaN is false), accept "inf", and call junk such as "abc" out of range, so
// every numeric option uses these instead. The text must parse as a finite number
// (common/numbers.h), and a whole number for an integer option; "nan", "inf" and junk are
// "not a number", a number outside the bounds is "out of range".
#pragma once
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <limits>
#include <string_view>
#include <utility>

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

// A CLI11 transform for a duration: a finite number with an optional unit (ms, s or min) within
// [0, max_s] seconds; the option receives the seconds.
inline CLI::Validator seconds_with_unit(double max_s) {
  return CLI::Validator(
      [max_s](std::string& text) -> std::string {
        std::string_view number = text;
        double scale = 1;
        for (const auto& [unit, factor] :
             {std::pair<std::string_view, double>{"min", 60.0}, {"ms", 0.001}, {"s", 1.0}})
          if (number.size() > unit.size() && number.substr(number.size() - unit.size()) == unit) {
            number.remove_suffix(unit.size());
            scale = factor;
            break;
          }
        const auto v = parse_finite(number);
        if (!v)
          return fmt::format("'{}' is not a number (a duration such as 10s, 500ms, 1min)", text);
        const double seconds = *v * scale;
        if (seconds < 0 || seconds > max_s)
          return fmt::format("'{}' is out of range: expected 0 .. {} s", text, max_s);
        text = fmt::format("{}", seconds);
        return {};
      },
      "duration");
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
