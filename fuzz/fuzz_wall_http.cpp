// Fuzz target: a smart plug's JSON answer (`--wall http:URL#POINTER`). The first line is the
// JSON pointer when it starts with '/', else /apower; the rest is the body. A reading, when
// there is one, must be a plausible power; nothing may throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/numbers.h"
#include "energy/wall.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string pointer = "/apower", body = text;
  const auto nl = text.find('\n');
  if (!text.empty() && text[0] == '/' && nl != std::string::npos) {
    pointer = text.substr(0, nl);
    body = text.substr(nl + 1);
  }
  const auto w = gt::energy::parse_json_watts(body, pointer);
  if (w && !gt::plausible_power_w(*w)) __builtin_trap();
  return 0;
}
