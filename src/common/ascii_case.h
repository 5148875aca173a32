// ASCII case folding, for names compared or keyed without regard to case (country codes, cloud
// providers and regions, factor names against the reserved ones). Bytes outside ASCII are kept.
#pragma once
#include <cctype>
#include <string>
#include <string_view>

namespace gt {

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace gt
