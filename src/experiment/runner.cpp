// The experiment runner (see runner.h).
#include "experiment/runner.h"

#include <fmt/core.h>
#include <stdlib.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "carbon/carbon.h"
#include "common/error.h"
#include "energy/session.h"
#include "experiment/design.h"
#include "experiment/environment.h"
#include "experiment/metered_run.h"
#include "experiment/process.h"
#include "experiment/store.h"
#include "experiment/workload.h"

namespace gt::experiment {
namespace fs = std::filesystem;

std::string format_duration(double s) {
  if (!(s >= 0)) return "?";
  auto t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

namespace {

// Picks the experiment name in the database: the plan's own, or with --new name-2, name-3, ...
ExperimentRecord* resolve_experiment(Store& store, const Plan& plan, const std::string& hash,
                                     bool new_experiment, ExperimentRecord& out) {
  auto existing = store.find_experiment(plan.name);
  if (existing && existing->plan_hash == hash && !new_experiment) {
    out = *existing;
    return &out;
  }
  if (existing && !new_experiment)
    throw gt::Error(fmt::format(
        "{}: experiment '{}' was created from a different plan ({} here, {} in the database); "
        "rerun with --new to start a new experiment beside it, or use another --db",
        store.path(), plan.name, hash.substr(0, 19), existing->plan_hash.substr(0, 19)));
  if (!existing) {
    out.name = plan.name;
    return nullptr;
  }
  for (int k = 2;; ++k) {
    auto name = fmt::format("{}-{}", plan.name, k);
    auto e = store.find_experiment(name);
    if (!e) {
      out.name = name;
      return nullptr;
    }
    // With a changed plan, --new resumes the experiment that already holds it.
    if (e->plan_hash == hash && existing->plan_hash != hash) {
      out = *e;
      return &out;
    }
  }
}

class Runner {
 public:
  Runner(const Plan& plan, const RunOptions& opt)
      : plan_(plan), opt_(opt), log_(opt.log ? *opt.log : std::cerr), store_(opt.db_path) {}

  RunOutcome run();

 private:
  void measure_idle(int after_runs);
  void cool_down();
  bool sleep_interruptible(double seconds);
  void run_one(const PlannedRun& run, int position, int total);

  const Plan& plan_;
  const RunOptions& opt_;
  std::ostream& log_;
  Store store_;
  InterruptGuard guard_;
  ExpandedDesign design_;
  ExperimentRecord exp_;
  std::int64_t session_id_ = 0;
  std::unique_ptr<MeteredRun> metered_;
  carbon::Intensity intensity_;
  std::string work_root_, self_;
  RunOutcome outcome_;
  std::vector<double> durations_;  // this session's run durations, for the ETA
  std::optional<double> pilot_mean_s_;
  bool warned_no_temperature_ = false;
};

RunOutcome Runner::run() {
  design_ = expand(plan_);
  const auto hash = plan_.hash();
  const bool resuming = resolve_experiment(store_, plan_, hash, opt_.new_experiment, exp_);
  outcome_.experiment = exp_.name;

  std::vector<PlannedRun> planned = design_.runs;
  std::string shard_text;
  if (!opt_.shard.empty()) {
    auto [i, n] = parse_shard(opt_.shard);
    planned = shard_runs(planned, i, n);
    shard_text = fmt::format("{}/{}", i, n);
  }
  outcome_.planned = static_cast<int>(planned.size());

  {
    MeteredRunOptions mo;
    mo.meters = plan_.meters;
    mo.carbon = plan_.carbon;
    metered_ = std::make_unique<MeteredRun>(mo);
  }
  intensity_ = metered_->intensity();
  auto env = host_environment();
  env["energy"] = metered_->session().environment();
  env["carbon"] = {{"g_per_kwh", intensity_.g_per_kwh},
                   {"label", intensity_.label},
                   {"source", intensity_.source},
                   {"year", intensity_.year},
                   {"pue", plan_.carbon.pue}};

  if (!resuming) {
    exp_.plan_text = plan_.text;
    exp_.plan_hash = hash;
    exp_.plan_path = plan_.path;
    exp_.workload_kind = plan_.workload.kind;
    exp_.factors = nlohmann::json::object();
    for (const auto& f : plan_.factors) {
      exp_.factor_names.push_back(f.name);
      exp_.factors[f.name] = f.levels;
    }
    for (const auto& [k, v] : plan_.benchmark) exp_.benchmark[k] = v;
    exp_.environment = env;
    exp_.planned_runs = static_cast<int>(design_.runs.size());
    exp_.id = store_.create_experiment(exp_);
  }

  std::set<int> done;
  std::vector<double> pilot;
  for (const auto& r : store_.runs(exp_.id)) {
    if (r.status != "aborted") done.insert(r.run_index);
    if (r.status == "ok" && r.duration_s) pilot.push_back(*r.duration_s);
  }
  if (!pilot.empty()) {
    double sum = 0;
    for (double d : pilot) sum += d;
    pilot_mean_s_ = sum / static_cast<double>(pilot.size());
  }
  std::vector<PlannedRun> todo;
  for (const auto& r : planned)
    if (!done.count(r.run_index)) todo.push_back(r);
  outcome_.already_done = outcome_.planned - static_cast<int>(todo.size());

  log_ << fmt::format(
      "experiment '{}' ({}): {} configurations x {} repeats{} = {} runs{}; {}\n", exp_.name,
      opt_.db_path, design_.configs.size(), plan_.design.repeats,
      plan_.design.warmup_runs ? fmt::format(" + {} warm-up", plan_.design.warmup_runs) : "",
      design_.runs.size(), shard_text.empty() ? "" : ", shard " + shard_text,
      todo.empty() ? "all done, nothing to run"
      : outcome_.already_done
          ? fmt::format("resuming: {} done, {} to run", outcome_.already_done, todo.size())
          : fmt::format("{} to run", todo.size()));
  log_.flush();
  if (todo.empty()) return outcome_;

  session_id_ = store_.add_session({0, exp_.id, "", host_name(), shard_text, env});
  self_ = self_executable();
  work_root_ = make_run_folder();
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{work_root_};

  measure_idle(static_cast<int>(done.size()));
  int position = 0;
  for (const auto& run : todo) {
    if (guard_.requested()) break;
    if (position > 0) {
      cool_down();
      if (guard_.requested()) break;
      const int finished = static_cast<int>(done.size()) + position;
      if (plan_.design.idle_every > 0 && finished % plan_.design.idle_every == 0)
        measure_idle(finished);
      if (guard_.requested()) break;
    }
    run_one(run, position, static_cast<int>(todo.size()));
    ++position;
  }
  outcome_.interrupted = guard_.requested();
  const int left = outcome_.planned - outcome_.already_done - outcome_.ok - outcome_.failed;
  log_ << fmt::format(
      "{}experiment '{}': {} ok, {} failed, {} aborted this session; {} of {} "
      "runs left. Results in {}\n",
      outcome_.interrupted ? "interrupted: " : "", exp_.name, outcome_.ok, outcome_.failed,
      outcome_.aborted, left, outcome_.planned, opt_.db_path);
  return outcome_;
}

bool Runner::sleep_interruptible(double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (guard_.requested()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

void Runner::measure_idle(int after_runs) {
  const double s = plan_.design.idle_baseline_s;
  if (s <= 0) return;
  log_ << fmt::format("measuring the idle baseline for {} ...\n", format_duration(s));
  log_.flush();
  std::string warning;
  if (!metered_->measure_idle(s, [this] { return guard_.requested(); }, &warning)) return;
  if (!warning.empty()) log_ << "warning: " << warning << "\n";
  auto& session = metered_->session();
  session.start();
  auto probe = session.stop();
  std::vector<IdleBaseline> rows;
  for (const auto& c : probe.components)
    if (c.idle_power_w)
      rows.push_back({0, exp_.id, session_id_, after_runs, utc_now_iso(), s, c.component, c.device,
                      c.source, *c.idle_power_w});
  std::string text;
  for (const auto& r : rows)
    text += fmt::format("{}{} {:.1f} W", text.empty() ? "" : ", ", r.component, r.power_w);
  log_ << "idle: " << (text.empty() ? "no idle power reported by the meters" : text) << "\n";
  if (!rows.empty()) store_.record_idle(rows);
}

void Runner::cool_down() {
  const auto& D = plan_.design;
  if (D.cooldown_until_gpu_c) {
    const auto t0 = std::chrono::steady_clock::now();
    while (!guard_.requested()) {
      metered_->session().start();
      sleep_interruptible(std::max(0.5, 3.0 * plan_.meters.interval_ms / 1000.0));
      auto s = metered_->session().stop();
      std::optional<double> hottest;
      for (const auto& x : s.samples)
        if (x.component == "gpu" && x.temperature_c)
          hottest = std::max(hottest.value_or(-1e9), *x.temperature_c);
      if (!hottest) {
        if (!warned_no_temperature_)
          log_ << fmt::format(
              "cooldown_until_gpu_c: no GPU temperature available; waiting "
              "cooldown_s = {} s instead\n",
              D.cooldown_s);
        warned_no_temperature_ = true;
        break;
      }
      if (*hottest <= *D.cooldown_until_gpu_c) return;
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >
          D.cooldown_max_s) {
        log_ << fmt::format("cool-down: GPU still at {:.0f} C after {}; going on\n", *hottest,
                            format_duration(D.cooldown_max_s));
        return;
      }
    }
  }
  if (D.cooldown_s > 0) sleep_interruptible(D.cooldown_s);
}

void Runner::run_one(const PlannedRun& run, int position, int total) {
  const auto& cfg = design_.configs.at(static_cast<size_t>(run.config_index));
  // Progress: run N/M of this session, configuration, ETA.
  std::optional<double> mean = pilot_mean_s_;
  if (!durations_.empty()) {
    double sum = 0;
    for (double d : durations_) sum += d;
    mean = sum / static_cast<double>(durations_.size());
  }
  const int remaining = total - position;
  std::string eta =
      mean ? format_duration(remaining * (*mean + plan_.design.cooldown_s)) : std::string("?");
  const int width = static_cast<int>(std::to_string(total).size());
  log_ << fmt::format("[{:>{}}/{}] {:3.0f}% ETA {:>6} | run {} {} | {}\n", position + 1, width,
                      total, 100.0 * position / total, eta, run.run_index,
                      run.warmup ? "warm-up" : fmt::format("block {}", run.block), cfg.label());
  log_.flush();

  const std::string work = work_root_ + "/run-" + std::to_string(run.run_index);
  fs::create_directories(work);
  auto prep = prepare_run(plan_, cfg, run, work, self_);

  RunRecord rec;
  rec.experiment_id = exp_.id;
  rec.session_id = session_id_;
  rec.run_index = run.run_index;
  rec.config_index = run.config_index;
  rec.block = run.block;
  rec.repeat = run.repeat;
  rec.warmup = run.warmup;
  rec.factors = cfg.values;
  rec.seed = run.seed;
  rec.command = prep.command_text;
  rec.started_at = utc_now_iso();

  prep.spec.remove_on_abandon = work_root_;
  MeteredResult metered = metered_->run(
      prep.spec, ChildPoll([this](int, double) { return guard_.requested() ? SIGTERM : 0; }));
  const ChildResult& child = metered.child;
  const energy::Summary& summary = metered.summary;
  rec.finished_at = utc_now_iso();
  rec.duration_s = child.duration_s;
  rec.exit_code = child.exit_code;

  auto metrics = collect_metrics(plan_, prep.metrics_path, prep.spec.stdout_path);
  rec.metrics = metrics.values;
  for (const auto& [k, v] : metered.metrics) rec.metrics[k] = v;  // the mark channel's
  for (const auto& [k, v] : metered.phase_metrics()) rec.metrics[k] = v;
  for (const auto& p : metered.phases) {
    PhaseRecord ph;
    ph.name = p.name;
    ph.occurrence = p.occurrence;
    ph.t_begin_s = p.t_begin_s;
    ph.duration_s = p.energy.duration_s;
    ph.energy_j = p.energy.energy_j;
    ph.net_energy_j = p.energy.net_energy_j;
    ph.wall_energy_j = p.energy.wall_energy_j;
    for (const char* c : {"gpu", "cpu", "ram"}) {
      bool present = false;
      for (const auto& x : p.energy.components) present |= x.component == c;
      if (!present) continue;
      const double e = p.energy.component_energy_j(c);
      (c[0] == 'g' ? ph.gpu_energy_j : c[0] == 'c' ? ph.cpu_energy_j : ph.ram_energy_j) = e;
    }
    ph.uncertainty_j = p.energy.uncertainty_j;
    for (const auto& x : p.energy.components) ph.components.push_back(energy::component_json(x));
    rec.phases.push_back(std::move(ph));
  }
  std::vector<std::string> notes = metrics.notes;
  if (child.stopped) {
    rec.status = "aborted";
    notes.insert(notes.begin(), fmt::format("interrupted by signal {}", guard_.signal()));
  } else if (child.timed_out) {
    rec.status = "failed";
    notes.insert(notes.begin(), fmt::format("timed out after {} s (workload.timeout_s)",
                                            plan_.workload.timeout_s));
  } else if (!child.exit_code || *child.exit_code != 0) {
    rec.status = "failed";
    const int c = child.exit_code.value_or(0);
    notes.insert(notes.begin(),
                 c < 0 ? fmt::format("killed by signal {}", -c) : fmt::format("exit code {}", c));
  } else if (plan_.workload.kind == "builtin" && !metrics.file_read) {
    rec.status = "failed";
    notes.insert(notes.begin(), "greentrain train wrote no readable --json result");
  } else {
    rec.status = "ok";
  }
  if (rec.status != "ok") rec.stderr_tail = tail_of_file(prep.spec.stderr_path);

  // Energy: per component with its source; totals; CO2e of the wall energy when metered.
  double peak = 0;
  for (const auto& c : summary.components) {
    rec.energy.push_back({c.component, c.device, c.source, c.model, c.energy_j, c.avg_power_w,
                          c.peak_power_w, c.idle_power_w, c.net_energy_j, c.attribution,
                          c.machine_energy_j});
    if (c.component != "wall") peak += c.peak_power_w;
  }
  bool has_main = false;
  for (const auto& c : summary.components) has_main |= c.component != "wall";
  if (has_main) {
    rec.energy_j = summary.energy_j;
    rec.net_energy_j = summary.net_energy_j;
    if (summary.duration_s > 0) rec.avg_power_w = summary.energy_j / summary.duration_s;
    rec.peak_power_w = peak;
  } else {
    notes.push_back("no energy meter reported gpu, cpu or ram energy");
  }
  rec.wall_energy_j = summary.wall_energy_j;
  if (auto e = rec.wall_energy_j ? rec.wall_energy_j : rec.energy_j) {
    rec.co2e_g = carbon::co2e_g(*e, intensity_, plan_.carbon.pue);
    rec.intensity_g_per_kwh = intensity_.g_per_kwh;
    rec.pue = plan_.carbon.pue;
  }
  for (const auto& n : summary.notes) notes.push_back(n);  // marks, attribution, idle
  for (const auto& n : notes) rec.note += (rec.note.empty() ? "" : "; ") + n;

  std::vector<SampleRecord> samples;
  if (plan_.store_samples)
    for (const auto& s : summary.samples)
      samples.push_back({s.t_s, s.component, s.device, s.power_w, s.energy_j, s.sm_clock_mhz,
                         s.temperature_c, s.utilization_pct, s.memory_used_mb});
  store_.record_run(rec, samples);

  if (rec.status == "ok") {
    ++outcome_.ok;
    durations_.push_back(child.duration_s);
  } else if (rec.status == "failed") {
    ++outcome_.failed;
  } else {
    ++outcome_.aborted;
  }
  std::string line = fmt::format("      {:<7} {:>7.1f} s", rec.status, child.duration_s);
  if (rec.energy_j) line += fmt::format("  {:>9.1f} J", *rec.energy_j);
  if (auto it = rec.metrics.find("train_energy_j"); it != rec.metrics.end())
    line += fmt::format(" (train {:.1f} J)", it->second);
  if (rec.co2e_g) line += fmt::format("  {:.3f} gCO2e", *rec.co2e_g);
  for (const char* m : {"test_accuracy", "final_loss"})
    if (auto it = rec.metrics.find(m); it != rec.metrics.end())
      line += fmt::format("  {}={:.4g}", m, it->second);
  if (rec.status != "ok") {
    line += "  (" + notes.front() + ")";
    auto last = rec.stderr_tail.substr(rec.stderr_tail.rfind('\n') + 1);
    if (!last.empty()) line += "\n      stderr: " + last.substr(0, 200);
  }
  log_ << line << "\n";
  log_.flush();
}

}  // namespace

RunOutcome run_experiment(const Plan& plan, const RunOptions& options) {
  Runner runner(plan, options);
  return runner.run();
}

}  // namespace gt::experiment
