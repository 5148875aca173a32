// Derived figures of the report (see model.h): ordering, summaries, headline, Pareto front.
#include "report/model.h"

#include <Rmath.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <set>

#include "report/format.h"

namespace gt::report {
namespace {

int precision_rank(const std::string& p) {
  static const std::vector<std::string> order{"fp32", "tf32", "fp16", "bf16"};
  auto it = std::find(order.begin(), order.end(), p);
  return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
}

std::optional<double> as_number(const std::string& s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

bool level_less(const std::string& a, const std::string& b) {
  auto na = as_number(a), nb = as_number(b);
  if (na && nb) return *na < *nb;
  if (na != nb) return static_cast<bool>(na);  // numbers before words
  return a < b;
}

Config config_of_json(const nlohmann::json& j) {
  Config c;
  if (!j.is_object()) return c;
  for (auto& [k, v] : j.items()) c[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return c;
}

std::optional<double> number(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

}  // namespace

bool same_config(const Config& a, const Config& b, const std::vector<std::string>& factors) {
  if (factors.empty()) return a == b;
  for (const auto& f : factors) {
    auto ia = a.find(f), ib = b.find(f);
    std::string va = ia == a.end() ? "" : ia->second, vb = ib == b.end() ? "" : ib->second;
    if (va != vb) return false;
  }
  return true;
}

std::vector<Config> configurations(const ReportData& data) {
  std::vector<Config> out;
  auto add = [&](Config c) {
    if (!data.factors.empty()) {
      Config only;
      for (const auto& f : data.factors)
        if (c.count(f)) only[f] = c[f];
      c = std::move(only);
    }
    for (const auto& o : out)
      if (same_config(o, c, data.factors)) return;
    out.push_back(std::move(c));
  };
  for (const auto& r : data.runs)
    if (!r.warmup) add(r.config);
  if (data.analysis.is_object() && data.analysis.contains("metrics"))
    for (auto& [metric, m] : data.analysis["metrics"].items())
      if (m.contains("cells"))
        for (const auto& cell : m["cells"]) add(config_of_json(cell.value("config", nlohmann::json())));
  auto less = [&](const Config& a, const Config& b) {
    auto pa = a.count("precision") ? a.at("precision") : "", pb = b.count("precision") ? b.at("precision") : "";
    if (precision_rank(pa) != precision_rank(pb)) return precision_rank(pa) < precision_rank(pb);
    if (pa != pb) return pa < pb;
    bool ba = same_config(a, data.benchmark, data.factors), bb = same_config(b, data.benchmark, data.factors);
    if (ba != bb) return ba;
    for (const auto& f : data.factors) {
      if (f == "precision") continue;
      auto va = a.count(f) ? a.at(f) : "", vb = b.count(f) ? b.at(f) : "";
      if (va != vb) return level_less(va, vb);
    }
    return false;
  };
  std::stable_sort(out.begin(), out.end(), less);
  return out;
}

std::string config_label(const Config& config, const std::vector<std::string>& factors) {
  std::vector<std::string> names = factors;
  if (names.empty())
    for (const auto& [k, v] : config) names.push_back(k);
  std::vector<std::string> parts;
  for (const auto& f : names) {
    auto it = config.find(f);
    if (it == config.end()) continue;
    const std::string& v = it->second;
    if (f == "precision") parts.push_back(v);
    else if (f == "batch_size") parts.push_back("batch " + v);
    else if (f == "neurons") parts.push_back(v + " neurons");
    else if (f == "epochs") parts.push_back(v + (v == "1" ? " epoch" : " epochs"));
    else parts.push_back(f + "=" + v);
  }
  if (parts.empty()) return "all runs";
  std::string out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) out += " \u00b7 " + parts[i];
  return out;
}

std::vector<std::string> label_factors(const ReportData& data) {
  auto configs = configurations(data);
  if (configs.size() < 2) return data.factors;
  std::vector<std::string> out;
  for (const auto& f : data.factors) {
    std::set<std::string> levels;
    for (const auto& c : configs)
      if (auto it = c.find(f); it != c.end()) levels.insert(it->second);
    if (levels.size() > 1) out.push_back(f);
  }
  return out.empty() ? data.factors : out;
}

std::string config_label(const ReportData& data, const Config& config) {
  return config_label(config, label_factors(data));
}

bool has_metric(const ReportData& data, const std::string& metric) {
  for (const auto& r : data.runs)
    if (r.analysed() && r.metrics.count(metric)) return true;
  return false;
}

std::vector<double> metric_values(const ReportData& data, const std::string& metric,
                                  const Config& config) {
  std::vector<double> v;
  for (const auto& r : data.runs)
    if (r.analysed() && same_config(r.config, config, data.factors)) {
      auto it = r.metrics.find(metric);
      if (it != r.metrics.end() && std::isfinite(it->second)) v.push_back(it->second);
    }
  return v;
}

CellSummary describe(std::vector<double> values) {
  CellSummary s;
  s.n = static_cast<int>(values.size());
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  double mean = std::accumulate(values.begin(), values.end(), 0.0) / s.n;
  double ss = 0;
  for (double x : values) ss += (x - mean) * (x - mean);  // two-pass
  s.mean = mean;
  s.sd = s.n > 1 ? std::sqrt(ss / (s.n - 1)) : 0;
  double half = s.n > 1 ? qt(0.975, s.n - 1, 1, 0) * s.sd / std::sqrt(s.n) : 0;
  s.ci95_low = mean - half;
  s.ci95_high = mean + half;
  s.median = s.n % 2 ? values[s.n / 2] : (values[s.n / 2 - 1] + values[s.n / 2]) / 2;
  s.min = values.front();
  s.max = values.back();
  return s;
}

const nlohmann::json* analysis_entry(const ReportData& data, const std::string& metric,
                                     const std::string& section, const Config& config) {
  const auto& a = data.analysis;
  if (!a.is_object() || !a.contains("metrics") || !a["metrics"].contains(metric)) return nullptr;
  const auto& m = a["metrics"][metric];
  if (!m.contains(section) || !m[section].is_array()) return nullptr;
  for (const auto& e : m[section])
    if (same_config(config_of_json(e.value("config", nlohmann::json())), config, data.factors))
      return &e;
  return nullptr;
}

std::optional<CellSummary> summarize(const ReportData& data, const std::string& metric,
                                     const Config& config) {
  if (const auto* cell = analysis_entry(data, metric, "cells", config)) {
    auto mean = number(*cell, "mean");
    if (mean) {
      CellSummary s;
      s.from_analysis = true;
      s.n = cell->value("n", 0);
      s.mean = *mean;
      s.sd = number(*cell, "sd").value_or(0);
      s.ci95_low = number(*cell, "ci95_low").value_or(*mean);
      s.ci95_high = number(*cell, "ci95_high").value_or(*mean);
      s.median = number(*cell, "median").value_or(*mean);
      s.min = number(*cell, "min").value_or(*mean);
      s.max = number(*cell, "max").value_or(*mean);
      return s;
    }
  }
  auto values = metric_values(data, metric, config);
  if (values.empty()) return std::nullopt;
  return describe(std::move(values));
}

std::optional<bool> accuracy_equivalent(const ReportData& data, const Config& config) {
  const auto& a = data.analysis;
  if (!a.is_object() || !a.contains("equivalence") || !a["equivalence"].is_array()) return std::nullopt;
  for (const auto& e : a["equivalence"])
    if (e.value("metric", "") == "test_accuracy" &&
        same_config(config_of_json(e.value("config", nlohmann::json())), config, data.factors))
      return e.value("equivalent", false);
  return std::nullopt;
}

Headline headline(const ReportData& data) {
  Headline h;
  h.benchmark = data.benchmark;
  auto configs = configurations(data);
  auto bench = summarize(data, "energy_j", data.benchmark);
  if (!bench || bench->n == 0) {
    h.reason = "the benchmark configuration has no successful run with an energy value";
    return h;
  }
  if (configs.size() < 2) {
    h.reason = "only one configuration was run, so there is nothing to compare";
    return h;
  }
  // Candidates: configurations whose accuracy the analysis found equivalent to the benchmark's
  // (TOST); when nothing was tested (no accuracy metric), every configuration competes.
  bool any_tested = false;
  for (const auto& c : configs)
    if (!same_config(c, data.benchmark, data.factors) && accuracy_equivalent(data, c)) any_tested = true;
  std::optional<Config> best = data.benchmark;
  double best_mean = bench->mean;
  for (const auto& c : configs) {
    if (same_config(c, data.benchmark, data.factors)) continue;
    if (any_tested && !accuracy_equivalent(data, c).value_or(false)) continue;
    auto s = summarize(data, "energy_j", c);
    if (s && s->n > 0 && s->mean < best_mean) {
      best_mean = s->mean;
      best = c;
    }
  }
  h.available = true;
  h.accuracy_checked = any_tested;
  h.best = *best;
  h.best_is_benchmark = same_config(h.best, data.benchmark, data.factors);
  h.best_energy_j = best_mean;
  h.benchmark_energy_j = bench->mean;
  h.saving_j = bench->mean - best_mean;
  h.saving_pct = bench->mean != 0 ? 100.0 * h.saving_j / bench->mean : 0;
  h.saving_kwh = h.saving_j / 3.6e6;
  double g_per_j = data.plan_grid.g_per_kwh * data.pue / 3.6e6;
  h.saving_co2e_g = h.saving_j * g_per_j;
  std::string best_label = config_label(data, h.best);
  if (h.best_is_benchmark) {
    h.verdict = any_tested
                    ? "No configuration with accuracy equivalent to the benchmark uses less energy."
                    : "No configuration uses less energy than the benchmark.";
    return h;
  }
  auto b = *summarize(data, "energy_j", h.best);
  // Welch 95 % interval of (benchmark − best), as a percentage of the benchmark's mean.
  double v1 = b.n > 0 ? b.sd * b.sd / b.n : 0, v2 = bench->sd * bench->sd / bench->n;
  double se = std::sqrt(v1 + v2);
  double df = (v1 + v2) * (v1 + v2) /
              ((b.n > 1 ? v1 * v1 / (b.n - 1) : 0) + (bench->n > 1 ? v2 * v2 / (bench->n - 1) : 0));
  double half = (se > 0 && std::isfinite(df)) ? qt(0.975, df, 1, 0) * se : 0;
  h.saving_pct_low = 100.0 * (h.saving_j - half) / bench->mean;
  h.saving_pct_high = 100.0 * (h.saving_j + half) / bench->mean;
  if (const auto* vs = analysis_entry(data, "energy_j", "versus_baseline", h.best)) {
    h.p_holm = number(*vs, "p_holm");
    h.hedges_g = number(*vs, "hedges_g");
  }
  if (data.analysis.is_object() && data.analysis.contains("equivalence"))
    for (const auto& e : data.analysis["equivalence"])
      if (e.value("metric", "") == "test_accuracy" &&
          same_config(config_of_json(e.value("config", nlohmann::json())), h.best, data.factors))
        h.tost_p = number(e, "p");
  double alpha = data.analysis.is_object() ? data.analysis.value("alpha", 0.05) : 0.05;
  std::string line = fmt::format("{} vs benchmark ({}): energy {} [{}, {}]", best_label,
                                 config_label(data, data.benchmark),
                                 format_signed_pct(-h.saving_pct), format_signed_pct(-h.saving_pct_high, false),
                                 format_signed_pct(-h.saving_pct_low, false));
  if (h.p_holm) line += ", Holm p " + format_p(*h.p_holm);
  if (h.hedges_g) line += fmt::format(", g = {}", format_number(*h.hedges_g, 3));
  if (h.p_holm) line += *h.p_holm < alpha ? ": significant." : ": not significant.";
  else line += " (no test available).";
  if (h.tost_p) line += " Accuracy equivalent (TOST p " + format_p(*h.tost_p) + ").";
  else if (!any_tested) line += " Accuracy equivalence was not tested.";
  h.verdict = line;
  // Prefer analyze's own line for this comparison: its verdicts follow the energy cells'
  // order with the baseline left out (used only when the counts agree).
  const auto& a = data.analysis;
  if (a.is_object() && a.contains("verdicts") && a["verdicts"].is_array() && a.contains("metrics") &&
      a["metrics"].contains("energy_j") && a["metrics"]["energy_j"].contains("cells")) {
    const auto& cells = a["metrics"]["energy_j"]["cells"];
    std::vector<Config> order;
    for (const auto& cell : cells) {
      Config c = config_of_json(cell.value("config", nlohmann::json()));
      if (!same_config(c, data.benchmark, data.factors)) order.push_back(c);
    }
    if (order.size() == a["verdicts"].size())
      for (size_t i = 0; i < order.size(); ++i)
        if (same_config(order[i], h.best, data.factors) && a["verdicts"][i].is_string()) {
          h.verdict = a["verdicts"][i].get<std::string>();
          h.verdict_from_analyze = true;
        }
  }
  return h;
}

std::vector<Config> pareto_front(const ReportData& data) {
  struct Point { Config c; double e, a; };
  std::vector<Point> pts;
  for (const auto& c : configurations(data)) {
    auto e = summarize(data, "energy_j", c);
    auto a = summarize(data, "test_accuracy", c);
    if (e && a && e->n > 0 && a->n > 0) pts.push_back({c, e->mean, a->mean});
  }
  std::vector<Config> front;
  for (const auto& p : pts) {
    bool dominated = false;
    for (const auto& q : pts)
      if (q.e <= p.e && q.a >= p.a && (q.e < p.e || q.a > p.a)) dominated = true;
    if (!dominated) front.push_back(p.c);
  }
  return front;
}

const Run* median_run(const ReportData& data, const Config& config) {
  std::vector<const Run*> runs;
  for (const auto& r : data.runs)
    if (r.analysed() && !r.samples.empty() && same_config(r.config, config, data.factors))
      runs.push_back(&r);
  if (runs.empty()) return nullptr;
  auto energy = [](const Run* r) {
    auto it = r->metrics.find("energy_j");
    return it == r->metrics.end() ? 0.0 : it->second;
  };
  std::sort(runs.begin(), runs.end(), [&](const Run* a, const Run* b) { return energy(a) < energy(b); });
  return runs[(runs.size() - 1) / 2];
}

std::optional<double> co2e_on_grid(const ReportData& data, const Config& config, const Grid& grid) {
  if (data.plan_grid.g_per_kwh > 0)
    if (auto c = summarize(data, "co2e_g", config); c && c->n > 0)
      return c->mean * grid.g_per_kwh / data.plan_grid.g_per_kwh;
  if (auto e = summarize(data, "energy_j", config); e && e->n > 0)
    return e->mean / 3.6e6 * data.pue * grid.g_per_kwh;
  return std::nullopt;
}

std::optional<double> epochs_of(const ReportData& data, const Config& config) {
  if (auto it = config.find("epochs"); it != config.end())
    if (auto v = as_number(it->second)) return v;
  auto v = metric_values(data, "epochs", config);
  if (!v.empty()) return v.front();
  return std::nullopt;
}

}  // namespace gt::report
