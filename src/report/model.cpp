// Derived figures of the report (see model.h): ordering, summaries, headline, Pareto front.
#include "report/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "carbon/carbon.h"
#include "common/error.h"
#include "engine/train_factors.h"
#include "report/format.h"
#include "stats/labels.h"

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

carbon::Intensity intensity_of(const Grid& g) { return {g.g_per_kwh, g.label, g.source, g.year}; }

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
  if (data.analysis)
    for (const auto& c : data.analysis->configurations) add(data.analysis->config_map(c.config));
  auto less = [&](const Config& a, const Config& b) {
    auto pa = a.count("precision") ? a.at("precision") : "",
         pb = b.count("precision") ? b.at("precision") : "";
    if (precision_rank(pa) != precision_rank(pb)) return precision_rank(pa) < precision_rank(pb);
    if (pa != pb) return pa < pb;
    bool ba = same_config(a, data.benchmark, data.factors),
         bb = same_config(b, data.benchmark, data.factors);
    if (ba != bb) return ba;
    for (const auto& f : data.factors) {
      if (f == "precision") continue;
      auto va = a.count(f) ? a.at(f) : "", vb = b.count(f) ? b.at(f) : "";
      if (va != vb) return stats::level_less(va, vb);
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
  return stats::readable_label(config, names);
}

std::vector<std::string> label_factors(const ReportData& data) {
  return stats::varying_factors(configurations(data), data.factors);
}

std::string config_label(const ReportData& data, const Config& config) {
  Config named = config;  // the plan's labels in place of the levels they name
  for (auto& [factor, level] : named)
    if (auto f = data.level_labels.find(factor); f != data.level_labels.end())
      if (auto l = f->second.find(level); l != f->second.end()) level = l->second;
  return config_label(named, label_factors(data));
}

double busy_share(const ReportData& data) {
  return data.analysis ? data.analysis->busy_share : stats::AnalysisOptions{}.busy_share;
}

std::optional<double> idle_busy_share(const ReportData& data) {
  std::optional<double> out;
  for (const auto& r : data.runs)
    if (auto it = r.metrics.find("idle_cpu_busy_share");
        !r.warmup && it != r.metrics.end() && std::isfinite(it->second))
      out = std::max(out.value_or(it->second), it->second);
  return out;
}

bool idle_baseline_valid(const ReportData& data) {
  const auto busy = idle_busy_share(data);
  return !(busy && *busy > busy_share(data));
}

std::vector<const Run*> contended_runs(const ReportData& data) {
  std::vector<const Run*> out;
  for (const auto& r : data.runs)
    if (auto it = r.metrics.find("outside_cpu_share");
        r.analysed() && it != r.metrics.end() && it->second > busy_share(data))
      out.push_back(&r);
  return out;
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

stats::Levels levels_of(const ReportData& data, const Config& config) {
  stats::Levels out;
  const auto& factors = data.analysis ? data.analysis->factors : data.factors;
  for (const auto& f : factors) {
    auto it = config.find(f);
    out.push_back(it == config.end() ? "" : it->second);
  }
  return out;
}

Config config_of(const ReportData& data, const stats::Levels& levels) {
  return data.analysis ? data.analysis->config_map(levels) : Config{};
}

std::optional<stats::Description> summarize(const ReportData& data, const std::string& metric,
                                            const Config& config) {
  if (data.analysis) {
    const stats::MetricAnalysis* m = data.analysis->metric(metric);
    if (m) {
      const stats::CellStats* c = m->cell(levels_of(data, config));
      if (!c) return std::nullopt;
      return stats::Description{c->n,         c->mean,   c->sd,  c->se,  c->ci95_low,
                                c->ci95_high, c->median, c->min, c->max, c->cv};
    }
  }
  auto values = metric_values(data, metric, config);
  if (values.empty()) return std::nullopt;
  return stats::describe(values);
}

const stats::Comparison* comparison(const ReportData& data, const std::string& metric,
                                    const Config& config) {
  if (!data.analysis) return nullptr;
  const stats::MetricAnalysis* m = data.analysis->metric(metric);
  return m ? m->versus(levels_of(data, config)) : nullptr;
}

std::optional<bool> accuracy_equivalent(const ReportData& data, const Config& config) {
  if (!data.analysis) return std::nullopt;
  const auto* e = data.analysis->equivalence_of("test_accuracy", levels_of(data, config));
  if (!e) return std::nullopt;
  return e->equivalent;
}

int failed_runs(const ReportData& data, const Config& c) {
  int n = 0;
  for (const auto& r : data.runs)
    if (!r.warmup && r.status != RunStatus::ok && same_config(r.config, c, data.factors)) ++n;
  return n;
}

HeadlineView headline(const ReportData& data) {
  HeadlineView h;
  if (configurations(data).size() < 2) {
    h.kind = "unavailable";
    h.title = "No headline: only one configuration was run, so there is nothing to compare";
    return h;
  }
  if (!data.analysis) {
    h.kind = "unavailable";
    h.title = "No headline: " +
              (data.analysis_note.empty() ? std::string("no analysis") : data.analysis_note);
    return h;
  }
  const stats::Headline& s = data.analysis->headline;
  h.kind = s.kind_name();
  h.available = s.kind != stats::Headline::Kind::unavailable;
  h.title = s.title;
  h.details = s.details;
  h.metric = s.metric;
  if (!s.best.empty()) h.best = data.analysis->config_map(s.best);
  const stats::MetricAnalysis* m = data.analysis->metric(s.metric);
  if (s.kind != stats::Headline::Kind::winner || !m || !s.metric.ends_with("energy_j")) return h;
  const stats::CellStats* best = m->cell(s.best);
  const stats::CellStats* base = m->cell(data.analysis->baseline);
  if (!best || !base) return h;
  const double saving_j = base->mean - best->mean;
  h.saving_kwh = saving_j / carbon::kJoulesPerKwh;
  h.saving_co2e_g = co2e_on(data, saving_j, data.plan_grid);
  return h;
}

std::string saving_sentence(const ReportData& data, const HeadlineView& h) {
  if (!h.saving_kwh || !h.saving_co2e_g) return "";
  return config_label(data, h.best) + " saves " + format_number(*h.saving_kwh, 3) + " kWh and " +
         format_co2e(*h.saving_co2e_g) + " CO2e per run against the benchmark on " +
         data.plan_grid.label + ".";
}

std::vector<Config> pareto_front(const ReportData& data) {
  struct Point {
    Config c;
    double e, a;
  };
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
  std::sort(runs.begin(), runs.end(),
            [&](const Run* a, const Run* b) { return energy(a) < energy(b); });
  return runs[(runs.size() - 1) / 2];
}

double co2e_on(const ReportData& data, double joules, const Grid& grid) {
  return carbon::co2e_g(joules, intensity_of(grid), data.pue);
}

std::optional<double> co2e_on_grid(const ReportData& data, const Config& config, const Grid& grid) {
  if (auto e = summarize(data, "energy_j", config); e && e->n > 0)
    return co2e_on(data, e->mean, grid);
  return std::nullopt;
}

std::optional<double> epochs_of(const ReportData& data, const Config& config) {
  if (auto it = config.find("epochs"); it != config.end())
    if (auto v = as_number(it->second)) return v;
  auto v = metric_values(data, "epochs", config);
  if (!v.empty()) return v.front();
  return std::nullopt;
}

std::optional<stats::Analysis> analyze_runs(const ReportData& data, std::string* why) {
  stats::RunsTable table;
  table.factors = data.factors;
  std::set<std::string> metrics;
  for (const auto& r : data.runs) {
    stats::RunRow row;
    row.run_id = r.run_id;
    for (const auto& f : data.factors) {
      auto it = r.config.find(f);
      row.config.push_back(it == r.config.end() ? "" : it->second);
    }
    row.block = r.block;
    row.repeat = r.repeat;
    row.status = r.status;
    row.warmup = r.warmup;
    row.metrics = r.metrics;
    for (const auto& [k, v] : r.metrics) metrics.insert(k);
    table.rows.push_back(std::move(row));
  }
  table.metric_columns.assign(metrics.begin(), metrics.end());
  stats::AnalysisOptions options;
  options.baseline = data.benchmark;
  try {
    return stats::analyze(table, options);
  } catch (const gt::Error& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
}

}  // namespace gt::report
