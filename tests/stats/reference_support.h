// Test support for the statistics suite: writes generated runs tables as CSV, reads the SciPy /
// statsmodels reference (tests/stats/reference.py through /usr/bin/python3, computed once per
// test run for every case by the stats_reference fixture) and compares its JSON with ours key by
// key: 1e-6 relative for statistics, 1e-6 absolute for p-values, nulls must match nulls, arrays
// matched by configuration / term rather than position.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace gt::stats::testing {

using json = nlohmann::json;

inline std::string source_dir() { return gt::testing::source_dir().string(); }

// A file name in this test process's scratch folder (removed when the process exits).
inline std::filesystem::path temp_file(const std::string& name) {
  static const gt::testing::TempDir scratch("greentrain-stats-test");
  return scratch.path() / name;
}

// Runs a shell command and returns its standard output (and its exit status in exit_code).
inline std::string capture(const std::string& command, int* exit_code = nullptr) {
  const gt::testing::ProcessResult r = gt::testing::run_shell(command);
  if (exit_code) *exit_code = r.code;
  return r.out;
}

inline bool is_p_key(const std::string& k) {
  return k == "p" || k == "p_holm" || k == "p_adj" || (k.size() > 2 && k.ends_with("_p"));
}

inline std::string identity(const json& e) {
  if (!e.is_object()) return e.dump();
  if (e.contains("term")) return e["term"].get<std::string>();
  if (e.contains("a") && e.contains("b")) return e["a"].dump() + "|" + e["b"].dump();
  if (e.contains("metric") && e.contains("config")) return e["metric"].dump() + e["config"].dump();
  if (e.contains("config")) return e["config"].dump();
  return e.dump();
}

struct Worst {
  double rel = 0, p_abs = 0;
  std::string rel_at, p_at;
};

inline void compare(const json& ours, const json& ref, const std::string& path, Worst& worst) {
  const std::string key = path.substr(path.find_last_of('.') + 1);
  if (ref.is_null()) {
    EXPECT_TRUE(ours.is_null()) << path << ": ours " << ours.dump() << ", reference null";
    return;
  }
  if (ref.is_number()) {
    ASSERT_TRUE(ours.is_number()) << path << ": ours " << ours.dump() << ", reference "
                                  << ref.dump();
    const double a = ours.get<double>(), b = ref.get<double>();
    if (is_p_key(key)) {
      const double e = std::abs(a - b);
      if (e > worst.p_abs) worst = {worst.rel, e, worst.rel_at, path};
      EXPECT_LE(e, 1e-6) << path << ": ours " << a << ", reference " << b;
    } else {
      const double e = std::abs(a - b) / std::max(std::abs(b), 1e-300);
      if (std::abs(a - b) > 1e-9 && e > worst.rel) worst = {e, worst.p_abs, path, worst.p_at};
      EXPECT_TRUE(std::abs(a - b) <= 1e-6 * std::abs(b) || std::abs(a - b) <= 1e-9)
          << path << ": ours " << a << ", reference " << b;
    }
    return;
  }
  if (ref.is_object()) {
    for (const auto& [k, v] : ref.items()) {
      ASSERT_TRUE(ours.contains(k)) << path << ": we lack key " << k;
      compare(ours[k], v, path + "." + k, worst);
    }
    return;
  }
  if (ref.is_array()) {
    ASSERT_TRUE(ours.is_array()) << path;
    EXPECT_EQ(ours.size(), ref.size()) << path << " sizes differ";
    for (const auto& r : ref) {
      std::string id = identity(r);
      const json* match = nullptr;
      for (const auto& o : ours)
        if (identity(o) == id) match = &o;
      json swapped;
      if (!match && r.contains("a") && r.contains("b")) {
        // A Tukey pair listed the other way round: diff and interval change sign.
        swapped = r;
        swapped["a"] = r["b"];
        swapped["b"] = r["a"];
        swapped["diff"] = -r["diff"].get<double>();
        swapped["ci_low"] = -r["ci_high"].get<double>();
        swapped["ci_high"] = -r["ci_low"].get<double>();
        id = identity(swapped);
        for (const auto& o : ours)
          if (identity(o) == id) match = &o;
      }
      ASSERT_NE(match, nullptr) << path << ": no element " << id;
      compare(*match, swapped.is_null() ? r : swapped, path + "[" + id + "]", worst);
    }
    return;
  }
  EXPECT_EQ(ours, ref) << path;
}

