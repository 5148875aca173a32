// Synthetic experiments for the report tests (see synthetic.h).
#include "synthetic.h"

#include <Rmath.h>

#include <cmath>
#include <random>

namespace gt::report::testing {
namespace {

using nlohmann::json;

struct Level { std::string precision, batch; double energy, accuracy; };

json cell_json(const Config& c, const std::vector<double>& v) {
  // Computed here, independently of report/model.cpp, as analyze would.
  double n = v.size(), sum = 0;
  for (double x : v) sum += x;
  double mean = sum / n, ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  double sd = n > 1 ? std::sqrt(ss / (n - 1)) : 0;
  double half = n > 1 ? qt(0.975, n - 1, 1, 0) * sd / std::sqrt(n) : 0;
  auto sorted = v;
  std::sort(sorted.begin(), sorted.end());
  double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                    : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
  return {{"config", c}, {"n", v.size()}, {"mean", mean}, {"sd", sd}, {"se", sd / std::sqrt(n)},
          {"ci95_low", mean - half}, {"ci95_high", mean + half}, {"median", median},
          {"min", sorted.front()}, {"max", sorted.back()}};
}

ReportData make(const std::vector<Level>& levels, int repeats, bool gpu, bool accuracy, unsigned seed) {
  ReportData d;
  d.experiment = "synthetic";
  d.greentrain_version = "0.1.0-test";
  d.generated_at = "2026-11-27T04:00:00Z";
  d.factors = {"precision", "batch_size"};
  d.benchmark = {{"precision", levels[0].precision}, {"batch_size", levels[0].batch}};
  d.plan_text = "name = \"synthetic\"\n[workload]\nkind = \"builtin\"\ndataset = \"fashion-mnist\"\n";
  d.design = {{"repeats", repeats}, {"order", "randomized-blocks"}, {"seed", 7}, {"warmup_runs", 1},
              {"cooldown_s", 5}, {"idle_baseline_s", 10}, {"interval_ms", 100}};
  d.environment = {{"gpus", gpu ? json::array({{{"name", "NVIDIA H100 80GB HBM3"}, {"power_limit_w", 700}}}) : json::array()},
                   {"cpu", "AMD EPYC 7B13"}, {"ram_gb", 64}, {"os", "Debian 12"}};
  d.idle = {{"cpu", "package-0", 18.0, 10.0}, {"ram", "", 4.0, 10.0}};
  if (gpu) d.idle.push_back({"gpu", "0", 60.0, 10.0});
  d.plan_grid = {"DEU", "Germany (DEU)", 381, "EMBER", 2023};
  d.pue = 1.2;
  d.other_grids = {{"FRA", "France (FRA)", 56, "EMBER", 2023}, {"USA", "United States (USA)", 384, "EMBER", 2023},
                   {"IND", "India (IND)", 713, "EMBER", 2023}, {"WLD", "World", 481, "EMBER", 2023}};
  d.carbon_attribution = "Intensities: Ember (synthetic test values).";
  d.train_samples_per_epoch = 54000;
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  int id = 0;
  // one warm-up run, excluded everywhere
  Run warm;
  warm.run_id = std::to_string(++id);
  warm.warmup = true;
  warm.config = d.benchmark;
  warm.metrics = {{"energy_j", 99999.0}, {"duration_s", 999.0}};
  d.runs.push_back(warm);
  for (int b = 1; b <= repeats; ++b)
    for (const auto& l : levels) {
      Run r;
      r.run_id = std::to_string(++id);
      r.block = b;
      r.repeat = b;
      r.config = {{"precision", l.precision}, {"batch_size", l.batch}};
      double duration = l.energy / 250.0 * (1 + 0.02 * noise(rng));
      double gpu_j = gpu ? l.energy * 0.7 * (1 + 0.03 * noise(rng)) : 0;
      double cpu_j = l.energy * (gpu ? 0.2 : 0.8) * (1 + 0.03 * noise(rng));
      double ram_j = l.energy * (gpu ? 0.1 : 0.2) * (1 + 0.03 * noise(rng));
      double total = gpu_j + cpu_j + ram_j;
      r.metrics = {{"energy_j", total}, {"duration_s", duration}, {"avg_power_w", total / duration},
                   {"co2e_g", total / 3.6e6 * d.pue * d.plan_grid.g_per_kwh}, {"epochs", 10}};
      if (accuracy) r.metrics["test_accuracy"] = l.accuracy + 0.001 * noise(rng);
      if (gpu) r.components.push_back({"gpu", "0", "measured", "nvml-energy-counter", gpu_j, gpu_j - 60 * duration,
                                       gpu_j / duration, gpu_j / duration * 1.3});
      r.components.push_back({"cpu", "package-0", "estimated", "tdp-linear(65 W)", cpu_j, cpu_j - 18 * duration,
                              cpu_j / duration, cpu_j / duration});
      r.components.push_back({"ram", "", "estimated", "0.375 W/GB", ram_j, ram_j - 4 * duration, ram_j / duration,
                              ram_j / duration});
      if (gpu) r.components.push_back({"wall", "wattmeter", "measured", "usb-wattmeter", total * 1.25, std::nullopt,
                                       total * 1.25 / duration, total * 1.5 / duration});
      for (int i = 0; i < 900; ++i) {  // 900 samples: the chart thins them to ~400
        double t = duration * i / 899.0;
        double ramp = std::min(1.0, t / (0.1 * duration));
        if (gpu) r.samples.push_back({t, "gpu", "0", 60 + ramp * (gpu_j / duration - 60) + 5 * noise(rng)});
        r.samples.push_back({t, "cpu", "package-0", cpu_j / duration + noise(rng)});
      }
      d.runs.push_back(std::move(r));
    }
  return d;
}

void add_analysis(ReportData& d, const std::vector<Config>& configs) {
  json metrics = json::object();
  for (const char* metric : {"energy_j", "duration_s", "avg_power_w", "co2e_g", "test_accuracy"}) {
    json cells = json::array(), versus = json::array();
    for (const auto& c : configs) {
      std::vector<double> v;
      for (const auto& r : d.runs)
        if (r.status == "ok" && !r.warmup && r.config == c && r.metrics.count(metric)) v.push_back(r.metrics.at(metric));
      if (v.empty()) continue;
      cells.push_back(cell_json(c, v));
      if (c != d.benchmark)
        versus.push_back({{"config", c}, {"diff", 0.0}, {"diff_pct", -10.0}, {"welch_t", -3.1}, {"welch_df", 7.5},
                          {"welch_p", 0.01}, {"p_holm", 0.004}, {"hedges_g", -1.9}, {"mw_u", 1}, {"mw_p", 0.016},
                          {"paired_t", nullptr}, {"paired_p", nullptr}, {"n_for_80pct_power", 4.2}});
    }
    if (cells.empty()) continue;
    metrics[metric] = {{"cells", cells}, {"versus_baseline", versus},
                       {"oneway_anova", {{"f", 40.2}, {"df_between", 5}, {"df_within", 24}, {"p", 1e-9}, {"eta_sq", 0.89}}},
                       {"welch_anova", {{"f", 35.0}, {"df_num", 5}, {"df_den", 10.9}, {"p", 2e-6}}},
                       {"levene", {{"w", 0.8}, {"p", 0.55}}},
                       {"factorial_anova", {{"type", 2}, {"terms", {{{"term", "precision"}, {"df", 2}, {"sum_sq", 1e6}, {"f", 50.0}, {"p", 1e-8}, {"partial_eta_sq", 0.8}},
                                                                   {{"term", "Residual"}, {"df", 24}, {"sum_sq", 2e5}}}}}},
                       {"tukey_hsd", {{{"a", configs[0]}, {"b", configs[1]}, {"diff", -5.0}, {"p_adj", 0.2}, {"ci_low", -12.0}, {"ci_high", 2.0}}}}};
  }
  json equivalence = json::array();
  for (const auto& c : configs)
    if (c != d.benchmark && d.runs.size() && metrics.contains("test_accuracy"))
      equivalence.push_back({{"metric", "test_accuracy"}, {"config", c}, {"margin", 0.005},
                             {"p", c.at("precision") == "bf16" ? 0.4 : 0.002}, {"equivalent", c.at("precision") != "bf16"}});
  d.analysis = {{"alpha", 0.05}, {"baseline", d.benchmark}, {"metrics", metrics}, {"equivalence", equivalence}};
  d.verdicts = {"fp16 vs fp32: energy −30 %: significant (synthetic)."};
}

std::vector<Level> six_levels() {
  // bf16 is the cheapest but loses accuracy: the headline must pick fp16 / 128.
  return {{"fp32", "32", 12000, 0.88}, {"fp32", "128", 10000, 0.881}, {"fp16", "32", 8500, 0.8805},
          {"fp16", "128", 7000, 0.8795}, {"bf16", "32", 6000, 0.86}, {"bf16", "128", 5000, 0.855}};
}

std::vector<Config> configs_of(const std::vector<Level>& levels) {
  std::vector<Config> out;
  for (const auto& l : levels) out.push_back({{"precision", l.precision}, {"batch_size", l.batch}});
  return out;
}

}  // namespace

ReportData full_experiment() {
  auto levels = six_levels();
  ReportData d = make(levels, 5, true, true, 42);
  add_analysis(d, configs_of(levels));
  return d;
}

ReportData with_failed_runs() {
  auto levels = six_levels();
  ReportData d = make(levels, 4, true, true, 43);
  for (auto& r : d.runs) {
    if (r.config.count("precision") && r.config.at("precision") == "bf16" && r.config.at("batch_size") == "128") {
      r.status = "failed";  // every run of this configuration crashed
      r.metrics.clear();
      r.components.clear();
      r.samples.clear();
    }
    if (r.run_id == "5") r.status = "aborted";
  }
  auto configs = configs_of(levels);
  configs.pop_back();
  add_analysis(d, configs);
  return d;
}

ReportData single_configuration() {
  ReportData d = make({{"fp32", "32", 12000, 0.88}}, 3, true, true, 44);
  d.analysis = nullptr;
  d.analysis_note = "analyze: fewer than two configurations, nothing to compare";
  return d;
}

ReportData without_gpu() {
  auto levels = six_levels();
  levels.resize(4);
  ReportData d = make(levels, 3, false, false, 45);
  add_analysis(d, configs_of(levels));
  return d;
}

}  // namespace gt::report::testing
