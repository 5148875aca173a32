// `greentrain experiment init|plan|run|submit|status|merge`: designed experiments from a TOML plan
// (docs/plan-format.md) into the SQLite results database (docs/database.md). The work is in
// src/experiment/; this file only declares the subcommands and prints.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "cli/cli_number.h"
#include "cli/prometheus_options.h"
#include "cli/verbs.h"
#include "common/error.h"
#include "common/output_file.h"
#include "engine/train_factors.h"
#include "experiment/design.h"
#include "experiment/example_plans.h"
#include "experiment/plan.h"
#include "experiment/progress.h"
#include "experiment/publish.h"
#include "experiment/reserved_names.h"
#include "experiment/resolution.h"
#include "experiment/runner.h"
#include "experiment/slurm.h"
#include "experiment/store.h"
#include "experiment/template.h"

namespace gt::cli {
namespace {

namespace ex = gt::experiment;

struct ExperimentArgs {
  std::string from = "quick";
  std::string out = "plan.toml";
  bool force = false;
  std::string plan_path;
  std::string db = "greentrain.db";
  bool new_experiment = false;
  std::string shard;
  std::string experiment;
  std::string merge_out;
  std::vector<std::string> merge_in;
  std::string publish;
  std::string gpus;
  bool failed_runs_ok = false;
  bool slurm = false, dry_run = false;
  std::string slurm_status;
  ex::SlurmOptions slurm_opt;
  std::string command;  // init --command
  bool retry_failed = false;
  double until_ci = 0;                          // run --until-ci PCT (0 = not given)
  int max_repeats = 0;                          // run --max-repeats N (0 = not given)
  std::string stop_metric;                      // run --stop-metric NAME
  gt::prometheus::PublisherOptions prometheus;  // run --prometheus-push/-textfile/-timeout-s
};

// Default levels for a factor named by a placeholder of `init --command`: the trainer's own
// examples for the factors it knows (engine/train_factors.h).
std::string default_levels(const std::string& name) {
  if (const engine::TrainFactor* f = engine::find_train_factor(name)) return f->example;
  return R"(["a", "b"])";
}

// A command-workload plan whose factors are the placeholders the command uses.
std::string command_plan(const std::string& command, const std::string& name) {
  std::vector<std::string> factors;
  for (const auto& p : ex::placeholders(command)) {
    const auto& per_run = ex::run_placeholders();
    if (std::find(per_run.begin(), per_run.end(), p) != per_run.end()) continue;
    const bool ident = !p.empty() && !std::isdigit(static_cast<unsigned char>(p[0])) &&
                       std::all_of(p.begin(), p.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                       });
    if (!ident)
      throw gt::UsageError(fmt::format(
          "experiment init --command: placeholder {{{}}} is not a factor name (letters, digits "
          "and _)",
          p));
    factors.push_back(p);
  }
  if (factors.empty())
    throw gt::UsageError(
        "experiment init --command: the command names no factor; mark what varies with "
        "placeholders, e.g. --command 'python3 train.py --amp {precision} --seed {seed}'");
  std::string f, b;
  for (const auto& x : factors) {
    const std::string levels = default_levels(x);
    f += fmt::format(
        "{} = {}{}\n", x, levels,
        levels == R"(["a", "b"])" ? fmt::format("   # edit: the values of {{{}}}", x) : "");
    const auto first = levels.substr(1, levels.find_first_of(",]") - 1);
    b += fmt::format("{} = {}\n", x, first);
  }
  return fmt::format(
      R"(# A plan for a command workload, written by `greentrain experiment init --command`.
# Edit the levels, check it with `greentrain experiment plan FILE`, run it with
# `greentrain experiment run FILE`. Format: docs/plan-format.md.
#
# The command is run once per configuration and block, with each {{factor}} replaced by a level
# (and {{seed}}, {{run_id}}, {{block}}, {{repeat}} by the run's own). It reports metrics by printing
# lines on stdout:
#   greentrain-metric test_accuracy=0.91
#   greentrain-metric epochs=10            (per-epoch energy and CO2e)
#   greentrain-metric train_samples=60000  (training samples per epoch: gCO2e per 1000 samples)
name = {}

[workload]
kind = "command"
command = {}

# The reference configuration: every other configuration is compared with it.
[benchmark]
{}
[factors]
{}
[design]
repeats = 3
order = "randomized-blocks"
seed = 1
warmup_runs = 1

# Sequential repeats: add whole blocks until every configuration's 95 % interval against the
# benchmark is within +-ci_halfwidth_pct % (or `experiment run FILE --until-ci 2`).
# [design.stop]
# ci_halfwidth_pct = 2
# min_repeats = 3
# max_repeats = 40

[carbon]
country = "WLD"
)",
      nlohmann::json(name).dump(), nlohmann::json(command).dump(), b, f);
}