// A generated experiment: factor levels, repeats per cell and a value generator.
struct Design {
  std::vector<std::string> factors = {"precision", "batch_size", "neurons"};
  std::vector<std::vector<std::string>> levels = {
      {"fp32", "fp16"}, {"32", "64", "128"}, {"128", "256"}};
  std::function<int(const std::vector<int>&)> repeats = [](const std::vector<int>&) { return 5; };
  // cell level indices, repeat, rng -> metric values (missing key = empty cell)
  std::function<std::map<std::string, double>(const std::vector<int>&, int, std::mt19937_64&)>
      values;
  bool extra_excluded_rows = true;  // add a failed run and a warm-up run
  uint64_t seed = 42;
};

inline std::map<std::string, double> default_values(const std::vector<int>& c, int,
                                                    std::mt19937_64& rng) {
  std::normal_distribution<double> z(0, 1);
  const double energy =
      50000 * (c[0] == 1 ? 0.88 : 1.0) * (1 + 0.1 * c[1]) * (1 + 0.05 * c[2]) * (1 + 0.02 * z(rng));
  const double duration = 120 * (c[0] == 1 ? 0.8 : 1.0) / (1 + 0.3 * c[1]) * (1 + 0.03 * z(rng));
  return {{"energy_j", energy},
          {"duration_s", duration},
          {"avg_power_w", energy / duration},
          {"co2e_g", energy / 3.6e6 * 481},
          {"test_accuracy", 0.88 + 0.002 * c[2] - 0.001 * c[1] + 0.003 * z(rng)}};
}

inline std::string quote(const std::string& s) {
  return s.find(',') == std::string::npos ? s : "\"" + s + "\"";
}

// Writes the design's runs table to `path`.
inline void write_csv_to(const Design& d, const std::filesystem::path& path) {
  std::mt19937_64 rng(d.seed);
  const std::vector<std::string> metrics = {"duration_s", "energy_j", "avg_power_w", "co2e_g",
                                            "test_accuracy"};
  std::ofstream out(path);
  out << "run_id,block,repeat,status,warmup";
  for (const auto& f : d.factors) out << "," << f;
  for (const auto& m : metrics) out << "," << m;
  out << "\n";
  std::vector<std::vector<int>> cells(1);
  for (const auto& lv : d.levels) {
    std::vector<std::vector<int>> next;
    for (const auto& c : cells)
      for (int l = 0; l < static_cast<int>(lv.size()); ++l) {
        auto e = c;
        e.push_back(l);
        next.push_back(e);
      }
    cells = next;
  }
  int id = 0;
  auto row = [&](const std::vector<int>& c, int rep, const char* status, int warmup) {
    auto v = d.values ? d.values(c, rep, rng) : default_values(c, rep, rng);
    out << ++id << "," << rep << "," << rep << "," << status << "," << warmup;
    for (size_t f = 0; f < c.size(); ++f) out << "," << quote(d.levels[f][c[f]]);
    for (const auto& m : metrics) {
      out << ",";
      auto it = v.find(m);
      if (it != v.end()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", it->second);
        out << buf;
      }
    }
    out << "\n";
  };
  for (const auto& c : cells) {
    const int r = d.repeats(c);
    for (int k = 0; k < r; ++k) row(c, k, "ok", 0);
  }
  if (d.extra_excluded_rows) {
    row(cells[0], 0, "failed", 0);
    row(cells[1], 0, "ok", 1);
  }
}

// Writes the design's runs table into this test process's scratch folder.
inline std::string write_csv(const Design& d, const std::string& name) {
  const auto path = temp_file(name);
  write_csv_to(d, path);
  return path.string();
}

// The reference cases the stats_reference fixture computes once per test run
// (reference_inputs.cpp writes their runs tables, reference.py --batch computes them all in one
// Python process): an analysis case by name, with the runs table the reference read.
inline const char* kReferenceBaseline = "precision=fp32,batch_size=32,neurons=128";

