// Command-template substitution (see template.h).
#include "experiment/template.h"

#include <fmt/core.h>

#include <algorithm>

#include "common/error.h"

namespace gt::experiment {
namespace {

// Calls on_name(name) for each placeholder and on_text(text) for literal text.
template <class Text, class Name>
void scan(const std::string& t, Text on_text, Name on_name) {
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if ((c == '{' || c == '}') && i + 1 < t.size() && t[i + 1] == c) {
      on_text(std::string(1, c));
      ++i;
    } else if (c == '{') {
      auto end = t.find('}', i);
      if (end == std::string::npos)
        throw gt::Error(
            fmt::format("unclosed '{{' at character {} (write {{{{ for a literal "
                        "brace)",
                        i + 1));
      on_name(t.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '}') {
      throw gt::Error(
          fmt::format("unmatched '}}' at character {} (write }}}} for a literal brace)", i + 1));
    } else {
      on_text(std::string(1, c));
    }
  }
}

}  // namespace

void check_template(const std::string& tmpl, const std::vector<std::string>& known) {
  scan(
      tmpl, [](const std::string&) {},
      [&](const std::string& name) {
        if (std::find(known.begin(), known.end(), name) == known.end()) {
          std::string list;
          for (const auto& k : known) list += (list.empty() ? "{" : ", {") + k + "}";
          throw gt::Error(
              fmt::format("unknown placeholder {{{}}}; expected one of: {}", name, list));
        }
      });
}

std::vector<std::string> placeholders(const std::string& tmpl) {
  std::vector<std::string> names;
  scan(
      tmpl, [](const std::string&) {},
      [&](const std::string& name) {
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      });
  return names;
}

std::string substitute(const std::string& tmpl, const std::map<std::string, std::string>& values) {
  std::string out;
  scan(
      tmpl, [&](const std::string& s) { out += s; },
      [&](const std::string& name) {
        auto it = values.find(name);
        if (it == values.end())
          throw gt::Error(fmt::format("no value for placeholder {{{}}}", name));
        out += it->second;
      });
  return out;
}

}  // namespace gt::experiment
