// Fuzz target: a wall logger's `timestamp,watts` CSV (`--wall file:`): parsing, timestamps
// (epoch or ISO 8601) and the integration over the logged span, which must be finite and
// non-negative.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "energy/wall.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::istringstream in(text);
  const auto pts = gt::energy::parse_wall_log(in, "fuzz.csv");
  if (!pts.empty()) {
    const double e = gt::energy::integrate_power(pts, pts.front().first, pts.back().first);
    if (!(std::isfinite(e) && e >= 0)) __builtin_trap();
  }
  (void)gt::energy::parse_timestamp(text.substr(0, 64));
  return 0;
}
