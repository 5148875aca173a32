// The experiment runner (see runner.h).
#include "experiment/runner.h"

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "carbon/carbon.h"
#include "common/error.h"
#include "energy/nvml.h"
#include "energy/session.h"
#include "experiment/design.h"
#include "experiment/environment.h"
#include "experiment/lanes.h"
#include "experiment/progress.h"
#include "experiment/publish.h"
#include "experiment/resolution.h"
#include "experiment/run_lock.h"
#include "experiment/run_record.h"
#include "experiment/stop_rule.h"
#include "experiment/store.h"
#include "experiment/workload.h"
#include "run/metered_run.h"
#include "run/process.h"
#include "run/run_metrics.h"

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

// How a plan stands against an experiment in the database: "" when the plan keeps the
// meaning of its finished runs (it may have grown), else the first key that differs.
std::string difference(const ExperimentRecord& e, const Plan& plan, const std::string& hash) {
  try {
    return plan_difference(parse_plan(e.plan_text, e.name + " (the plan in the database)"), plan);
  } catch (const gt::Error&) {
    // A stored plan this version no longer reads: only the same hash is the same plan.
    return e.plan_hash == hash ? ""
                               : fmt::format("the plan hash ({} here, {} in the database)",
                                             hash.substr(0, 19), e.plan_hash.substr(0, 19));
  }
}

// Picks the experiment name in the database: the plan's own, or with --new name-2, name-3, ...
ExperimentRecord* resolve_experiment(Store& store, const Plan& plan, const std::string& hash,
                                     bool new_experiment, ExperimentRecord& out) {
  auto existing = store.find_experiment(plan.name);
  const std::string diff = existing ? difference(*existing, plan, hash) : "";
  if (existing && diff.empty() && !new_experiment) {
    out = *existing;
    return &out;
  }
  if (existing && !new_experiment)
    throw gt::Error(fmt::format(
        "{}: experiment '{}' was created from a different plan: {}; rerun with --new to start a "
        "new experiment beside it, or use another --db",
        store.path(), plan.name, diff));
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
    if (difference(*e, plan, hash).empty() && !diff.empty()) {
      out = *e;
      return &out;
    }
  }
}

nlohmann::json plan_levels(const Plan& plan) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : plan.factors) j[f.name] = f.levels;
  return j;
}

class Runner {
 public:
  Runner(const Plan& plan, const RunOptions& opt)
      : plan_(plan),
        opt_(opt),
        log_(opt.log ? *opt.log : std::cerr),
        publisher_(opt.prometheus),  // its flags checked before the database is opened
        store_(opt.db_path) {}

  RunOutcome run();

 private:
  Layout load_layout(bool resuming);
  void begin_session(const nlohmann::json& env, const std::string& shard_text);
  bool needs_run(const PlannedRun& run) const;
  int runs_needed(int from_block, int to_block) const;
  bool attempt(const PlannedRun& run, int total);  // false when interrupted
  // Records a run's outcome; a configuration that fails design.max_failures times in a row is
  // skipped for the rest of the session. Lanes call it under mu_.
  void note_status(const PlannedRun& run, RunStatus status);
  // A parallel lane of --gpus: its own board, energy session and provenance.
  struct Lane {
    int index = 0;
    std::string uuid;
    std::unique_ptr<run::MeteredRun> metered;
    RunProvenance provenance;
    bool ran = false;
  };
  void set_up_lanes();
  bool attempt_in_lanes(const std::vector<PlannedRun>& runs, int total);  // false: interrupted
  void measure_idle(int after_runs);
  void measure_idle_lanes(int after_runs);
  void cool_down(energy::Session& session);
  bool sleep_interruptible(double seconds);
  // Runs one run (on `lane`'s board and meters, or on metered_) and returns its status.
  RunStatus run_one(const PlannedRun& run, int position, int total, Lane* lane = nullptr);
  void announce_run(const PlannedRun& run, const Configuration& cfg, int position, int total,
                    const Lane* lane);
  RunRecord new_record(const PlannedRun& run, const Configuration& cfg, const PreparedRun& prep,
                       const Lane* lane) const;
  run::MeteredResult meter_child(run::MeteredRun& meter, const run::ChildSpec& spec,
                                 run::RunMetrics& published);
  run::ChildResult settle_stop(run::ChildResult child);
  std::vector<SampleRecord> stored_samples(const energy::Summary& summary) const;
  // Stores the run, publishes it and counts its status; lanes call it under mu_.
  void record(const RunRecord& rec, const std::vector<SampleRecord>& samples,
              const run::MeteredResult& metered, run::RunMetrics& published);

