// A plan's text checked before toml++ parses it: toml++ 3.3 asks whether a non-ASCII character
// is whitespace through a table that reaches __builtin_unreachable (undefined behaviour) for
// most of U+00A1..U+0499 and U+FB26..U+FEFF, wherever it meets one outside a string. TOML
// allows non-ASCII text only inside strings and comments, so anything else is refused, with
// its line, before toml++ sees it; so is one right after a backslash in a basic string.
#pragma once
#include <string>

namespace gt::experiment {

// Throws gt::Error naming `source` and the line of the first character toml++ cannot take.
void check_toml_text(const std::string& text, const std::string& source);

}  // namespace gt::experiment
