// The CSV reader (see csv.h): a small state machine over characters, pulling lines as a quoted
// field needs them; and the record writer.
#include "common/csv.h"

#include <fmt/core.h>

#include <cmath>
#include <map>

#include "common/error.h"

namespace gt::csv {
namespace {

std::string trim_blanks(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

Reader::Reader(std::istream& in, std::string source) : in_(in), source_(std::move(source)) {}

bool Reader::next(Record& record) {
  record.fields.clear();
  std::string line;
  if (!std::getline(in_, line)) return false;
  ++line_;
  record.line = line_;
  if (first_) {
    first_ = false;
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();

  enum class State { start, unquoted, quoted, after_quote } state = State::start;
  std::string field;
  size_t i = 0;
  while (true) {
    if (i >= line.size()) {
      if (state != State::quoted) break;
      // A line end inside a quoted field belongs to the field.
      std::string more;
      if (!std::getline(in_, more))
        throw gt::Error(
            fmt::format("{}:{}: unterminated quoted field (a '\"' without its closing "
                        "quote)",
                        source_, record.line));
      ++line_;
      if (!more.empty() && more.back() == '\r') more.pop_back();
      field += '\n';
      line = std::move(more);
      i = 0;
      continue;
    }
    const char c = line[i++];
    switch (state) {
      case State::start:
      case State::unquoted:
        if (c == ',') {
          record.fields.push_back(trim_blanks(field));
          field.clear();
          state = State::start;
        } else if (c == '"' && state == State::start && trim_blanks(field).empty()) {
          field.clear();
          state = State::quoted;
        } else {
          field += c;
          if (c != ' ' && c != '\t') state = State::unquoted;
        }
        break;
      case State::quoted:
        if (c == '"') {
          if (i < line.size() && line[i] == '"') {
            field += '"';
            ++i;
          } else {
            state = State::after_quote;
          }
        } else {
          field += c;
        }
        break;
      case State::after_quote:
        if (c == ',') {
          record.fields.push_back(std::move(field));
          field.clear();
          state = State::start;
        } else if (c != ' ' && c != '\t') {
          throw gt::Error(
              fmt::format("{}:{}: unexpected '{}' after a closing quote (write \"\" "
                          "for a quote inside a quoted field)",
                          source_, line_, c));
        }
        break;
    }
  }
  record.fields.push_back(state == State::after_quote ? std::move(field) : trim_blanks(field));
  return true;
}

void check_unique_header(const Record& header, const std::string& source) {
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const auto& name = header.fields[i];
    if (name.empty()) continue;
    auto [it, inserted] = seen.emplace(name, i);
    if (!inserted)
      throw gt::Error(fmt::format("{}:{}: column '{}' appears twice (columns {} and {})", source,
                                  header.line, name, it->second + 1, i + 1));
  }
}

std::string quote_field(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string number_field(const std::optional<double>& value) {
  if (!value || !std::isfinite(*value)) return "";
  return fmt::format("{}", *value);
}

std::string format_record(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + quote_field(fields[i]);
  return out + "\n";
}

}  // namespace gt::csv
