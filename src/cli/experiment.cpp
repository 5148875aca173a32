// `greentrain experiment init|plan|run|submit|status|merge`: designed experiments from a TOML plan
// (docs/plan-format.md) into the SQLite results database (docs/database.md). The work is in
// src/experiment/; this file only declares the subcommands and prints.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "cli/verbs.h"
#include "common/error.h"
#include "experiment/design.h"
#include "experiment/example_plans.h"
#include "experiment/plan.h"
#include "experiment/publish.h"
#include "experiment/runner.h"
#include "experiment/slurm.h"
#include "experiment/store.h"

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
  bool slurm = false, dry_run = false;
  std::string slurm_status;
  ex::SlurmOptions slurm_opt;
};

int do_init(const ExperimentArgs& a) {
  const char* text = a.from == "paper" ? ex::kPaperPlan : ex::kQuickPlan;
  if (a.out == "-") {
    std::cout << text;
    return 0;
  }
  if (std::filesystem::exists(a.out) && !a.force)
    throw gt::UsageError(
        fmt::format("experiment init: {} exists; pass --force to overwrite it", a.out));
  std::ofstream(a.out) << text;
  std::cout << fmt::format(
      "wrote {} (from the '{}' plan); edit it, check it with `greentrain "
      "experiment plan {}`, run it with `greentrain experiment run {}`\n",
      a.out, a.from, a.out, a.out);
  return 0;
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
        if (r.status == "ok" && r.duration_s) {
          pilot[r.config_index].first += *r.duration_s;
          pilot[r.config_index].second += 1;
        }
  }
  std::cout << fmt::format("{} runs ({} warm-up + {} x {}):\n", design.runs.size(),
                           plan.design.warmup_runs, plan.design.repeats, design.configs.size());
  for (const auto& r : design.runs)
    std::cout << fmt::format("  run {:>4}  {:<9} config {:>3}  seed {:>10}  {}\n", r.run_index,
                             r.warmup ? "warm-up" : fmt::format("block {}", r.block),
                             r.config_index, r.seed,
                             design.configs[static_cast<size_t>(r.config_index)].label());
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
  const auto plan = ex::load_plan(a.plan_path);
  ex::RunOptions opt;
  opt.db_path = a.db;
  opt.new_experiment = a.new_experiment;
  opt.shard = a.shard;
  opt.publish = a.publish;
  opt.gpus = a.gpus;
  auto outcome = ex::run_experiment(plan, opt);
  return outcome.interrupted ? 130 : 0;
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
    int ok = 0, failed = 0, aborted = 0, warm = 0;
    std::string last;
    for (const auto& r : store.runs(e.id)) {
      if (r.status == "ok") ++ok;
      if (r.status == "failed") ++failed;
      if (r.status == "aborted") ++aborted;
      if (r.warmup) ++warm;
      last = std::max(last, r.finished_at);
    }
    const int left = e.planned_runs - ok - failed;
    std::cout << fmt::format(
        "{:<20} {:>4} runs planned: {:>4} ok, {:>3} failed, {:>3} aborted, {:>4} left{}  "
        "({} factors: {}; created {}{})\n",
        e.name, e.planned_runs, ok, failed, aborted, left, left == 0 ? " (complete)" : "",
        e.workload_kind, fmt::format("{}", fmt::join(e.factor_names, ",")), e.created_at,
        last.empty() ? "" : ", last run " + last);
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
  init->add_option("--from", args->from, "Which plan: quick (demo size) or paper (the study)")
      ->check(CLI::IsMember({"quick", "paper"}))
      ->capture_default_str();
  init->add_option("file", args->out, "Where to write it (- = stdout)")->capture_default_str();
  init->add_flag("--force", args->force, "Overwrite an existing file");
  init->callback([&run, args] { run = [args] { return do_init(*args); }; });

  auto* plan = sub->add_subcommand("plan", "Print the expanded design of a plan; runs nothing");
  plan->add_option("plan", args->plan_path, "Plan file (TOML)")->required();
  plan->add_option("--db", args->db, "Database with pilot runs for the duration estimate")
      ->capture_default_str();
  plan->callback([&run, args] { run = [args] { return do_plan(*args); }; });

  auto* r = sub->add_subcommand("run", "Run a plan (resumes when the database already has it)");
  r->add_option("plan", args->plan_path, "Plan file (TOML)")->required();
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
      ->check(CLI::PositiveNumber);
  sb->add_option("--throttle", so.throttle, "At most N tasks at once (--array=...%N)")
      ->check(CLI::NonNegativeNumber);
  sb->add_option("--partition", so.partition, "Slurm partition (-p)");
  sb->add_option("--account", so.account, "Slurm account (-A)");
  sb->add_option("--time", so.time_limit, "Time limit per task, e.g. 4:00:00");
  sb->add_option("--aggregate-time", so.aggregate_time, "Time limit of the aggregation job")
      ->capture_default_str();
  sb->add_option("--gres", so.gres, "Generic resources per task (none = no --gres line)")
      ->capture_default_str();
  sb->add_option("--cpus-per-task", so.cpus_per_task, "CPUs per task")->check(CLI::PositiveNumber);
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
                 "results folder after every run)")
      ->capture_default_str();
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
