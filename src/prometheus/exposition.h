// Prometheus's text exposition format (version 0.0.4), the body a Pushgateway accepts and the
// file node_exporter's textfile collector reads: per metric family one `# HELP` and one
// `# TYPE` line, then one line per sample, `name{label="value",...} value`. Label values are
// escaped (backslash, double quote, newline); names are checked against Prometheus's grammar
// so a bad name is a programming error caught by the tests, never a rejected push.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gt::prometheus {

using Labels = std::vector<std::pair<std::string, std::string>>;  // in the order written

enum class Type { counter, gauge };

struct Sample {
  Labels labels;
  double value = 0;
};

struct Family {
  std::string name;  // [a-zA-Z_:][a-zA-Z0-9_:]*
  std::string help;
  Type type = Type::gauge;
  std::vector<Sample> samples;
};

bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);  // [a-zA-Z_][a-zA-Z0-9_]*, not starting "__"
std::string escape_label_value(std::string_view value);
// A sample value as Prometheus reads it: shortest round-trip decimal, NaN, +Inf, -Inf.
std::string format_value(double value);

// The families as exposition text; families of the same name (from several groups) are written
// once, their samples together, in the order first seen. Throws gt::Error for an invalid metric
// or label name, or a name given two types.
std::string render(const std::vector<Family>& families);

}  // namespace gt::prometheus
