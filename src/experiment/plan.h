// The experiment plan: one TOML file (see docs/plan-format.md) parsed with toml++ into a Plan
// value. Parsing validates everything up front — unknown keys, wrong types, empty factor lists,
// duplicate levels, a benchmark value that is not a level, repeats < 2, unknown placeholders in
// a command template, builtin factors the trainer does not know — and throws gt::Error with
// "file:line: what is wrong; what was expected". The plan hash (sha256 of the settings that give
// finished runs their meaning) identifies the plan in the results database: comments, layout,
// repeats, the stopping rule and added levels do not change it, so an experiment can grow.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "carbon/carbon.h"
#include "common/sha256.h"  // sha256_hex: the plan hash
#include "energy/session.h"

namespace gt::experiment {

struct Factor {
  std::string name;
  std::vector<std::string> levels;  // canonical strings: 32, 0.001, fp16, "512,256"
};

struct Workload {
  std::string kind;  // builtin | command
  // builtin: the flags of `greentrain train` that are not factors
  std::string dataset = "fashion-mnist";
  std::string model = "mlp";  // architecture family; neurons give the hidden sizes
  std::string device = "auto";
  std::string optimizer;  // empty = trainer default
  std::optional<double> lr, validation;
  std::string data_dir;  // empty = trainer default
  // Seconds the train phase must last at least: the trainer repeats its training (from the
  // same initial values) inside one phase until it does, and reports energy per repetition.
  double min_phase_s = 0;
  // command
  std::string command;  // template with {factor}, {seed}, {run_id}, {block}, {repeat}
  std::string workdir;  // empty = current directory
  // both
  double timeout_s = 0;  // 0 = no limit; a run past it is killed and recorded failed
};

// Sequential repeats: whole blocks are added until every configuration's interval against the
// benchmark is precise enough (see docs/plan-format.md, "Stopping rule").
struct StopRule {
  std::string metric;           // empty: train_energy_j when the runs have it, else energy_j
  double ci_halfwidth_pct = 2;  // stop when every 95 % interval is within +-this % of the benchmark
  int min_repeats = 3;          // blocks before the rule is first checked
  int max_repeats = 40;         // blocks at most
};

struct Design {
  std::string type = "factorial";  // factorial | one-at-a-time (benchmark + one factor varied)
  int repeats = 3;
  std::string order = "randomized-blocks";  // randomized-blocks | sequential
  std::uint64_t seed = 1;
  int warmup_runs = 1;
  double cooldown_s = 0;
  std::optional<double> cooldown_until_gpu_c;
  double cooldown_max_s = 600;   // give up waiting for the temperature after this long
  double idle_baseline_s = 0;    // 0 = no idle baseline
  int idle_every = 0;            // re-measure the idle baseline every N runs (0 = only at start)
  int max_failures = 2;          // a configuration failing this often in a row is skipped
  std::optional<StopRule> stop;  // [design.stop]
  // Blocks the layout reserves: max_repeats with a stopping rule, else repeats.
  int planned_blocks() const { return stop ? stop->max_repeats : repeats; }
};

// [analysis]: how the runs are judged; it changes no run, so it is not part of the plan hash.
struct AnalysisSettings {
  // The metric the headline, analyze, the report and a stopping rule without a metric of its own
  // judge by; empty: train_energy_j when the runs have it, else energy_j.
  std::string primary_metric;
  // Gives each run energy_to_target_j: the training energy until the first epoch whose
  // validation accuracy reaches it (a fraction, 0 < target <= 1).
  std::optional<double> target_accuracy;
};

struct Plan {
  std::string path;  // for messages
  std::string text;  // the file as read
  std::string name;
  std::string description;
  Workload workload;
  std::vector<Factor> factors;                                 // plan order
  std::vector<std::pair<std::string, std::string>> benchmark;  // one level per factor, plan order
  Design design;
  carbon::CarbonOptions carbon;
  energy::MeterOptions meters;  // idle_s stays 0: the runner measures idle itself
  bool store_samples = true;
  AnalysisSettings analysis;
  // [labels.<factor>] <level> = "text": how the report names a level ("tf32" as "TF32 (Keras'
  // default FP32 on Ampere and newer)"). Presentation only: not part of the hash or meaning.
  std::map<std::string, std::map<std::string, std::string>> labels;

  const Factor* factor(const std::string& name) const;
  nlohmann::json canonical_json() const;  // every setting, defaults filled in
  // What gives finished runs their meaning: name, workload, factor names, benchmark, design
  // type, order, seed and warm-up runs, carbon and meter settings (not the levels: levels may
  // be added, see plan_difference).
  nlohmann::json meaning_json() const;
  std::string hash() const;  // "sha256:<hex>" of meaning_json().dump()
};

// The most runs one plan may ask for (configurations x repeats + warm-ups): more is a mistake
// (40 levels of 5 factors), and expanding it would exhaust memory before the first run.
inline constexpr long kMaxPlannedRuns = 1000000;

// Empty when `now` keeps the meaning of the runs of `before` (the same meaning_json and every
// level of `before` still listed: only repeats, the stopping rule, cooling, levels added and
// such differ); else one line naming the first key that differs, with both values.
std::string plan_difference(const Plan& before, const Plan& now);

// Parses and validates; `source` names the file in messages.
Plan parse_plan(const std::string& text, const std::string& source);
Plan load_plan(const std::string& path);  // reads the file, then parse_plan

// The builtin workload's factors and the flags of `greentrain train` they map to.
bool is_builtin_factor(const std::string& name);

}  // namespace gt::experiment