int do_init(const ExperimentArgs& a) {
  std::string name = std::filesystem::path(a.out).stem().string();
  if (a.out == "-" || name.empty()) name = "command";
  const std::string text = !a.command.empty()  ? command_plan(a.command, name)
                           : a.from == "paper" ? ex::kPaperPlan
                           : a.from == "cnn"   ? ex::kCnnPlan
                                               : ex::kQuickPlan;
  if (!a.command.empty()) ex::parse_plan(text, a.out);  // what we write must parse
  if (a.out == "-") {
    std::cout << text;
    return 0;
  }
  if (std::filesystem::exists(a.out) && !a.force)
    throw gt::UsageError(
        fmt::format("experiment init: {} exists; pass --force to overwrite it", a.out));
  gt::write_output_file(a.out, text);
  std::cout << fmt::format(
      "wrote {} (from {}); edit it, check it with `greentrain "
      "experiment plan {}`, run it with `greentrain experiment run {}`\n",
      a.out, a.command.empty() ? "the '" + a.from + "' plan" : "your command", a.out, a.out);
  return 0;
}

// What the meter can resolve against what the stopping rule asks: the shortest phase that can
// reach the target within max_repeats, and, with pilot runs of this plan in `db`, whether
// theirs do (experiment/resolution.h).
void print_resolution(const ex::Plan& plan, const std::string& db) {
  const auto& stop = plan.design.stop;
  if (!stop) return;
  const std::string metric = stop->metric.empty() ? "train_energy_j" : stop->metric;
  std::cout << fmt::format(
      "resolution: a GPU energy counter (about 100 ms updates) puts about {:.1f} ms of a phase's "
      "power into each window's spread; for +-{:g} % within {} blocks the phase of {} must last "
      "at least {:.0f} ms\n",
      1000 * ex::kBoundaryPower_s, stop->ci_halfwidth_pct, stop->max_repeats, metric,
      1000 * ex::shortest_resolvable_phase_s(stop->ci_halfwidth_pct, stop->max_repeats));
  if (!std::filesystem::exists(db)) return;
  ex::Store store(db, ex::Store::Mode::read_only);
  const auto e = store.find_experiment(plan.name);
  if (!e || e->plan_hash != plan.hash()) return;
  if (auto res = ex::check_resolution(*stop, metric, store.runs(e->id), stop->max_repeats))
    std::cout << (res->reachable
                      ? fmt::format("pilot runs: the {} phase ({:.0f} ms, +-{:.2f} J of {:.2f} J) "
                                    "can reach the target (about {} blocks from the meter alone)\n",
                                    res->phase, 1000 * res->duration_s, res->uncertainty_j,
                                    res->energy_j, res->blocks_needed)
                      : "pilot runs: " + res->message + "\n");
}

