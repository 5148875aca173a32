// The report's loader (see load.h).
#include "report/load.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <sstream>

#include "carbon/carbon.h"
#include "common/error.h"
#include "experiment/analysis_input.h"
#include "experiment/epochs.h"
#include "experiment/run_setup.h"
#include "experiment/store.h"
#include "experiment/stored_plan.h"
#include "greentrain_version.h"
#include "report/model.h"
#include "stats/analysis.h"
#include "stats/runs_table.h"

namespace gt::report {
namespace {

using nlohmann::json;

Grid to_grid(const std::string& code, const carbon::Intensity& i) {
  return {code, i.label, i.g_per_kwh, i.source, i.year};
}

// Settings worth showing from the plan's [design], [meters], [carbon] and [workload] tables.
json plan_settings(const toml::table& plan) {
  json out = json::object();
  auto copy = [&](const char* section, std::initializer_list<const char*> keys) {
    const auto* tbl = plan[section].as_table();
    if (!tbl) return;
    for (const char* k : keys) {
      const toml::node* n = tbl->get(k);
      if (!n) continue;
      std::string name = std::string(section) + "." + k;
      if (auto v = n->value<int64_t>())
        out[name] = *v;
      else if (auto d = n->value<double>())
        out[name] = *d;
      else if (auto b = n->value<bool>())
        out[name] = *b;
      else if (auto s = n->value<std::string>())
        out[name] = *s;
    }
  };
  copy("workload", {"kind", "dataset", "model", "device", "validation", "command"});
  copy("design", {"repeats", "order", "seed", "warmup_runs", "cooldown_s", "cooldown_until_gpu_c",
                  "idle_baseline_s", "idle_every"});
  copy("meters", {"interval_ms", "gpus", "wall", "store_samples"});
  copy("carbon", {"country", "region", "intensity", "pue"});
  return out;
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Run to_run(const experiment::RunRecord& r, const experiment::ExperimentRecord& e,
           std::optional<double> target) {
  Run run;
  run.run_id = std::to_string(r.run_index);
  run.block = r.block;
  run.repeat = r.repeat;
  run.status = r.status;
  run.warmup = r.warmup;
  for (const auto& [k, v] : r.factors) run.config[k] = v;
  auto put = [&](const char* name, const std::optional<double>& v) {
    if (v) run.metrics[name] = *v;
  };
  put("duration_s", r.duration_s);
  put("energy_j", r.energy_j);
  put("net_energy_j", r.net_energy_j);
  put("wall_energy_j", r.wall_energy_j);
  put("avg_power_w", r.avg_power_w);
  put("peak_power_w", r.peak_power_w);
  put("co2e_g", r.co2e_g);
  for (const auto& [k, v] : r.metrics) run.metrics.emplace(k, v);
  // What the runs table derives from the phases (experiment/epochs.h), and the epochs
  // themselves for the per-epoch charts.
  for (const auto& [k, v] : experiment::derived_metrics(r, e.factor_names, target))
    run.metrics.emplace(k, v);
  for (const auto& x : experiment::epochs_of(r))
    run.epochs.push_back({x.epoch, x.energy_j, x.duration_s, x.accuracy});
  for (const auto& e : r.energy)
    run.components.push_back({e.component, e.device, e.source, e.model, e.energy_j, e.net_energy_j,
                              e.avg_power_w.value_or(0), e.peak_power_w.value_or(0), e.idle_power_w,
                              e.attribution, e.machine_energy_j});
  return run;
}

// Idle baselines: mean power per component and device over every measurement, listed as the
// components' words sort.
std::vector<IdleBaseline> mean_idle(const std::vector<experiment::IdleBaseline>& baselines) {
  using Meter = std::pair<Component, std::string>;
  auto meter_less = [](const Meter& a, const Meter& b) {
    return std::pair(std::string_view(to_string(a.first)), std::string_view(a.second)) <
           std::pair(std::string_view(to_string(b.first)), std::string_view(b.second));
  };
  std::map<Meter, std::pair<double, double>, decltype(meter_less)> idle(meter_less);  // Σ P·s, Σ s
  for (const auto& b : baselines) {
    auto& [ps, s] = idle[{b.component, b.device}];
    ps += b.power_w * std::max(b.duration_s, 1e-9);
    s += std::max(b.duration_s, 1e-9);
  }
  std::vector<IdleBaseline> out;
  for (auto& [k, v] : idle) out.push_back({k.first, k.second, v.first / v.second, v.second});
  return out;
}

}  // namespace

std::vector<Grid> grids_for(const std::vector<std::string>& codes) {
  std::vector<Grid> out;
  for (auto code : codes) {
    std::string upper = code;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    if (upper == "WORLD") upper = "WLD";
    Grid g;
    try {
      g = to_grid(upper, carbon::country(upper));
    } catch (const gt::Error& e) {
      throw gt::UsageError("--country " + code + ": " + e.what());
    }
    if (std::none_of(out.begin(), out.end(), [&](const Grid& o) { return o.code == g.code; }))
      out.push_back(g);
  }
  return out;
}

ReportData load_report(const LoadOptions& options) {
  experiment::Store store(options.db_path, experiment::Store::Mode::read_only);
  experiment::ExperimentRecord e = store.experiment(options.experiment);

  ReportData d;
  d.experiment = e.name;
  d.greentrain_version = GREENTRAIN_VERSION;
  d.generated_at = utc_now();
  d.factors = e.factor_names;
  if (e.benchmark.is_object())
    for (auto& [k, v] : e.benchmark.items())
      d.benchmark[k] = v.is_string() ? v.get<std::string>() : v.dump();
  d.plan_text = e.plan_text;
  d.environment = e.environment;

  toml::table plan;
  try {
    plan = toml::parse(e.plan_text);
  } catch (const toml::parse_error&) {
    // The store only holds plans that parsed when they ran; keep going without settings.
  }
  d.design = plan_settings(plan);
  const std::optional<experiment::Plan> parsed = experiment::stored_plan(e);
  if (parsed) d.level_labels = parsed->labels;
  d.design["experiment.created_at"] = e.created_at;
  d.design["experiment.planned_runs"] = e.planned_runs;
  d.design["experiment.plan_hash"] = e.plan_hash;

  // Runs, and the samples of the median run of each configuration only.
  auto records = store.runs(e.id);
  if (parsed) d.target_accuracy = parsed->analysis.target_accuracy;
  std::map<std::string, std::int64_t> row_id;
  // What each run's GPUs ran under (experiment/run_setup.h).
  const experiment::RunSetups setups(store, e);
  for (const auto& f : energy::setting_fields()) {
    d.gpu_setting_columns.push_back("gpu_" + f);
    if (energy::is_limit_or_clock(f)) d.gpu_comparability_columns.push_back("gpu_" + f);
  }
  for (const auto& r : records) {
    d.runs.push_back(to_run(r, e, d.target_accuracy));
    const experiment::RunSetup setup = setups.of(r);
    for (const auto& c : d.gpu_setting_columns)
      d.runs.back().gpu_settings[c] = experiment::context_value(setup, c);
    row_id[d.runs.back().run_id] = r.id;
  }
  for (const auto& config : configurations(d)) {
    std::vector<Run*> candidates;
    for (auto& r : d.runs)
      if (r.analysed() && same_config(r.config, config, d.factors) && r.metrics.count("energy_j"))
        candidates.push_back(&r);
    if (candidates.empty()) continue;
    std::sort(candidates.begin(), candidates.end(), [](const Run* a, const Run* b) {
      return a->metrics.at("energy_j") < b->metrics.at("energy_j");
    });
    Run* median = candidates[(candidates.size() - 1) / 2];
    for (const auto& s : store.samples(row_id[median->run_id]))
      median->samples.push_back({s.t_s, s.component, s.device, s.power_w});
  }

  d.idle = mean_idle(store.idle_baselines(e.id));

  // Carbon: the grid and PUE the runs were converted with, named from the plan's [carbon].
  carbon::CarbonOptions co;
  if (const auto* c = plan["carbon"].as_table()) {
    if (auto v = c->get("country"); v && v->value<std::string>())
      co.country = *v->value<std::string>();
    if (auto v = c->get("region"); v && v->value<std::string>())
      co.region = *v->value<std::string>();
    if (auto v = c->get("intensity"); v && v->value<double>()) co.intensity = *v->value<double>();
    if (auto v = c->get("pue"); v && v->value<double>()) co.pue = *v->value<double>();
  }
  carbon::Intensity plan_intensity;
  try {
    plan_intensity = carbon::resolve(co);
  } catch (const gt::Error&) {
    // keep the default (World) label; the runs' own factors below still apply
  }
  d.pue = co.pue;
  for (const auto& r : records)
    if (r.status == RunStatus::ok && r.intensity_g_per_kwh) {
      if (std::fabs(*r.intensity_g_per_kwh - plan_intensity.g_per_kwh) > 1e-9)
        plan_intensity.label +=
            " at " + std::to_string(static_cast<int>(std::lround(*r.intensity_g_per_kwh))) +
            " gCO2e/kWh as recorded with the runs";
      plan_intensity.g_per_kwh = *r.intensity_g_per_kwh;
      if (r.pue) d.pue = *r.pue;
      break;
    }
  d.plan_grid = to_grid(co.country.empty() ? (co.region.empty() ? "WLD" : co.region) : co.country,
                        plan_intensity);
  d.other_grids = grids_for(options.countries);
  d.carbon_attribution = carbon::attribution();

  // Training samples per epoch, for gCO2e per 1 000 samples: what the runs recorded (the
  // builtin trainer's train_rows, or a command's train_samples metric); none, no such figure.
  for (const auto& r : d.runs)
    if (r.analysed())
      for (const char* k : {"train_rows", "train_samples", "train_samples_per_epoch"})
        if (auto it = r.metrics.find(k); it != r.metrics.end() && !d.train_samples_per_epoch)
          d.train_samples_per_epoch = it->second;

  // The analysis `analyze --db` makes: the same runs table, options and primary metric
  // (experiment/analysis_input.h), so the page and `analyze` show one result.
  try {
    auto input = experiment::analysis_input(store, e, options.db_path);
    d.analysis = stats::analyze(input.table, input.options);
  } catch (const gt::Error& err) {
    d.analysis.reset();
    d.analysis_note = std::string("No statistics: analyze says \"") + err.what() +
                      "\". Means and intervals on this page are computed from the runs alone.";
  }
  return d;
}

}  // namespace gt::report
