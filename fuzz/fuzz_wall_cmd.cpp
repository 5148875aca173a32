// Fuzz target: the output of a `--wall cmd:` command (ipmitool's text or any text with a
// number). A reading, when there is one, must be a plausible power.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/numbers.h"
#include "energy/wall.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto w = gt::energy::parse_watts(text);
  if (w && !gt::plausible_power_w(*w)) __builtin_trap();
  return 0;
}