int do_plan(const ExperimentArgs& a) {
  const auto plan = ex::load_plan(a.plan_path);
  const auto design = ex::expand(plan);
  std::cout << fmt::format("plan '{}' ({}), {}\n", plan.name, a.plan_path, plan.hash());
  std::cout << fmt::format("workload: {}\n",
                           plan.workload.kind == "command"
                               ? "command: " + plan.workload.command
                               : fmt::format("builtin: {} {} on {}", plan.workload.dataset,
                                             plan.workload.model, plan.workload.device));
  if (const auto& stop = plan.design.stop)
    std::cout << fmt::format(
        "{} configurations ({}), whole blocks until every 95 % interval of {} against the "
        "benchmark is within +-{:g} % ({} to {} blocks), order {}, seed {}:\n",
        design.configs.size(), plan.design.type,
        stop->metric.empty() ? "train_energy_j (energy_j when runs lack it)" : stop->metric,
        stop->ci_halfwidth_pct, stop->min_repeats, stop->max_repeats, plan.design.order,
        plan.design.seed);
  else
    std::cout << fmt::format("{} configurations ({}), {} repeats, order {}, seed {}:\n",
                             design.configs.size(), plan.design.type, plan.design.repeats,
                             plan.design.order, plan.design.seed);
  for (const auto& c : design.configs)
    std::cout << fmt::format("  {:>3}  {}{}\n", c.index, c.label(),
                             c.benchmark ? "   (benchmark)" : "");
  // Pilot: mean run duration per configuration from a database holding this plan.
  std::map<int, std::pair<double, int>> pilot;
  if (std::filesystem::exists(a.db)) {
    ex::Store store(a.db, ex::Store::Mode::read_only);
    if (auto e = store.find_experiment(plan.name); e && e->plan_hash == plan.hash())
      for (const auto& r : store.runs(e->id))
        if (r.status == RunStatus::ok && r.duration_s) {
          pilot[r.config_index].first += *r.duration_s;
          pilot[r.config_index].second += 1;
        }
  }
  const int shown_blocks = plan.design.stop ? plan.design.stop->min_repeats : plan.design.repeats;
  std::cout << fmt::format("{} runs ({} warm-up + {} x {}){}:\n", design.runs.size(),
                           plan.design.warmup_runs, shown_blocks, design.configs.size(),
                           plan.design.stop ? ", then whole blocks as the stopping rule asks" : "");
  for (const auto& r : design.runs)
    std::cout << fmt::format("  run {:>4}  {:<9} config {:>3}  seed {:>10}  {}\n", r.run_index,
                             r.warmup ? "warm-up" : fmt::format("block {}", r.block),
                             r.config_index, r.seed,
                             design.configs[static_cast<size_t>(r.config_index)].label());
  print_resolution(plan, a.db);
  if (pilot.empty()) {
    std::cout << "estimated duration: unknown (no pilot run in " << a.db
              << "; run the plan for a few runs, then ask again)\n";
  } else {
    double all = 0;
    int n = 0;
    for (auto& [k, v] : pilot) {
      all += v.first;
      n += v.second;
    }
    double total = 0;
    for (const auto& r : design.runs) {
      auto it = pilot.find(r.config_index);
      total += (it != pilot.end() ? it->second.first / it->second.second : all / n) +
               plan.design.cooldown_s;
    }
    total += plan.design.idle_baseline_s *
             (1 + (plan.design.idle_every > 0
                       ? static_cast<double>(design.runs.size() /
                                             static_cast<size_t>(plan.design.idle_every))
                       : 0.0));
    std::cout << fmt::format("estimated duration: {} (from {} finished runs in {})\n",
                             ex::format_duration(total), n, a.db);
  }
  return 0;
}

