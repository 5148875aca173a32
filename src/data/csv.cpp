// CSV loading (see csv.h): records from the common CSV reader (common/csv.h, shared with the
// runs table), numeric cells, label mapping, standardisation.
#include "data/csv.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>

#include "common/csv.h"
#include "common/error.h"
#include "common/numbers.h"

namespace gt::data {
namespace {

// A finite number that fits a float (3.4e38).
bool parse_float(const std::string& s, float& v) {
  const auto d = parse_finite(s);
  if (!d || std::fabs(*d) > double(std::numeric_limits<float>::max())) return false;
  v = float(*d);
  return true;
}

}  // namespace

CsvTable read_csv_table(const std::string& path, const std::string& label_column) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw gt::Error(fmt::format("{}: cannot open CSV file", path));
  return read_csv_table(in, path, label_column);
}

CsvTable read_csv_table(std::istream& in, const std::string& path,
                        const std::string& label_column) {
  csv::Reader reader(in, path);
  csv::Record header, rec;
  CsvTable t;
  bool have_header = false;
  while (reader.next(header))
    if (!header.blank()) {
      have_header = true;
      break;
    }
  if (!have_header) throw gt::Error(fmt::format("{}: empty CSV file (a header is required)", path));
  // A repeated column (say label,noise,label) would make one of them a feature: refuse it.
  csv::check_unique_header(header, path);
  const auto& names = header.fields;
  int label_idx = -1;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == label_column) {
      label_idx = int(i);
    } else {
      t.feature_names.push_back(names[i]);
    }
  }
  if (label_idx < 0)
    throw gt::Error(fmt::format("{}:{}: no column named '{}' in the header (use --label-column)",
                                path, header.line, label_column));
  if (t.feature_names.empty())
    throw gt::Error(
        fmt::format("{}:{}: no feature columns besides '{}'", path, header.line, label_column));
  while (reader.next(rec)) {
    if (rec.blank()) continue;
    const auto& cells = rec.fields;
    if (cells.size() != names.size())
      throw gt::Error(fmt::format("{}:{}: {} fields, expected {} as in the header", path, rec.line,
                                  cells.size(), names.size()));
    std::vector<float> row;
    row.reserve(names.size() - 1);
    for (size_t i = 0; i < cells.size(); ++i) {
      if (int(i) == label_idx) continue;
      float v;
      if (!parse_float(cells[i], v))
        throw gt::Error(fmt::format("{}:{}: column '{}' has non-numeric value '{}'", path, rec.line,
                                    names[i], cells[i].substr(0, 40)));
      row.push_back(v);
    }
    if (cells[label_idx].empty())
      throw gt::Error(
          fmt::format("{}:{}: empty label in column '{}'", path, rec.line, label_column));
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
    throw gt::Error(
        fmt::format("{}: column '{}' has fewer than 2 classes", train_path, label_column));
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
