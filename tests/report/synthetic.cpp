// Synthetic experiments for the report tests (see synthetic.h).
#include "synthetic.h"

#include <cmath>
#include <random>

#include "report/model.h"

namespace gt::report::testing {
namespace {

using nlohmann::json;

struct Level {
  std::string precision, batch;
  double energy, accuracy;
};

ReportData make(const std::vector<Level>& levels, int repeats, bool gpu, bool accuracy,
                unsigned seed) {
  ReportData d;
  d.experiment = "synthetic";
  d.greentrain_version = "0.1.0-test";
  d.generated_at = "2026-11-27T04:00:00Z";
  d.factors = {"precision", "batch_size"};
  d.benchmark = {{"precision", levels[0].precision}, {"batch_size", levels[0].batch}};
  d.plan_text =
      "name = \"synthetic\"\n[workload]\nkind = \"builtin\"\ndataset = \"fashion-mnist\"\n";
  d.design = {
      {"repeats", repeats}, {"order", "randomized-blocks"}, {"seed", 7},         {"warmup_runs", 1},
      {"cooldown_s", 5},    {"idle_baseline_s", 10},        {"interval_ms", 100}};
  d.environment = {
      {"gpus", gpu ? json::array({{{"name", "NVIDIA H100 80GB HBM3"}, {"power_limit_w", 700}}})
                   : json::array()},
      {"cpu", "AMD EPYC 7B13"},
      {"ram_gb", 64},
      {"os", "Debian 12"}};
  d.idle = {{gt::Component::cpu, "package-0", 18.0, 10.0}, {gt::Component::ram, "", 4.0, 10.0}};
  if (gpu) d.idle.push_back({gt::Component::gpu, "0", 60.0, 10.0});
  d.plan_grid = {"DEU", "Germany (DEU)", 381, "EMBER", 2023};
  d.pue = 1.2;
  d.other_grids = {{"FRA", "France (FRA)", 56, "EMBER", 2023},
                   {"USA", "United States (USA)", 384, "EMBER", 2023},
                   {"IND", "India (IND)", 713, "EMBER", 2023},
                   {"WLD", "World", 481, "EMBER", 2023}};
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
      r.metrics = {{"energy_j", total},
                   {"duration_s", duration},
                   {"avg_power_w", total / duration},
                   {"co2e_g", total / 3.6e6 * d.pue * d.plan_grid.g_per_kwh},
                   {"epochs", 10}};
      if (accuracy) r.metrics["test_accuracy"] = l.accuracy + 0.001 * noise(rng);
      if (gpu)
        r.components.push_back({gt::Component::gpu, "0", gt::Source::measured,
                                "nvml-energy-counter", gpu_j, gpu_j - 60 * duration,
                                gpu_j / duration, gpu_j / duration * 1.3});
      r.components.push_back({gt::Component::cpu, "package-0", gt::Source::estimated,
                              "tdp-linear(65 W)", cpu_j, cpu_j - 18 * duration, cpu_j / duration,
                              cpu_j / duration});
      r.components.push_back({gt::Component::ram, "", gt::Source::estimated, "0.375 W/GB", ram_j,
                              ram_j - 4 * duration, ram_j / duration, ram_j / duration});
      if (gpu)
        r.components.push_back({gt::Component::wall, "wattmeter", gt::Source::measured,
                                "usb-wattmeter", total * 1.25, std::nullopt,
                                total * 1.25 / duration, total * 1.5 / duration});
      for (int i = 0; i < 900; ++i) {  // 900 samples: the chart thins them to ~400
        double t = duration * i / 899.0;
        double ramp = std::min(1.0, t / (0.1 * duration));
        if (gpu)
          r.samples.push_back(
              {t, gt::Component::gpu, "0", 60 + ramp * (gpu_j / duration - 60) + 5 * noise(rng)});
        r.samples.push_back({t, gt::Component::cpu, "package-0", cpu_j / duration + noise(rng)});
      }
      d.runs.push_back(std::move(r));
    }
  return d;
}

// The analysis every report shows: stats::analyze over the runs, as `greentrain report` does.
void add_analysis(ReportData& d) { d.analysis = analyze_runs(d, &d.analysis_note); }

std::vector<Level> six_levels() {
  // bf16 is the cheapest but loses accuracy: the headline must pick fp16 / 128.
  return {{"fp32", "32", 12000, 0.88},  {"fp32", "128", 10000, 0.881},
          {"fp16", "32", 8500, 0.8805}, {"fp16", "128", 7000, 0.8795},
          {"bf16", "32", 6000, 0.86},   {"bf16", "128", 5000, 0.855}};
}

}  // namespace

