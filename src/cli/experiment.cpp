// `greentrain experiment init|plan|run|status|merge`: designed experiments from a TOML plan
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
#include "common/output_file.h"
#include "experiment/design.h"
#include "experiment/example_plans.h"
#include "experiment/plan.h"
#include "experiment/runner.h"
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
  gt::write_output_file(a.out, text);
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
  auto outcome = ex::run_experiment(plan, opt);
  return outcome.interrupted ? 130 : 0;
}

int do_status(const ExperimentArgs& a) {
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
  r->callback([&run, args] { run = [args] { return do_run(*args); }; });

  auto* st = sub->add_subcommand("status", "Experiments in a database: runs done, failed, left");
  st->add_option("--db", args->db, "Results database")->capture_default_str();
  st->add_option("--experiment", args->experiment, "Only this experiment");
  st->callback([&run, args] { run = [args] { return do_status(*args); }; });

  auto* m =
      sub->add_subcommand("merge", "Combine databases of the same plan run on several machines");
  m->add_option("out", args->merge_out, "Output database (created if missing)")->required();
  m->add_option("inputs", args->merge_in, "Input databases")->required();
  m->callback([&run, args] { run = [args] { return do_merge(*args); }; });
}

}  // namespace gt::cli
