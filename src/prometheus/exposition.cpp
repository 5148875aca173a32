// The text exposition format (see exposition.h).
#include "prometheus/exposition.h"

#include <fmt/core.h>

#include <cmath>
#include <map>

#include "common/error.h"

namespace gt::prometheus {
namespace {

bool name_char(char c, bool first, bool colon) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  const bool digit = c >= '0' && c <= '9';
  return letter || (colon && c == ':') || (!first && digit);
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, colon)) return false;
  return true;
}

// Backslash and newline escaped, and the double quote too in a label value (not in HELP text).
std::string escape(std::string_view text, bool quote) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

}  // namespace

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }

bool valid_label_name(std::string_view name) {
  return valid_name(name, false) && name.substr(0, 2) != "__";
}

std::string escape_label_value(std::string_view value) { return escape(value, true); }

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string render(const std::vector<Family>& families) {
  // Merge by name, in first-seen order.
  std::vector<Family> merged;
  std::map<std::string, size_t> index;
  for (const auto& f : families) {
    if (!valid_metric_name(f.name))
      throw Error(fmt::format("Prometheus metric name '{}' is not valid", f.name));
    auto it = index.find(f.name);
    if (it == index.end()) {
      index[f.name] = merged.size();
      merged.push_back(f);
      continue;
    }
    Family& m = merged[it->second];
    if (m.type != f.type)
      throw Error(fmt::format("Prometheus metric '{}' given two types", f.name));
    m.samples.insert(m.samples.end(), f.samples.begin(), f.samples.end());
  }
  std::string out;
  for (const auto& f : merged) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, escape(f.help, false), f.name,
                       f.type == Type::counter ? "counter" : "gauge");
    for (const auto& s : f.samples) {
      out += f.name;
      if (!s.labels.empty()) {
        out += '{';
        for (size_t i = 0; i < s.labels.size(); ++i) {
          const auto& [k, v] = s.labels[i];
          if (!valid_label_name(k))
            throw Error(fmt::format("Prometheus label name '{}' is not valid", k));
          out += fmt::format("{}{}=\"{}\"", i ? "," : "", k, escape_label_value(v));
        }
        out += '}';
      }
      out += ' ' + format_value(s.value) + '\n';
    }
  }
  return out;
}

}  // namespace gt::prometheus
