// The plan text's check before toml++ (see toml_text.h).
#include "experiment/toml_text.h"

#include <fmt/core.h>

#include <cstring>

#include "common/error.h"

namespace gt::experiment {

// toml++ 3.3 asks whether a non-ASCII character is whitespace through a table that reaches
// __builtin_unreachable (undefined behaviour) for most of U+00A1..U+0499 and U+FB26..U+FEFF,
// wherever it meets one outside a string: "é" after a value or at a line start is enough. TOML
// allows non-ASCII text only inside strings and comments, so anything else is refused here,
// with its line, before toml++ sees it; so is one right after a backslash in a basic string
// (where toml++ asks the same question to find a line continuation).
void check_toml_text(const std::string& text, const std::string& source) {
  enum class In { toml, comment, basic, literal, ml_basic, ml_literal } in = In::toml;
  int line = 1;
  // toml++ reads a bare value (a number, a date, true) by looking ahead to the next value
  // terminator (a blank, a comma, ], }, #, the line end) over any quote, bracket or '=' on the
  // way, so a quote opens a string only outside such a run.
  bool bare = false;
  bool value = false;  // after the key's '=' on this line
  auto refuse = [&](size_t i) {
    throw gt::Error(
        fmt::format("{}:{}: non-ASCII character (byte 0x{:02X}) outside a string or "
                    "comment; TOML allows such text only inside quotes or after #",
                    source, line, static_cast<unsigned char>(text[i])));
  };
  auto at = [&](size_t i, const char* s) { return text.compare(i, std::strlen(s), s) == 0; };
  for (size_t i = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      if (in == In::comment || in == In::basic || in == In::literal) in = In::toml;
      if (in == In::toml) bare = value = false;
      continue;
    }
    switch (in) {
      case In::toml:
        if (static_cast<unsigned char>(c) >= 0x80) refuse(i);
        if (c == ' ' || c == '\t' || c == '\r' || c == ',' || c == ']' || c == '}') {
          bare = false;
        } else if (c == '#') {
          in = In::comment;
        } else if (!value && c == '=') {
          value = true;  // the key ends, however it was written: the value's run starts here
          bare = false;
        } else if (!bare && !value && c == '.') {
          // a dotted key goes on
        } else if (!bare && (c == '[' || c == '{')) {
          // an array or an inline table opens
        } else if (!bare && (c == '"' || c == '\'')) {
          // Nothing may follow a value's string but a terminator; a key's quoted part is
          // followed by '.', '=' or a blank, which the key's own rules handle.
          bare = value;
          if (c == '"') {
            in = at(i, "\"\"\"") ? In::ml_basic : In::basic;
            if (in == In::ml_basic) i += 2;
          } else {
            in = at(i, "\'\'\'") ? In::ml_literal : In::literal;
            if (in == In::ml_literal) i += 2;
          }
        } else {
          bare = value;  // only a value is read as one run up to its terminator
        }
        break;
      case In::comment:
        break;
      case In::basic:
        // toml++ asks whether the character after a backslash is whitespace.
        if (c == '\\' && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80)
          refuse(i + 1);
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n')
          ++i;
        else if (c == '"')
          in = In::toml;
        break;
      case In::literal:
        if (c == '\'') in = In::toml;
        break;
      case In::ml_basic:
        if (c == '\\' && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80)
          refuse(i + 1);
        if (c == '\\') {
          size_t j = i + 1;
          while (j < text.size() &&
                 (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) {
            if (text[j] == '\n') ++line;
            ++j;
          }
          if (j > i + 1 && j < text.size() && static_cast<unsigned char>(text[j]) >= 0x80)
            refuse(j);
          i = j > i + 1 ? j - 1 : i + 1;
        } else if (at(i, "\"\"\"")) {
          i += 2;
          in = In::toml;
        }
        break;
      case In::ml_literal:
        if (at(i, "'''")) {
          i += 2;
          in = In::toml;
        }
        break;
    }
  }
}

}  // namespace gt::experiment
