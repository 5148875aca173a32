// Synthetic data → results database (see store_fixture.h).
#include "store_fixture.h"

#include <set>

#include "experiment/store.h"

namespace gt::report::testing {

void write_store(const ReportData& d, const std::string& path) {
  experiment::Store store(path);
  experiment::ExperimentRecord e;
  e.name = d.experiment;
  // A whole plan (one with [factors]) is stored as it is; otherwise the synthetic settings.
  e.plan_text =
      d.plan_text.find("[factors]") != std::string::npos
          ? d.plan_text
          : "name = \"" + d.experiment +
                "\"\n[workload]\nkind = \"builtin\"\ndataset = \"fashion-mnist\"\nvalidation = "
                "0.1\n[design]\nrepeats = 5\norder = \"randomized-blocks\"\nseed = 7\n"
                "warmup_runs = 1\n[carbon]\ncountry = \"DEU\"\npue = 1.2\n[meters]\n"
                "interval_ms = 100\n";
  e.plan_hash = "sha256:test";
  e.workload_kind = "builtin";
  e.factor_names = d.factors;
  e.factors = nlohmann::json::object();
  for (const auto& f : d.factors) {
    std::set<std::string> levels;
    for (const auto& r : d.runs) levels.insert(r.config.at(f));
    e.factors[f] = std::vector<std::string>(levels.begin(), levels.end());
  }
  e.benchmark = d.benchmark;
  e.environment = d.environment;
  e.planned_runs = static_cast<int>(d.runs.size());
  auto eid = store.create_experiment(e);
  auto sid = store.add_session({0, eid, "2026-11-27T04:00:00Z", "test-host", "", d.environment});
  int index = 0;
  for (const auto& run : d.runs) {
    experiment::RunRecord r;
    r.experiment_id = eid;
    r.session_id = sid;
    r.run_index = ++index;
    r.block = run.block;
    r.repeat = run.repeat;
    r.warmup = run.warmup;
    for (const auto& f : d.factors) r.factors.emplace_back(f, run.config.at(f));
    r.seed = 1000 + index;
    r.status = run.status;
    r.started_at = r.finished_at = "2026-11-27T04:00:00Z";
    auto get = [&](const char* k) -> std::optional<double> {
      auto it = run.metrics.find(k);
      return it == run.metrics.end() ? std::nullopt : std::optional<double>(it->second);
    };
    r.duration_s = get("duration_s");
    r.energy_j = get("energy_j");
    r.avg_power_w = get("avg_power_w");
    r.co2e_g = get("co2e_g");
    if (r.co2e_g) {
      r.intensity_g_per_kwh = d.plan_grid.g_per_kwh;
      r.pue = d.pue;
    }
    if (run.status != gt::RunStatus::ok) r.exit_code = 1;
    for (const auto& [k, v] : run.metrics)  // the rest are the workload's and the runner's metrics
      if (k != "duration_s" && k != "energy_j" && k != "avg_power_w" && k != "co2e_g")
        r.metrics[k] = v;
    // The trainer records its training rows with every run; the report reads them back.
    if (d.train_samples_per_epoch) r.metrics["train_rows"] = *d.train_samples_per_epoch;
    for (const auto& c : run.components)
      r.energy.push_back({c.component, c.device, c.source, c.model, c.energy_j, c.avg_power_w,
                          c.peak_power_w, std::nullopt, c.net_energy_j, c.attribution,
                          c.machine_energy_j});
    double t = 1;  // the epochs as the phases the runner records: train/epoch occurrences
    for (const auto& e : run.epochs) {
      experiment::PhaseRecord p;
      p.name = "epoch";
      p.parent = "train";
      p.occurrence = e.epoch;
      p.t_begin_s = t;
      p.duration_s = e.duration_s;
      p.energy_j = e.energy_j;
      if (e.accuracy) p.metrics["val_accuracy"] = *e.accuracy;
      r.phases.push_back(p);
      t += e.duration_s;
    }
    // Derived from those phases when the runs table is read: not stored twice.
    if (!run.epochs.empty())
      for (const char* k : {"epochs", "target_reached", "energy_to_target_j", "epochs_to_target"})
        r.metrics.erase(k);
    std::vector<experiment::SampleRecord> samples;
    for (const auto& s : run.samples) samples.push_back({s.t_s, s.component, s.device, s.power_w});
    store.record_run(r, samples);
  }
  std::vector<experiment::IdleBaseline> idle;
  for (const auto& b : d.idle)
    idle.push_back({0, eid, sid, 0, "2026-11-27T04:00:00Z", b.duration_s, b.component, b.device,
                    gt::Source::estimated, b.power_w});
  store.record_idle(idle);
}

}  // namespace gt::report::testing
