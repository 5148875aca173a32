// Shell words and script-safe text (see shell_text.h).
#include "common/shell_text.h"

#include <fmt/core.h>

namespace gt {

std::string shell_quote(std::string_view s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./:=,+@%") == std::string_view::npos)
    return std::string(s);
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::optional<std::string> control_character_problem(std::string_view text) {
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7F) continue;
    const char* what = c == '\n'   ? ", a line break"
                       : c == '\r' ? ", a carriage return"
                       : c == '\t' ? ", a tab"
                       : c == 0    ? ", a NUL"
                                   : "";
    return fmt::format("contains a control character (byte 0x{:02X}{})", c, what);
  }
  return std::nullopt;
}

}  // namespace gt