int do_run(const ExperimentArgs& a) {
  auto plan = ex::load_plan(a.plan_path);
  auto& D = plan.design;
  if (a.until_ci > 0) {
    if (!D.stop) {
      D.stop = ex::StopRule{};
      D.stop->min_repeats = D.repeats;
      D.stop->max_repeats = std::max(40, D.repeats);
    }
    D.stop->ci_halfwidth_pct = a.until_ci;
  }
  if (!a.stop_metric.empty()) {
    if (!D.stop)
      throw gt::UsageError(
          "--stop-metric names the stopping rule's metric: give --until-ci PCT "
          "or a [design.stop] section");
    D.stop->metric = a.stop_metric;
  }
  if (a.max_repeats > 0) {
    if (!D.stop)
      throw gt::UsageError(
          "--max-repeats bounds the stopping rule: give --until-ci PCT or a [design.stop] "
          "section (or raise design.repeats)");
    if (a.max_repeats < D.stop->min_repeats)
      throw gt::UsageError(fmt::format("--max-repeats {} is below min_repeats = {}", a.max_repeats,
                                       D.stop->min_repeats));
    D.stop->max_repeats = a.max_repeats;
  }
  if (D.stop) {  // the plan's size cap, for blocks asked for on the command line
    const double runs =
        static_cast<double>(ex::plan_configurations(plan).size()) * D.stop->max_repeats +
        D.warmup_runs;
    if (runs > static_cast<double>(ex::kMaxPlannedRuns))
      throw gt::UsageError(
          fmt::format("--max-repeats {}: {:.4g} runs; greentrain runs at most {} per plan",
                      D.stop->max_repeats, runs, ex::kMaxPlannedRuns));
  }
  ex::RunOptions opt;
  opt.db_path = a.db;
  opt.new_experiment = a.new_experiment;
  opt.shard = a.shard;
  opt.publish = a.publish;
  opt.gpus = a.gpus;
  opt.retry_failed = a.retry_failed;
  opt.prometheus = a.prometheus;
  auto outcome = ex::run_experiment(plan, opt);
  // Interrupted: 128 + the signal, as a shell reports a process it killed (130 SIGINT, 143
  // SIGTERM).
  if (outcome.interrupted) return 128 + (outcome.signal > 0 ? outcome.signal : SIGINT);
  if (a.failed_runs_ok) return 0;
  return outcome.failed > 0 || outcome.failed_in_experiment > 0 ? 1 : 0;
}

int do_submit(const ExperimentArgs& a) {
  if (!a.slurm)
    throw gt::UsageError(
        "experiment submit: name the scheduler with --slurm (the only one supported)");
  return ex::submit_slurm(a.plan_path, a.slurm_opt, a.dry_run, std::cout);
}

int do_status(const ExperimentArgs& a) {
  if (!a.slurm_status.empty()) return ex::slurm_status(a.slurm_status, std::cout);
  if (!std::filesystem::exists(a.db))
    throw gt::Error(
        fmt::format("{}: no such database (run an experiment first, or --db PATH)", a.db));
  ex::Store store(a.db, ex::Store::Mode::read_only);
  std::vector<ex::ExperimentRecord> list;
  if (!a.experiment.empty())
    list.push_back(store.experiment(a.experiment));
  else
    list = store.experiments();
  if (list.empty()) std::cout << a.db << ": no experiments\n";
  for (const auto& e : list) {
    const auto earlier = store.attempts(e.id).size();
    const auto runs = store.runs(e.id);
    std::string last;
    for (const auto& r : runs) last = std::max(last, r.finished_at);
    // Counted as every session summary of `experiment run` counts (experiment/progress.h).
    ex::Progress p;
    if (auto planned = ex::planned_experiment(e)) {
      p = ex::progress(planned->design, planned->planned, runs);
    } else {  // a stored plan this version no longer reads: counts of the rows alone
      p.planned = e.planned_runs;
      for (const auto& r : runs) {
        p.ok += r.status == RunStatus::ok;
        p.failed += r.status == RunStatus::failed;
        p.aborted += r.status == RunStatus::aborted;
      }
      p.left = std::max(0, p.planned - p.ok - p.failed);
    }
    std::cout << fmt::format("{:<20} {}  ({} factors: {}; created {}{})\n", e.name, ex::describe(p),
                             e.workload_kind, fmt::format("{}", fmt::join(e.factor_names, ",")),
                             e.created_at, last.empty() ? "" : ", last run " + last);
    if (earlier > 0)
      std::cout << fmt::format("{:<20} {} earlier attempt{} of retried runs kept\n", "", earlier,
                               earlier == 1 ? "" : "s");
  }
  return 0;
}

