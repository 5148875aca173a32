// Strict parsing of outside numbers (see numbers.h).
#include "common/numbers.h"

#include <charconv>
#include <cmath>

namespace gt {

std::optional<double> parse_finite(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

bool plausible_power_w(double watts) {
  return std::isfinite(watts) && watts >= 0 && watts <= kMaxPlausiblePowerW;
}

}  // namespace gt