  // The session, top to bottom (run()).
  void check_stop_rule_options() const;
  void lay_out(const std::string& hash);
  void set_up_meters();
  void save_experiment(const std::string& hash);
  void read_recorded_runs();
  void announce(int todo);
  int run_blocks();  // returns the block it stopped before
  bool block_begun(int b);
  bool stop_before_block(int b);  // with a stopping rule; sets outcome_.stopped
  bool stop_rule_met(int b);      // the rule on the blocks before b; updates estimate_
  void begin_session_once();
  bool run_block(int b, int total);  // false: interrupted
  void finish(int b, const std::string& hash);
  void summarise(const std::vector<PlannedRun>& asked_runs);

  const Plan& plan_;
  const RunOptions& opt_;
  std::ostream& log_;
  prometheus::Publisher publisher_;  // each run's metrics, off the runs' threads
  Store store_;
  run::InterruptGuard guard_;
  ExpandedDesign design_;
  ExperimentRecord exp_;
  std::int64_t session_id_ = 0;
  std::unique_ptr<run::MeteredRun> metered_;
  carbon::Intensity intensity_;
  std::string work_root_, self_;
  RunOutcome outcome_;
  std::vector<double> durations_;  // this session's run durations, for the ETA
  std::optional<double> pilot_mean_s_;
  std::atomic<bool> warned_no_temperature_ = false;
  RunProvenance provenance_;
  std::vector<Lane> lanes_;  // empty: one run at a time on metered_
  std::mutex mu_;            // the store, the counters and the log, shared by the lanes
  // Scheduling state of this session.
  std::map<int, RunStatus> status_;                // run_index -> status of its row in the database
  std::map<int, std::vector<PlannedRun>> blocks_;  // block (0 = warm-up) -> runs, in order
  std::set<int> skipped_;                          // configurations skipped after repeated failures
  std::map<int, int> failures_in_a_row_;  // configuration -> failures in a row this session
  int finished_before_ = 0;               // runs finished in the database at the start
  int position_ = 0;                      // runs attempted this session
  nlohmann::json env_;
  std::string shard_text_;
  // The session's shape, settled before the first run.
  struct Shape {
    bool resuming = false;
    std::vector<RunRecord> recorded;  // the experiment's runs at the start
    Layout layout;
    std::string grew;  // how the plan grew since the stored layout ("" = it did not)
    int started_blocks = 0, max_blocks = 0, target_blocks = 0;
    int planned_count = 0;     // this session's (shard's) runs up to target_blocks
    int experiment_count = 0;  // every shard's
  } shape_;
  int estimate_ = 0;  // blocks the stopping rule expects to need
  bool resolution_checked_ = false;
  std::string cleanup_dir_;  // the runs' work folders, removed when the session ends
};

Layout Runner::load_layout(bool resuming) {
  if (!resuming) return initial_layout(plan_);
  if (!exp_.layout.is_null()) return Layout::from_json(exp_.layout);
  // Written before layouts were kept: the stored plan gives the layout it ran with.
  try {
    return initial_layout(parse_plan(exp_.plan_text, exp_.name));
  } catch (const gt::Error&) {
    return initial_layout(plan_);
  }
}

bool Runner::needs_run(const PlannedRun& run) const {
  auto it = status_.find(run.run_index);
  if (it == status_.end() || it->second == RunStatus::aborted) return true;
  return it->second == RunStatus::failed && opt_.retry_failed;
}

int Runner::runs_needed(int from_block, int to_block) const {
  int n = 0;
  for (auto it = blocks_.lower_bound(from_block); it != blocks_.end() && it->first <= to_block;
       ++it)
    for (const auto& r : it->second)
      if (needs_run(r) && !skipped_.count(r.config_index)) ++n;
  return n;
}

