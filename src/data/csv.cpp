// CSV loading (see csv.h): parsing with line numbers, label mapping, standardisation.
#include "data/csv.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>

#include "common/error.h"

namespace gt::data {
namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Splits one CSV record; supports double-quoted fields with "" escapes (no embedded newlines).
std::vector<std::string> split_record(const std::string& line, const std::string& path,
                                      int64_t line_no) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += ch;
      }
    } else if (ch == '"' && trim(cur).empty()) {
      quoted = was_quoted = true;
      cur.clear();
    } else if (ch == ',') {
      out.push_back(was_quoted ? cur : trim(cur));
      cur.clear();
      was_quoted = false;
    } else {
      cur += ch;
    }
  }
  if (quoted) throw gt::Error(fmt::format("{}:{}: unterminated quoted field", path, line_no));
  out.push_back(was_quoted ? cur : trim(cur));
  return out;
}

bool parse_float(const std::string& s, float& v) {
  if (s.empty()) return false;
  const char* b = s.data();
  if (*b == '+') ++b;
  auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}

}  // namespace

CsvTable read_csv_table(const std::string& path, const std::string& label_column) {
  std::ifstream in(path);
  if (!in) throw gt::Error(fmt::format("{}: cannot open CSV file", path));
  std::string line;
  int64_t line_no = 0;
  CsvTable t;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    ++line_no;
    if (!trim(line).empty()) {
      header = split_record(line, path, line_no);
      break;
    }
  }
  if (header.empty()) throw gt::Error(fmt::format("{}: empty CSV file (a header is required)", path));
  int label_idx = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == label_column) {
      label_idx = int(i);
    } else {
      t.feature_names.push_back(header[i]);
    }
  }
  if (label_idx < 0)
    throw gt::Error(fmt::format("{}:{}: no column named '{}' in the header (use --label-column)",
                                path, line_no, label_column));
  if (t.feature_names.empty())
    throw gt::Error(fmt::format("{}:{}: no feature columns besides '{}'", path, line_no,
                                label_column));
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    auto cells = split_record(line, path, line_no);
    if (cells.size() != header.size())
      throw gt::Error(fmt::format("{}:{}: {} fields, expected {} as in the header", path, line_no,
                                  cells.size(), header.size()));
    std::vector<float> row;
    row.reserve(header.size() - 1);
    for (size_t i = 0; i < cells.size(); ++i) {
      if (int(i) == label_idx) continue;
      float v;
      if (!parse_float(cells[i], v))
        throw gt::Error(fmt::format("{}:{}: column '{}' has non-numeric value '{}'", path,
                                    line_no, header[i], cells[i]));
      row.push_back(v);
    }
    if (cells[label_idx].empty())
      throw gt::Error(fmt::format("{}:{}: empty label in column '{}'", path, line_no,
                                  label_column));
    t.rows.push_back(std::move(row));
    t.labels.push_back(cells[label_idx]);
  }
  if (t.rows.empty()) throw gt::Error(fmt::format("{}: no data rows after the header", path));
  return t;
}

CsvSets load_csv(const std::string& train_path, const std::string& test_path,
                 const std::string& label_column) {
  CsvTable train = read_csv_table(train_path, label_column);
  CsvTable test;
  if (!test_path.empty()) {
    test = read_csv_table(test_path, label_column);
    if (test.feature_names != train.feature_names)
      throw gt::Error(fmt::format("{}: columns differ from those of {}", test_path, train_path));
  }
  // Class mapping: integer labels as they are, else sorted distinct strings.
  CsvSets out;
  bool all_int = true;
  int max_int = -1;
  for (const auto& l : train.labels) {
    int v = 0;
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), v);
    if (ec != std::errc() || p != l.data() + l.size() || v < 0 || v > 100000) {
      all_int = false;
      break;
    }
    max_int = std::max(max_int, v);
  }
  std::map<std::string, int> index;
  if (all_int) {
    for (int c = 0; c <= max_int; ++c) {
      out.class_names.push_back(std::to_string(c));
      index[std::to_string(c)] = c;
    }
  } else {
    std::set<std::string> distinct(train.labels.begin(), train.labels.end());
    for (const auto& s : distinct) {
      index[s] = int(out.class_names.size());
      out.class_names.push_back(s);
    }
  }
  if (out.class_names.size() < 2)
    throw gt::Error(fmt::format("{}: column '{}' has fewer than 2 classes", train_path,
                                label_column));
  const int features = int(train.feature_names.size());
  std::vector<double> mean(features, 0.0), sd(features, 0.0);
  for (const auto& r : train.rows)
    for (int j = 0; j < features; ++j) mean[j] += r[j];
  for (auto& m : mean) m /= double(train.rows.size());
  for (const auto& r : train.rows)
    for (int j = 0; j < features; ++j) sd[j] += (r[j] - mean[j]) * (r[j] - mean[j]);
  for (auto& s : sd) {
    s = std::sqrt(s / double(train.rows.size()));
    if (s == 0) s = 1;  // constant column: centred only
  }
  auto convert = [&](const CsvTable& t, const std::string& path) {
    Dataset d;
    d.rows = int64_t(t.rows.size());
    d.features = features;
    d.classes = int(out.class_names.size());
    d.scale = 1.0f;
    d.f32.resize(size_t(d.rows) * features);
    d.labels.resize(d.rows);
    for (int64_t i = 0; i < d.rows; ++i) {
      for (int j = 0; j < features; ++j)
        d.f32[i * features + j] = float((t.rows[i][j] - mean[j]) / sd[j]);
      auto it = index.find(t.labels[i]);
      if (it == index.end())
        throw gt::Error(fmt::format("{}: data row {} has label '{}' not seen in the training set",
                                    path, i + 1, t.labels[i]));
      d.labels[i] = it->second;
    }
    return d;
  };
  out.train = convert(train, train_path);
  if (!test_path.empty()) out.test = convert(test, test_path);
  return out;
}

}  // namespace gt::data