struct ReferenceCase {
  std::string name;
  Design design;
  std::string extra_args;  // beyond --factors, --baseline and --equivalence
};

inline std::vector<ReferenceCase> reference_cases() {
  std::vector<ReferenceCase> out;
  out.push_back({"balanced", Design{}, ""});
  Design unbalanced;
  unbalanced.repeats = [](const std::vector<int>& c) {
    return 2 + (c[0] * 5 + c[1] * 3 + c[2] * 2) % 6;
  };
  unbalanced.seed = 7;
  out.push_back({"unbalanced", unbalanced, ""});
  Design incomplete;
  // fp16 never ran at batch 128: precision:batch_size loses a column and is dropped.
  incomplete.repeats = [](const std::vector<int>& c) { return c[0] == 1 && c[1] == 2 ? 0 : 4; };
  incomplete.seed = 11;
  out.push_back({"incomplete", incomplete, "--drop precision:batch_size"});
  Design ties;
  ties.seed = 3;
  ties.values = [](const std::vector<int>& c, int, std::mt19937_64& rng) {
    auto v = default_values(c, 0, rng);
    v["energy_j"] = std::round(v["energy_j"] / 1000) * 1000;  // few distinct values
    v["test_accuracy"] = std::round(v["test_accuracy"] * 100) / 100;
    return v;
  };
  out.push_back({"ties", ties, ""});
  Design zero;
  zero.levels = {{"fp32", "fp16"}, {"32", "64"}, {"128"}};
  zero.values = [](const std::vector<int>& c, int, std::mt19937_64& rng) {
    auto v = default_values(c, 0, rng);
    v["energy_j"] = 1000;               // identical everywhere
    v["duration_s"] = 100 + 10 * c[0];  // constant within each configuration
    v["test_accuracy"] = 0.9;
    return v;
  };
  out.push_back({"zero_variance", zero, ""});
  Design single;
  single.repeats = [](const std::vector<int>& c) {
    return c[0] == 1 && c[1] == 1 && c[2] == 0 ? 1 : 4;
  };
  single.seed = 5;
  out.push_back({"single_run", single, ""});
  Design large;
  large.repeats = [](const std::vector<int>& c) { return 833 + (c[1] == 0 && c[2] == 0 ? 2 : 0); };
  large.seed = 99;
  out.push_back({"ten_thousand", large, ""});
  return out;
}

// Sample-size questions for the reference: name -> {cv, effect %, power, alpha}.
inline std::map<std::string, std::array<double, 4>> reference_sample_sizes() {
  return {{"cv0.05_e3", {0.05, 3, 0.8, 0.05}},
          {"cv0.04_e3", {0.04, 3, 0.8, 0.05}},
          {"cv0.02_e10_p0.9_a0.01", {0.02, 10, 0.9, 0.01}},
          {"cv0.1_e1", {0.1, 1, 0.8, 0.05}},
          {"cv0.04_e3_p0.9_a0.01", {0.04, 3, 0.9, 0.01}}};
}

inline std::filesystem::path reference_dir() {
  return gt::testing::build_dir() / "tests" / "stats" / "reference";
}

// The fixture's results: {"cases": {name: analysis JSON}, "sample_sizes": {name: {...}}}.
// Missing (the fixture did not run) throws with what to do.
inline const json& reference_results() {
  static const json results = [] {
    const auto path = reference_dir() / "reference.json";
    std::ifstream in(path);
    if (!in)
      throw std::runtime_error(path.string() +
                               " is missing: the stats_reference fixture computes it (run the "
                               "tests through ctest)");
    return json::parse(in);
  }();
  return results;
}

// The runs table of reference case `name`, as the fixture wrote it and the reference read it.
inline std::string reference_csv(const std::string& name) {
  return (reference_dir() / (name + ".csv")).string();
}
inline json reference_case(const std::string& name) {
  return reference_results().at("cases").at(name);
}
inline json reference_sample_size(const std::string& name) {
  return reference_results().at("sample_sizes").at(name);
}

}  // namespace gt::stats::testing
