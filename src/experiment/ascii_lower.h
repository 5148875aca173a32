// ASCII lower case, for names compared without regard to case (factor names against the
// reserved ones, cloud providers and regions).
#pragma once
#include <cctype>
#include <string>

namespace gt::experiment {

inline std::string ascii_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace gt::experiment
