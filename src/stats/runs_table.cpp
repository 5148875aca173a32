// Reader for the runs-table CSV that `greentrain export` writes: records from the common CSV
// reader (common/csv.h, shared with the training data), header row first, one row per run.
// Numeric metric columns are parsed with std::from_chars so "1e5" and "-0.5" work and "12 J" is
// rejected with the line and column.
#include "stats/runs_table.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <istream>
#include <set>

#include "common/csv.h"
#include "common/error.h"

namespace gt::stats {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::optional<double> parse_number(const std::string& text) {
  std::string t = trim(text);
  double value = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) return std::nullopt;
  return value;
}

// Where each kind of column is in the header; -1 for an absent one.
struct Columns {
  std::vector<std::string> header;
  std::vector<int> factor;
  int run_id = -1, block = -1, repeat = -1, status = -1, warmup = -1;
  std::vector<int> metric;  // every other named column: a metric, or a text column
};

Columns read_header(csv::Reader& reader, const std::vector<std::string>& factors,
                    const std::string& source_name) {
  csv::Record record;
  if (!reader.next(record) || record.blank())
    throw gt::Error(fmt::format("{}: empty file, expected a header row", source_name));
  Columns cols;
  cols.header = record.fields;
  auto& header = cols.header;
  for (auto& h : header) h = trim(h);
  auto find = [&](const std::string& name) -> int {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  std::set<std::string> seen;
  for (const auto& h : header)
    if (!h.empty() && !seen.insert(h).second)
      throw gt::Error(fmt::format("{}:1: column '{}' appears twice", source_name, h));
  for (const auto& f : factors) {
    int c = find(f);
    if (c < 0)
      throw gt::Error(fmt::format("{}:1: factor column '{}' is missing (columns: {})", source_name,
                                  f, fmt::join(header, ",")));
    cols.factor.push_back(c);
  }
  cols.run_id = find("run_id");
  cols.block = find("block");
  cols.repeat = find("repeat");
  cols.status = find("status");
  cols.warmup = find("warmup");
  for (int c = 0; c < static_cast<int>(header.size()); ++c) {
    if (header[c].empty() || c == cols.run_id || c == cols.block || c == cols.repeat ||
        c == cols.status || c == cols.warmup ||
        std::find(cols.factor.begin(), cols.factor.end(), c) != cols.factor.end())
      continue;
    cols.metric.push_back(c);
  }
  return cols;
}

// The data rows with their line numbers; blank lines skipped, every row as wide as the header.
struct Records {
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;
};

Records read_records(csv::Reader& reader, size_t width, const std::string& source_name) {
  Records out;
  csv::Record record;
  while (reader.next(record)) {
    const auto& fields = record.fields;
    const int start_line = static_cast<int>(record.line);
    if (fields.size() == 1 && trim(fields[0]).empty()) continue;  // blank line
    if (fields.size() != width)
      throw gt::Error(fmt::format("{}:{}: {} cells, expected {} as in the header", source_name,
                                  start_line, fields.size(), width));
    out.rows.push_back(fields);
    out.lines.push_back(start_line);
  }
  return out;
}

// Non-numeric text columns (e.g. a device name) are allowed as long as every non-empty cell
// of that column is text; a column with some numbers and some text is an error (parse_row).
// Returns, per metric column, whether it is numeric, and names each in `table`.
std::vector<bool> classify_columns(const Columns& cols, const Records& records, RunsTable& table) {
  // A metric column is numeric if at least one of its cells parses as a number.
  std::vector<bool> numeric(cols.metric.size(), false);
  for (size_t m = 0; m < cols.metric.size(); ++m)
    for (const auto& r : records.rows)
      if (parse_number(r[cols.metric[m]])) numeric[m] = true;
  for (size_t m = 0; m < cols.metric.size(); ++m) {
    bool any = false;
    for (const auto& r : records.rows) any = any || !trim(r[cols.metric[m]]).empty();
    // An all-empty column is a metric with no values; a column of text is not a metric.
    if (numeric[m] || !any) {
      table.metric_columns.push_back(cols.header[cols.metric[m]]);
      numeric[m] = true;
    } else {
      table.text_columns.push_back(cols.header[cols.metric[m]]);
    }
  }
  return numeric;
}

std::optional<int> parse_int(const std::string& cell, const std::string& column, int line,
                             const std::string& source_name) {
  if (trim(cell).empty()) return std::nullopt;
  auto v = parse_number(cell);
  if (!v || !(*v >= -1e9 && *v <= 1e9) || *v != static_cast<int>(*v))
    throw gt::Error(
        fmt::format("{}:{}: column '{}': '{}' is not an integer", source_name, line, column, cell));
  return static_cast<int>(*v);
}

RunRow parse_row(const Columns& cols, const std::vector<bool>& numeric,
                 const std::vector<std::string>& r, int line, const std::string& source_name) {
  RunRow row;
  if (cols.run_id >= 0) row.run_id = trim(r[cols.run_id]);
  for (int c : cols.factor) {
    std::string v = trim(r[c]);
    if (v.empty())
      throw gt::Error(
          fmt::format("{}:{}: factor column '{}' is empty", source_name, line, cols.header[c]));
    row.config.push_back(v);
  }
  if (cols.block >= 0) row.block = parse_int(r[cols.block], "block", line, source_name);
  if (cols.repeat >= 0) row.repeat = parse_int(r[cols.repeat], "repeat", line, source_name);
  if (cols.status >= 0) {
    const std::string status = trim(r[cols.status]);
    const auto parsed = status.empty() ? RunStatus::ok : parse_run_status(status);
    if (!parsed)
      throw gt::Error(fmt::format("{}:{}: column 'status': '{}' is not ok, failed or aborted",
                                  source_name, line, status));
    row.status = *parsed;
  }
  if (cols.warmup >= 0) {
    auto w = parse_int(r[cols.warmup], "warmup", line, source_name);
    if (w && *w != 0 && *w != 1)
      throw gt::Error(fmt::format("{}:{}: column 'warmup': '{}' is not 0 or 1", source_name, line,
                                  r[cols.warmup]));
    row.warmup = w.value_or(0) == 1;
  }
  for (size_t m = 0; m < cols.metric.size(); ++m) {
    const std::string& cell = r[cols.metric[m]];
    if (trim(cell).empty()) continue;
    auto v = parse_number(cell);
    if (!v) {
      if (!numeric[m]) continue;  // a text column, not a metric
      throw gt::Error(fmt::format("{}:{}: column '{}': '{}' is not a number", source_name, line,
                                  cols.header[cols.metric[m]], cell));
    }
    row.metrics[cols.header[cols.metric[m]]] = *v;
  }
  return row;
}

}  // namespace

RunsTable read_runs_csv(const std::string& path, const std::vector<std::string>& factors) {
  std::ifstream in(path);
  if (!in) throw gt::Error(fmt::format("{}: cannot open the runs table for reading", path));
  return read_runs_csv(in, factors, path);
}

RunsTable read_runs_csv(std::istream& in, const std::vector<std::string>& factors,
                        const std::string& source_name) {
  if (factors.empty())
    throw gt::UsageError(
        fmt::format("{}: no factor columns named (use --factors a,b,...)", source_name));
  csv::Reader reader(in, source_name);
  const Columns cols = read_header(reader, factors, source_name);
  RunsTable table;
  table.factors = factors;
  const Records records = read_records(reader, cols.header.size(), source_name);
  const std::vector<bool> numeric = classify_columns(cols, records, table);
  for (size_t k = 0; k < records.rows.size(); ++k)
    table.rows.push_back(parse_row(cols, numeric, records.rows[k], records.lines[k], source_name));
  if (table.rows.empty()) throw gt::Error(fmt::format("{}: no runs (header only)", source_name));
  return table;
}

}  // namespace gt::stats