RunOutcome Runner::run() {
  const auto hash = plan_.hash();
  shape_.resuming = resolve_experiment(store_, plan_, hash, opt_.new_experiment, exp_);
  outcome_.experiment = exp_.name;
  check_stop_rule_options();
  lay_out(hash);
  set_up_meters();
  save_experiment(hash);
  read_recorded_runs();
  const int todo = runs_needed(0, shape_.target_blocks);
  outcome_.already_done = shape_.planned_count - todo;
  announce(todo);

  struct Cleanup {
    const std::string& dir;
    ~Cleanup() {
      if (dir.empty()) return;
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{cleanup_dir_};
  const int b = run_blocks();
  finish(b, hash);
  return outcome_;
}

void Runner::check_stop_rule_options() const {
  const auto& D = plan_.design;
  if (D.stop && !opt_.shard.empty())
    throw gt::UsageError(
        "--shard with a stopping rule: the rule needs every block's results in one place; "
        "give the shards a fixed design.repeats instead");
  if (D.stop) {  // refused before any run: the rule could never form its interval
    const std::string metric =
        D.stop->metric.empty() ? plan_.analysis.primary_metric : D.stop->metric;
    if (auto why = stop_metric_problem(metric); !metric.empty() && !why.empty())
      throw gt::UsageError("the stopping rule's metric: " + why);
  }
}

void Runner::lay_out(const std::string& hash) {
  const auto& D = plan_.design;
  // The layout: finished runs keep their run_id; a grown plan appends new runs.
  if (shape_.resuming) shape_.recorded = store_.runs(exp_.id);
  for (const auto& r : shape_.recorded)
    shape_.started_blocks = std::max(shape_.started_blocks, r.block);
  shape_.layout = load_layout(shape_.resuming);
  shape_.grew = grow_layout(shape_.layout, plan_, shape_.started_blocks);
  if (!shape_.grew.empty() && shape_.resuming)
    shape_.layout.history.push_back(
        {{"at", utc_now_iso()}, {"change", shape_.grew}, {"plan_hash", hash}});
  // Blocks already begun stay whole: a configuration the plan added runs in every one of them
  // (a grown plan stays balanced), even beyond what the plan now asks for.
  shape_.max_blocks = std::max(D.planned_blocks(), shape_.started_blocks);
  design_ = expand(plan_, shape_.layout, shape_.max_blocks);
  shape_.target_blocks = D.stop ? std::max(D.stop->min_repeats, shape_.started_blocks)
                                : std::max(D.repeats, shape_.started_blocks);

  std::vector<PlannedRun> planned = design_.runs;
  if (!opt_.shard.empty()) {
    auto [i, n] = parse_shard(opt_.shard);
    planned = shard_runs(planned, i, n);
    shard_text_ = fmt::format("{}/{}", i, n);
  }
  for (const auto& r : planned) blocks_[r.block].push_back(r);
  for (const auto& [b, runs] : blocks_)
    if (b <= shape_.target_blocks) shape_.planned_count += static_cast<int>(runs.size());
  outcome_.planned = shape_.planned_count;
  // The experiment's own count covers every shard: merged shards hold the whole design.
  for (const auto& r : design_.runs)
    if (r.block <= shape_.target_blocks) ++shape_.experiment_count;
}

void Runner::set_up_meters() {
  // Meter the boards this process may use, found by UUID (CUDA_VISIBLE_DEVICES indices are in
  // CUDA's order, not NVML's), and record them with the Slurm ids as each run's provenance.
  auto meters = plan_.meters;
  {
    const auto visible = resolve_visible_gpus(energy::probe_nvml());
    if (meters.gpus.empty() && visible.mapping != "all")
      meters.gpus = visible.gpus.empty() ? "none" : uuid_list(visible.gpus);
    if (!visible.note.empty()) log_ << "note: " << visible.note << "\n";
    provenance_ = current_provenance(visible);
  }
  {
    run::MeteredRunOptions mo;
    mo.meters = meters;
    mo.carbon = plan_.carbon;
    mo.names = workload_name_check(plan_);
    metered_ = std::make_unique<run::MeteredRun>(mo);
  }
  if (!opt_.gpus.empty()) set_up_lanes();
  intensity_ = metered_->intensity();
  env_ = host_environment();
  env_["energy"] = metered_->session().environment();
  env_["carbon"] = {{"g_per_kwh", intensity_.g_per_kwh},
                    {"label", intensity_.label},
                    {"source", intensity_.source},
                    {"year", intensity_.year},
                    {"pue", plan_.carbon.pue}};
}

void Runner::save_experiment(const std::string& hash) {
  if (!shape_.resuming) {
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
    exp_.environment = env_;
    exp_.planned_runs = shape_.experiment_count;
    exp_.layout = shape_.layout.to_json();
    exp_.id = store_.create_experiment(exp_);
  } else if (!shape_.grew.empty() || exp_.layout.is_null() || exp_.plan_text != plan_.text ||
             exp_.planned_runs != shape_.experiment_count) {
    store_.update_plan(exp_.id, plan_.text, hash, plan_levels(plan_), shape_.layout.to_json(),
                       shape_.experiment_count);
  }
}

void Runner::read_recorded_runs() {
  std::vector<double> pilot;
  for (const auto& r : shape_.recorded) {
    status_[r.run_index] = r.status;
    if (r.status != RunStatus::aborted) ++finished_before_;
    if (r.status == RunStatus::ok && r.duration_s) pilot.push_back(*r.duration_s);
  }
  if (!pilot.empty()) {
    double sum = 0;
    for (double d : pilot) sum += d;
    pilot_mean_s_ = sum / static_cast<double>(pilot.size());
  }
}

void Runner::announce(int todo) {
  const auto& D = plan_.design;
  const int target_blocks = shape_.target_blocks;
  const std::string warm =
      D.warmup_runs ? fmt::format(" + {} warm-up", D.warmup_runs) : std::string();
  const std::string shape =
      D.stop ? fmt::format(
                   "{} configurations{}, whole blocks until every 95 % interval against "
                   "the benchmark is within +-{:g} % ({} to {} blocks)",
                   design_.configs.size(), warm, D.stop->ci_halfwidth_pct, D.stop->min_repeats,
                   D.stop->max_repeats)
             : fmt::format("{} configurations x {} repeats{} = {} runs{}", design_.configs.size(),
                           target_blocks, warm, shape_.planned_count,
                           target_blocks > D.repeats
                               ? fmt::format(" (repeats = {}, but {} blocks are begun and stay "
                                             "whole)",
                                             D.repeats, target_blocks)
                               : "");
  if (!shape_.grew.empty() && shape_.resuming)
    log_ << fmt::format("experiment '{}' grew: {}; its {} finished runs are kept\n", exp_.name,
                        shape_.grew, finished_before_);
  log_ << fmt::format(
      "experiment '{}' ({}): {}{}; {}\n", exp_.name, opt_.db_path, shape,
      shard_text_.empty() ? "" : ", shard " + shard_text_,
      todo == 0 && !D.stop ? "all done, nothing to run"
      : outcome_.already_done
          ? fmt::format("resuming: {} done, {} to run{}", outcome_.already_done, todo,
                        D.stop ? " before the first check" : "")
          : fmt::format("{} to run{}", todo, D.stop ? " before the first check" : ""));
  log_.flush();
}

int Runner::run_blocks() {
  // Warm-up, then block by block. With a stopping rule the rule is checked before each block
  // after min_repeats, on the blocks before it (so a resumed session decides as the first did).
  const auto& D = plan_.design;
  estimate_ = shape_.target_blocks;
  int b = 0;
  for (;; ++b) {
    if (guard_.requested()) break;
    if (!D.stop && b > shape_.target_blocks) break;
    if (D.stop && stop_before_block(b)) break;
    if (b > shape_.max_blocks) {
      if (D.stop) outcome_.stopped = fmt::format("reached max_repeats = {}", shape_.max_blocks);
      break;
    }
    const int total = position_ + runs_needed(b, std::max(b, estimate_));
    if (!run_block(b, total)) break;
  }
  return b;
}

bool Runner::block_begun(int b) {
  for (const auto& r : blocks_[b])
    if (status_.count(r.run_index)) return true;
  return false;
}

bool Runner::stop_before_block(int b) {
  const auto& D = plan_.design;
  if (block_begun(b)) return false;  // a block begun is finished whatever the rule says
  if (skipped_.count(0)) {           // configuration 0 is the benchmark
    outcome_.stopped =
        "the benchmark was skipped after repeated failures: the stopping rule "
        "compares every configuration with it, so no more blocks are run";
    return true;
  }
  // Once the first runs are in (the warm-up, else block 1): can the meter resolve the
  // stop metric's phase to the rule's target at all, within max_repeats?
  if (b >= 1 && !resolution_checked_) {
    const auto runs = store_.runs(exp_.id);
    const std::string metric = stop_metric(*D.stop, plan_.analysis.primary_metric, runs);
    if (auto res = check_resolution(*D.stop, metric, runs, shape_.max_blocks)) {
      resolution_checked_ = true;
      if (!res->reachable) {
        outcome_.stopped = res->message;
        return true;
      }
    }
  }
  return b - 1 >= D.stop->min_repeats && stop_rule_met(b);
}

bool Runner::stop_rule_met(int b) {
  const StopRule& D_stop = *plan_.design.stop;
  const int max_blocks = shape_.max_blocks;
  StopRule rule = D_stop;
  rule.max_repeats = max_blocks;
  auto check = check_stop_rule(rule, design_, store_.runs(exp_.id), b - 1, skipped_,
                               plan_.analysis.primary_metric);
  if (check.metric_missing)
    throw gt::Error(
        fmt::format("design.stop.metric: {} (runs record energy_j, duration_s and the metrics the "
                    "workload reports); the {} finished runs are kept",
                    check.problem, finished_before_ + position_));
  if (check.met) {
    outcome_.stopped =
        fmt::format("stopping rule met after {} blocks: {}", b - 1, describe(check, D_stop));
    return true;
  }
  if (!check.skipped.empty()) {  // more blocks cannot give a skipped configuration its interval
    outcome_.stopped = fmt::format(
        "stopped after {} blocks without meeting the stopping rule: {} skipped after "
        "repeated failures, so {} no interval{}",
        b - 1, fmt::join(check.skipped, ", "), check.skipped.size() == 1 ? "it has" : "they have",
        check.widest.empty() ? ""
        : check.compared_met
            ? fmt::format(" (the others are precise enough: {})", describe(check, D_stop))
            : fmt::format(" ({})", describe(check, D_stop)));
    return true;
  }
  if (b > max_blocks) {
    outcome_.stopped = fmt::format(
        "reached max_repeats = {} without meeting the stopping "
        "rule: {}",
        max_blocks, describe(check, D_stop));
    return true;
  }
  if (check.futile) {
    outcome_.stopped = fmt::format(
        "stopped after {} blocks: the stopping rule cannot be met within max_repeats = {}: "
        "{}; about {} more blocks needed (at least {} even if the spread were as small as "
        "its 90 % lower bound), {} left; to go on: --max-repeats {}",
        b - 1, max_blocks, describe(check, D_stop), check.blocks_left, check.blocks_left_optimistic,
        max_blocks - (b - 1), b - 1 + check.blocks_left);
    return true;
  }
  estimate_ = std::min(max_blocks, b - 1 + check.blocks_left);
  if (position_ > 0 || b - 1 >= shape_.started_blocks)
    log_ << fmt::format("after block {}: {}; about {} more block{} needed ({} more at most){}\n",
                        b - 1, describe(check, D_stop), check.blocks_left,
                        check.blocks_left == 1 ? "" : "s", max_blocks - (b - 1),
                        check.problem.empty() ? "" : "; " + check.problem);
  log_.flush();
  return false;
}

void Runner::begin_session_once() {
  if (session_id_ != 0) return;
  begin_session(env_, shard_text_);
  cleanup_dir_ = work_root_;
}

bool Runner::run_block(int b, int total) {
  if (!lanes_.empty()) {
    std::vector<PlannedRun> runs;
    for (const auto& run : blocks_[b])
      if (needs_run(run) && !skipped_.count(run.config_index)) runs.push_back(run);
    if (runs.empty()) return true;
    begin_session_once();
    return attempt_in_lanes(runs, total);
  }
  for (const auto& run : blocks_[b]) {
    if (!needs_run(run) || skipped_.count(run.config_index)) continue;
    begin_session_once();
    if (!attempt(run, total)) break;  // interrupted: the next block's check ends the session
  }
  return true;
}

void Runner::finish(int b, const std::string& hash) {
  const auto& D = plan_.design;
  outcome_.interrupted = guard_.requested();
  outcome_.signal = guard_.signal();
  // The blocks the plan asks for now: a stopped rule, the blocks it ran; a rule still going, the
  // blocks it estimates; a fixed design, its repeats (and every block begun).
  const int asked_blocks =
      D.stop ? (outcome_.stopped.empty() ? std::min(estimate_, shape_.max_blocks) : b - 1)
             : shape_.target_blocks;
  std::vector<PlannedRun> asked_runs;  // this session's (shard's) share of them
  for (const auto& [blk, runs] : blocks_)
    if (blk <= asked_blocks) asked_runs.insert(asked_runs.end(), runs.begin(), runs.end());
  if (D.stop) {  // the runs the rule asks for so far: what `experiment status` counts
    int wanted = 0;
    for (const auto& r : design_.runs) wanted += r.block <= asked_blocks ? 1 : 0;
    if (wanted != shape_.experiment_count)
      store_.update_plan(exp_.id, plan_.text, hash, plan_levels(plan_), shape_.layout.to_json(),
                         wanted);
  }
  if (!opt_.publish.empty()) publish_database(store_, opt_.publish);
  publisher_.finish();  // the last pushes, at most the Prometheus timeout
  summarise(asked_runs);
}

void Runner::summarise(const std::vector<PlannedRun>& asked_runs) {
  const auto& D = plan_.design;
  const auto recorded_now = store_.runs(exp_.id);
  for (const auto& r : recorded_now)
    if (r.status == RunStatus::failed) ++outcome_.failed_in_experiment;
  if (!outcome_.stopped.empty()) log_ << outcome_.stopped << "\n";
  // What is left, counted as `experiment status` counts it (progress.h): for a shard, its runs.
  const Progress prog = progress(design_, asked_runs, recorded_now);
  int in_skipped = 0;
  for (const auto& r : asked_runs)
    if (skipped_.count(r.config_index) && needs_run(r)) ++in_skipped;
  log_ << fmt::format(
      "{}experiment '{}': {} ok, {} failed, {} aborted this session; {}{}{}{}. Results in {}\n",
      outcome_.interrupted ? "interrupted: " : "", exp_.name, outcome_.ok, outcome_.failed,
      outcome_.aborted, shard_text_.empty() ? "" : "shard " + shard_text_ + ": ", describe(prog),
      in_skipped ? fmt::format(" ({} of them in configurations skipped this session)", in_skipped)
                 : "",
      D.stop && outcome_.stopped.empty() && !outcome_.interrupted ? " (by the estimate)" : "",
      opt_.db_path);
  if (outcome_.failed_in_experiment > 0)
    log_ << fmt::format(
        "{} run{} of '{}' failed (kept in the database); `greentrain experiment run {} "
        "--retry-failed` runs them again\n",
        outcome_.failed_in_experiment, outcome_.failed_in_experiment == 1 ? "" : "s", exp_.name,
        plan_.path);
  log_.flush();
}

void Runner::begin_session(const nlohmann::json& env, const std::string& shard_text) {
  session_id_ = store_.add_session({0, exp_.id, "", host_name(), shard_text, env});
  if (!opt_.publish.empty()) publish_database(store_, opt_.publish);
  self_ = run::self_executable();
  work_root_ = run::make_run_folder();
  if (lanes_.empty())
    measure_idle(finished_before_);
  else
    measure_idle_lanes(finished_before_);
}

bool Runner::attempt(const PlannedRun& run, int total) {
  if (guard_.requested()) return false;
  if (position_ > 0) {
    cool_down(metered_->session());
    if (guard_.requested()) return false;
    const int finished = finished_before_ + position_;
    if (plan_.design.idle_every > 0 && finished % plan_.design.idle_every == 0)
      measure_idle(finished);
    if (guard_.requested()) return false;
  }
  const RunStatus status = run_one(run, position_, std::max(total, position_ + 1));
  ++position_;
  if (guard_.requested()) return false;
  note_status(run, status);
  return true;
}

void Runner::note_status(const PlannedRun& run, RunStatus status) {
  status_[run.run_index] = status == RunStatus::failed ? RunStatus::failed : RunStatus::ok;
  if (run.warmup) return;
  int& in_a_row = failures_in_a_row_[run.config_index];
  in_a_row = status == RunStatus::failed ? in_a_row + 1 : 0;
  if (in_a_row >= plan_.design.max_failures && !skipped_.count(run.config_index)) {
    skipped_.insert(run.config_index);
    const auto label = design_.configs.at(static_cast<size_t>(run.config_index)).label();
    outcome_.skipped.push_back(label);
    log_ << fmt::format(
        "skipping {} for the rest of this session: it failed {} times in a row "
        "(design.max_failures = {})\n",
        label, in_a_row, plan_.design.max_failures);
  }
}

bool Runner::attempt_in_lanes(const std::vector<PlannedRun>& runs, int total) {
  // The block's runs in planned order to whichever lane is free; each lane cools down between
  // its own runs. The periodic idle baseline needs every board idle at once, so lanes measure
  // it only when the session begins.
  run_in_lanes(
      static_cast<int>(runs.size()), static_cast<int>(lanes_.size()),
      [&](int item, int l) {
        const PlannedRun& run = runs[static_cast<size_t>(item)];
        Lane& lane = lanes_[static_cast<size_t>(l)];
        if (lane.ran) cool_down(lane.metered->session());
        int position = 0;
        {
          std::lock_guard g(mu_);
          if (guard_.requested() || skipped_.count(run.config_index)) return;
          position = position_++;
        }
        const RunStatus status = run_one(run, position, std::max(total, position + 1), &lane);
        lane.ran = true;
        std::lock_guard g(mu_);
        if (guard_.requested()) return;
        note_status(run, status);
      },
      [this] { return guard_.requested(); });
  return !guard_.requested();
}

void Runner::set_up_lanes() {
  const auto probe = energy::probe_nvml();
  for (const auto& g : lane_gpus(probe, opt_.gpus)) {
    Lane lane;
    lane.index = g.lane;
    lane.uuid = g.gpu.uuid;
    auto meters = plan_.meters;
    meters.gpus = g.gpu.uuid;  // this lane's board only
    run::MeteredRunOptions mo;
    mo.meters = meters;
    mo.carbon = plan_.carbon;
    mo.names = workload_name_check(plan_);
    lane.metered = std::make_unique<run::MeteredRun>(mo);
    lane.provenance = current_provenance({{g.gpu}, "lane", ""});
    lane.provenance.cuda_visible_devices = g.gpu.uuid;
    lane.provenance.lane = g.lane;
    lanes_.push_back(std::move(lane));
  }
  std::string list;
  for (const auto& l : lanes_)
    list += fmt::format("{}lane {}: GPU {} ({})", list.empty() ? "" : ", ", l.index, l.uuid,
                        l.provenance.gpu_pci_bus_id);
  log_ << fmt::format("{} parallel lanes: {}\n", lanes_.size(), list);
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
  if (!metered_->measure_idle(
          s, [this] { return guard_.requested(); }, &warning))
    return;
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

void Runner::measure_idle_lanes(int after_runs) {
  const double s = plan_.design.idle_baseline_s;
  if (s <= 0) return;
  log_ << fmt::format("measuring the idle baseline of {} boards for {} ...\n", lanes_.size(),
                      format_duration(s));
  log_.flush();
  std::vector<energy::Summary> probes(lanes_.size());
  std::vector<std::thread> threads;
  for (size_t l = 0; l < lanes_.size(); ++l)
    threads.emplace_back([&, l] {
      if (!lanes_[l].metered->measure_idle(s, [this] { return guard_.requested(); })) return;
      lanes_[l].metered->session().start();
      probes[l] = lanes_[l].metered->session().stop();
    });
  for (auto& t : threads) t.join();
  // Each lane's board; the machine-wide components (cpu, ram, wall) once, from lane 0.
  std::vector<IdleBaseline> rows;
  for (size_t l = 0; l < probes.size(); ++l)
    for (const auto& c : probes[l].components)
      if (c.idle_power_w && (c.component == Component::gpu || l == 0))
        rows.push_back({0, exp_.id, session_id_, after_runs, utc_now_iso(), s, c.component,
                        c.device, c.source, *c.idle_power_w});
  if (!rows.empty()) store_.record_idle(rows);
}

void Runner::cool_down(energy::Session& session) {
  const auto& D = plan_.design;
  if (D.cooldown_until_gpu_c) {
    const auto t0 = std::chrono::steady_clock::now();
    while (!guard_.requested()) {
      session.start();
      sleep_interruptible(std::max(0.5, 3.0 * plan_.meters.interval_ms / 1000.0));
      auto s = session.stop();
      std::optional<double> hottest;
      for (const auto& x : s.samples)
        if (x.component == Component::gpu && x.temperature_c)
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

void Runner::announce_run(const PlannedRun& run, const Configuration& cfg, int position, int total,
                          const Lane* lane) {
  std::lock_guard lock(mu_);
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
                      run.warmup ? "warm-up" : fmt::format("block {}", run.block),
                      cfg.label() + (lane ? fmt::format(" | lane {}", lane->index) : ""));
  log_.flush();
}

RunRecord Runner::new_record(const PlannedRun& run, const Configuration& cfg,
                             const PreparedRun& prep, const Lane* lane) const {
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
  rec.provenance = lane ? lane->provenance : provenance_;
  return rec;
}

run::MeteredResult Runner::meter_child(run::MeteredRun& meter, const run::ChildSpec& spec,
                                       run::RunMetrics& published) {
  // Published as its phases end (what the meters give), then as recorded.
  run::PhaseObserver on_phase_end;
  if (publisher_.active())
    on_phase_end = [&](const run::LivePhase& live) {
      published.add_live(live);
      publisher_.publish(published.key(), published.families());
    };
  return meter.run(spec,
                   run::ChildPoll([this](int, double) { return guard_.requested() ? SIGTERM : 0; }),
                   on_phase_end);
}

run::ChildResult Runner::settle_stop(run::ChildResult child) {
  // A signal to the whole job (Slurm's scancel, a time limit) may kill the child before
  // greentrain stops it: a run that ended while a stop was requested is aborted, not failed.
  if (!child.stopped && child.exit_code && *child.exit_code < 0)
    for (int i = 0; i < 20 && !guard_.requested(); ++i)  // our copy of the signal may lag
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!child.stopped && guard_.requested()) child.stopped = true;
  return child;
}

RunStatus Runner::run_one(const PlannedRun& run, int position, int total, Lane* lane) {
  const auto& cfg = design_.configs.at(static_cast<size_t>(run.config_index));
  run::MeteredRun& meter = lane ? *lane->metered : *metered_;
  announce_run(run, cfg, position, total, lane);

  const std::string work = work_root_ + "/run-" + std::to_string(run.run_index);
  fs::create_directories(work);
  auto prep = prepare_run(plan_, cfg, run, work, self_);
  if (lane) prep.spec.env.emplace_back("CUDA_VISIBLE_DEVICES", lane->uuid);
  RunRecord rec = new_record(run, cfg, prep, lane);
  prep.spec.remove_on_abandon = work_root_;
  run::RunMetrics published(
      {exp_.name, cfg.label(), std::to_string(run.run_index), rec.provenance.host});
  const run::MeteredResult metered = meter_child(meter, prep.spec, published);
  const run::ChildResult child = settle_stop(metered.child);
  rec.finished_at = utc_now_iso();
  rec.duration_s = child.duration_s;
  rec.exit_code = child.exit_code;

  auto metrics = collect_metrics(plan_, prep.metrics_path, prep.spec.stdout_path);
  add_metrics(rec, metrics, metered);
  for (const auto& p : metered.phases) rec.phases.push_back(phase_record(p));
  std::vector<std::string> notes = metrics.notes;
  rec.status = run_status({child, guard_.signal(), plan_.workload.timeout_s,
                           plan_.workload.kind == "builtin", metrics.file_read},
                          notes);
  if (rec.status != RunStatus::ok) rec.stderr_tail = run::tail_of_file(prep.spec.stderr_path);

  // Energy: per component with its source; totals; CO2e.
  add_energy(rec, metered.summary, notes);
  if (rec.energy_j) {  // the metered run's one definition: the components' energy (docs/method.md)
    rec.co2e_g = metered.co2e_g;
    rec.intensity_g_per_kwh = intensity_.g_per_kwh;
    rec.pue = plan_.carbon.pue;
  }
  for (const auto& n : metered.summary.notes) notes.push_back(n);  // marks, attribution, idle
  if (lane && lanes_.size() > 1)
    notes.push_back(fmt::format(
        "gpu energy from lane {}'s board only; cpu, ram and wall figures that are not "
        "attributed to the run's processes are machine-wide and overlap with the other lanes",
        lane->index));
  rec.note = join_notes(notes);
  const auto samples = stored_samples(metered.summary);
  std::lock_guard lock(mu_);
  record(rec, samples, metered, published);
  log_ << result_line(rec, child.duration_s, notes,
                      lane ? std::optional<int>(run.run_index) : std::nullopt)
       << "\n";
  log_.flush();
  return rec.status;
}

std::vector<SampleRecord> Runner::stored_samples(const energy::Summary& summary) const {
  std::vector<SampleRecord> samples;
  if (plan_.store_samples)
    for (const auto& s : summary.samples)
      samples.push_back({s.t_s, s.component, s.device, s.power_w, s.energy_j, s.sm_clock_mhz,
                         s.temperature_c, s.utilization_pct, s.memory_used_mb});
  return samples;
}

void Runner::record(const RunRecord& rec, const std::vector<SampleRecord>& samples,
                    const run::MeteredResult& metered, run::RunMetrics& published) {
  store_.record_run(rec, samples);
  if (!opt_.publish.empty()) publish_database(store_, opt_.publish);
  if (publisher_.active()) {
    published.set_result(metered);
    publisher_.publish(published.key(), published.families());
  }
  if (rec.status == RunStatus::ok) {
    ++outcome_.ok;
    durations_.push_back(*rec.duration_s);
  } else if (rec.status == RunStatus::failed) {
    ++outcome_.failed;
  } else {
    ++outcome_.aborted;
  }
}

}  // namespace

RunOutcome run_experiment(const Plan& plan, const RunOptions& options) {
  const RunLock lock(options.db_path);  // before anything touches the database
  if (lock.took_over())
    (options.log ? *options.log : std::cerr)
        << fmt::format("note: {} was left by {}, which is no longer running; taking it over\n",
                       lock.path(), *lock.took_over());
  restore_published(options.db_path, options.publish);
  Runner runner(plan, options);
  return runner.run();
}

}  // namespace gt::experiment