int do_merge(const ExperimentArgs& a) {
  auto [copied, skipped] = ex::merge_stores(a.merge_out, a.merge_in);
  std::cout << fmt::format("merged {} runs into {} ({} already there, skipped)\n", copied,
                           a.merge_out, skipped);
  if (!a.publish.empty()) ex::publish_database(ex::Store(a.merge_out), a.publish);
  return 0;
}

}  // namespace

void add_experiment(CLI::App& app, Action& run) {
  auto args = std::make_shared<ExperimentArgs>();
  auto* sub = app.add_subcommand(
      "experiment", "Designed experiments: plan files, metered runs, results database");
  sub->require_subcommand(1);

  auto* init = sub->add_subcommand("init", "Write a commented plan file to start from");
  init->add_option("--from", args->from,
                   "Which plan: quick (demo size), paper (the study's MLP) or cnn (a small "
                   "convolutional network: precision x filters x neurons)")
      ->check(CLI::IsMember({"quick", "paper", "cnn"}))
      ->capture_default_str();
  init->add_option("file", args->out, "Where to write it (- = stdout)")->capture_default_str();
  init->add_flag("--force", args->force, "Overwrite an existing file");
  init->add_option("--command", args->command,
                   "Write a command-workload plan for this command; its {placeholders} become "
                   "the factors, e.g. 'python3 train.py --amp {precision}'");
  init->callback([&run, args] { run = [args] { return do_init(*args); }; });

  auto* plan = sub->add_subcommand("plan", "Print the expanded design of a plan; runs nothing");
  plan->add_option("plan", args->plan_path, "Plan file (TOML)")->required();
  plan->add_option("--db", args->db, "Database with pilot runs for the duration estimate")
      ->capture_default_str();
  plan->callback([&run, args] { run = [args] { return do_plan(*args); }; });

  auto* r = sub->add_subcommand("run", "Run a plan (resumes when the database already has it)");
  r->add_option("plan", args->plan_path, "Plan file (TOML)")->required();
  add_prometheus_options(*r, args->prometheus);
  r->add_option("--db", args->db, "Results database (SQLite)")->capture_default_str();
  r->add_flag("--new", args->new_experiment,
              "The database has another plan under this name: start a new experiment beside it");
  r->add_option("--shard", args->shard,
                "Run only shard i of n (i/n) of the runs; combine with `experiment merge`");
  r->add_option("--publish", args->publish,
                "After every run, publish a consistent copy of --db here (and resume from it "
                "when --db is missing): keeps the live database off network file systems");
  r->add_option("--gpus", args->gpus,
                "Parallel lanes: one run per GPU at a time on these GPUs (NVML indices as "
                "nvidia-smi shows them, or UUIDs); each run sees only its GPU and is metered on "
                "it");
  r->add_flag("--failed-runs-ok", args->failed_runs_ok,
              "Exit 0 when runs failed (they are recorded): for job schedulers, whose "
              "dependencies wait for a successful exit");
  r->add_flag("--retry-failed", args->retry_failed,
              "Run failed runs again (same block, same seed); the failed attempts are kept");
  r->add_option("--until-ci", args->until_ci,
                "Add whole blocks until every configuration's 95 % interval against the "
                "benchmark is within +-PCT % of the benchmark (the plan's [design.stop])")
      ->check(finite_number(0.001, 100));
  r->add_option("--max-repeats", args->max_repeats,
                "With a stopping rule: at most this many blocks (default 40)")
      ->check(whole_number(2, 100000));
  r->add_option("--stop-metric", args->stop_metric,
                "With a stopping rule: the metric it judges (default: train_energy_j when the "
                "runs have it, else energy_j)");
  r->callback([&run, args] { run = [args] { return do_run(*args); }; });

  auto* sb = sub->add_subcommand(
      "submit",
      "Submit a plan to a cluster scheduler: a Slurm job array (each task runs whole blocks "
      "into its own database) and a job that merges, analyses and reports");
  auto& so = args->slurm_opt;
  sb->add_option("plan", args->plan_path, "Plan file (TOML)")->required();
  sb->add_flag("--slurm", args->slurm, "Submit to Slurm with sbatch (required)");
  sb->add_flag("--dry-run", args->dry_run,
               "Print the job scripts and the sbatch commands; write and submit nothing");
  sb->add_option("--results", so.results_dir,
                 "Results folder (task databases, scripts, logs, merged.db, report); default "
                 "<plan name>-slurm. Resubmitting into it runs only what is missing");
  sb->add_option("--tasks", so.tasks,
                 "Array tasks; each runs whole blocks (default: one per block = repeats)")
      ->check(whole_number(1, 1000000));
  sb->add_option("--throttle", so.throttle, "At most N tasks at once (--array=...%N)")
      ->check(whole_number(0, 1000000));
  sb->add_option("--partition", so.partition, "Slurm partition (-p)");
  sb->add_option("--account", so.account, "Slurm account (-A)");
  sb->add_option("--time", so.time_limit, "Time limit per task, e.g. 4:00:00");
  sb->add_option("--aggregate-time", so.aggregate_time, "Time limit of the aggregation job")
      ->capture_default_str();
  sb->add_option("--gres", so.gres, "Generic resources per task (none = no --gres line)")
      ->capture_default_str();
  sb->add_option("--cpus-per-task", so.cpus_per_task, "CPUs per task")
      ->check(whole_number(1, 100000));
  sb->add_flag("--exclusive", so.exclusive,
               "Whole nodes per task. Wanted when a wall meter or RAPL is metered: they measure "
               "the whole node (all its CPUs and GPUs), so another job on it would be counted "
               "in this run's energy; also needed for sacct's ConsumedEnergy to mean anything");
  sb->add_option("--sbatch", so.extra,
                 "Extra #SBATCH line for the tasks, e.g. --sbatch \"--mem=32G\" (repeatable)");
  sb->add_option("--block-by", so.block_by,
                 "Have the aggregation's analysis block on the GPU board or the host")
      ->check(CLI::IsMember({"gpu", "host"}));
  sb->add_option("--scratch", so.scratch,
                 "Node-local folder for the live task databases (a copy is published to the "
                 "results folder after every run); default the node's $TMPDIR, else /tmp. Taken "
                 "literally, except that it may start with a variable of the node: "
                 "'$SLURM_TMPDIR/me'");
  sb->add_flag("--retry-failed", so.retry_failed,
               "Run failed runs again: their tasks are resubmitted with experiment run "
               "--retry-failed (the failed attempts are kept)");
  sb->add_option("--greentrain", so.greentrain,
                 "The greentrain binary the jobs run (default: this one)");
  sb->callback([&run, args] { run = [args] { return do_submit(*args); }; });

  auto* st = sub->add_subcommand("status", "Experiments in a database: runs done, failed, left");
  st->add_option("--db", args->db, "Results database")->capture_default_str();
  st->add_option("--experiment", args->experiment, "Only this experiment");
  st->add_option("--slurm", args->slurm_status,
                 "Per-task progress of a Slurm submission, from its results folder");
  st->callback([&run, args] { run = [args] { return do_status(*args); }; });

  auto* m =
      sub->add_subcommand("merge", "Combine databases of the same plan run on several machines");
  m->add_option("out", args->merge_out, "Output database (created if missing)")->required();
  m->add_option("inputs", args->merge_in, "Input databases")->required();
  m->add_option("--publish", args->publish,
                "Then write a consistent copy of the output here (for shared file systems)");
  m->callback([&run, args] { run = [args] { return do_merge(*args); }; });
}

}  // namespace gt::cli
