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
  csv::Record record;
  if (!reader.next(record) || record.blank())
    throw gt::Error(fmt::format("{}: empty file, expected a header row", source_name));
  std::vector<std::string> header = record.fields;
  for (auto& h : header) h = trim(h);

  auto find = [&](const std::string& name) -> int {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  std::set<std::string> seen;
  for (const auto& h : header)
    if (!h.empty() && !seen.insert(h).second)
      throw gt::Error(fmt::format("{}:1: column '{}' appears twice", source_name, h));

  RunsTable table;
  table.factors = factors;
  std::vector<int> factor_col;
  for (const auto& f : factors) {
    int c = find(f);
    if (c < 0)
      throw gt::Error(fmt::format("{}:1: factor column '{}' is missing (columns: {})", source_name,
                                  f, fmt::join(header, ",")));
    factor_col.push_back(c);
  }
  const int run_id_col = find("run_id"), block_col = find("block"), repeat_col = find("repeat"),
            status_col = find("status"), warmup_col = find("warmup");
  std::vector<int> metric_col;
  for (int c = 0; c < static_cast<int>(header.size()); ++c) {
    if (header[c].empty() || c == run_id_col || c == block_col || c == repeat_col ||
        c == status_col || c == warmup_col ||
        std::find(factor_col.begin(), factor_col.end(), c) != factor_col.end())
      continue;
    metric_col.push_back(c);
  }

  auto parse_int = [&](const std::string& cell, const std::string& column,
                       int line) -> std::optional<int> {
    if (trim(cell).empty()) return std::nullopt;
    auto v = parse_number(cell);
    if (!v || !(*v >= -1e9 && *v <= 1e9) || *v != static_cast<int>(*v))
      throw gt::Error(fmt::format("{}:{}: column '{}': '{}' is not an integer", source_name, line,
                                  column, cell));
    return static_cast<int>(*v);
  };

  // Non-numeric text columns (e.g. a device name) are allowed as long as every non-empty cell
  // of that column is text; a column with some numbers and some text is an error.
  std::vector<std::vector<std::string>> records;
  std::vector<int> record_lines;
  while (reader.next(record)) {
    const auto& fields = record.fields;
    const int start_line = static_cast<int>(record.line);
    if (fields.size() == 1 && trim(fields[0]).empty()) continue;  // blank line
    if (fields.size() != header.size())
      throw gt::Error(fmt::format("{}:{}: {} cells, expected {} as in the header", source_name,
                                  start_line, fields.size(), header.size()));
    records.push_back(fields);
    record_lines.push_back(start_line);
  }
  // A metric column is numeric if at least one of its cells parses as a number.
  std::vector<bool> numeric(metric_col.size(), false);
  for (size_t m = 0; m < metric_col.size(); ++m)
    for (const auto& r : records)
      if (parse_number(r[metric_col[m]])) numeric[m] = true;

  for (size_t m = 0; m < metric_col.size(); ++m) {
    bool any = false;
    for (const auto& r : records) any = any || !trim(r[metric_col[m]]).empty();
    // An all-empty column is a metric with no values; a column of text is not a metric.
    if (numeric[m] || !any) {
      table.metric_columns.push_back(header[metric_col[m]]);
      numeric[m] = true;
    } else {
      table.text_columns.push_back(header[metric_col[m]]);
    }
  }

  for (size_t k = 0; k < records.size(); ++k) {
    const auto& r = records[k];
    const int line = record_lines[k];
    RunRow row;
    if (run_id_col >= 0) row.run_id = trim(r[run_id_col]);
    for (int c : factor_col) {
      std::string v = trim(r[c]);
      if (v.empty())
        throw gt::Error(
            fmt::format("{}:{}: factor column '{}' is empty", source_name, line, header[c]));
      row.config.push_back(v);
    }
    if (block_col >= 0) row.block = parse_int(r[block_col], "block", line);
    if (repeat_col >= 0) row.repeat = parse_int(r[repeat_col], "repeat", line);
    if (status_col >= 0) {
      row.status = trim(r[status_col]);
      if (row.status.empty()) row.status = "ok";
    }
    if (warmup_col >= 0) {
      auto w = parse_int(r[warmup_col], "warmup", line);
      if (w && *w != 0 && *w != 1)
        throw gt::Error(fmt::format("{}:{}: column 'warmup': '{}' is not 0 or 1", source_name, line,
                                    r[warmup_col]));
      row.warmup = w.value_or(0) == 1;
    }
    for (size_t m = 0; m < metric_col.size(); ++m) {
      const std::string& cell = r[metric_col[m]];
      if (trim(cell).empty()) continue;
      auto v = parse_number(cell);
      if (!v) {
        if (!numeric[m]) continue;  // a text column, not a metric
        throw gt::Error(fmt::format("{}:{}: column '{}': '{}' is not a number", source_name, line,
                                    header[metric_col[m]], cell));
      }
      row.metrics[header[metric_col[m]]] = *v;
    }
    table.rows.push_back(std::move(row));
  }
  if (table.rows.empty()) throw gt::Error(fmt::format("{}: no runs (header only)", source_name));
  return table;
}

}  // namespace gt::stats