ReportData full_experiment() {
  auto levels = six_levels();
  ReportData d = make(levels, 5, true, true, 42);
  add_analysis(d);
  return d;
}

ReportData with_failed_runs() {
  auto levels = six_levels();
  ReportData d = make(levels, 4, true, true, 43);
  for (auto& r : d.runs) {
    if (r.config.count("precision") && r.config.at("precision") == "bf16" &&
        r.config.at("batch_size") == "128") {
      r.status = gt::RunStatus::failed;  // every run of this configuration crashed
      r.metrics.clear();
      r.components.clear();
      r.samples.clear();
    }
    if (r.run_id == "5") r.status = gt::RunStatus::aborted;
  }
  add_analysis(d);
  return d;
}

ReportData single_configuration() {
  ReportData d = make({{"fp32", "32", 12000, 0.88}}, 3, true, true, 44);
  add_analysis(d);  // analyze refuses a single configuration: the note says why
  return d;
}

ReportData without_gpu() {
  auto levels = six_levels();
  levels.resize(4);
  ReportData d = make(levels, 3, false, false, 45);
  add_analysis(d);
  return d;
}

ReportData busy_machine() {
  ReportData d = make(six_levels(), 5, true, true, 46);
  for (auto& r : d.runs) {
    if (r.warmup) continue;
    r.metrics["idle_cpu_busy_share"] = 0.55;
    r.metrics["outside_cpu_share"] = r.run_id == "9" ? 0.45 : 0.03;
    for (auto& c : r.components)
      if (c.component == gt::Component::cpu || c.component == gt::Component::ram) {
        c.attribution = gt::Scope::process;
        c.machine_energy_j = 3 * c.energy_j;
      }
  }
  add_analysis(d);
  return d;
}

ReportData epochs_experiment() {
  ReportData d = make({{"fp32", "256", 12000, 0.88},
                       {"fp32", "512", 11000, 0.88},
                       {"bf16", "256", 7000, 0.875},
                       {"bf16", "512", 6500, 0.87}},
                      4, true, true, 47);
  d.target_accuracy = 0.86;
  d.plan_text = R"(name = "synthetic"
[workload]
kind = "command"
command = "python3 train.py --precision {precision} --batch-size {batch_size}"
[factors]
precision = ["fp32", "bf16"]
batch_size = [256, 512]
[design]
repeats = 4
[analysis]
target_accuracy = 0.86
)";
  const int epochs = 8;
  for (auto& r : d.runs) {
    if (r.warmup) continue;
    const bool bf16 = r.config.at("precision") == "bf16";
    const bool b512 = r.config.at("batch_size") == "512";
    // The epoch whose accuracy first reaches 0.86 (0: never).
    const int reach = !bf16 ? 4 : !b512 ? 5 : (r.block % 2 == 0 ? 0 : 6);
    const double train_j = 0.8 * r.metrics.at("energy_j");
    double so_far = 0;
    for (int e = 1; e <= epochs; ++e) {
      const double j = train_j / epochs * (1 + 0.01 * (e % 3));
      const double accuracy = reach && e >= reach ? 0.86 + 0.002 * (e - reach) : 0.80 + 0.005 * e;
      r.epochs.push_back({e, j, r.metrics.at("duration_s") * 0.8 / epochs, accuracy});
      if (reach && e <= reach) so_far += j;
    }
    r.metrics["epochs"] = epochs;
    r.metrics["target_reached"] = reach ? 1 : 0;
    if (reach) {
      r.metrics["energy_to_target_j"] = so_far;
      r.metrics["epochs_to_target"] = reach;
    }
  }
  add_analysis(d);
  return d;
}

}  // namespace gt::report::testing
