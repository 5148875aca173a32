// The experiment plan: one TOML file (see docs/plan-format.md) parsed with toml++ into a Plan
// value. Parsing validates everything up front — unknown keys, wrong types, empty factor lists,
// duplicate levels, a benchmark value that is not a level, repeats < 2, unknown placeholders in
// a command template, builtin factors the trainer does not know — and throws gt::Error with
// "file:line: what is wrong; what was expected". The plan hash (sha256 of a canonical JSON form)
// identifies the plan in the results database: comments and layout do not change it.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "carbon/carbon.h"
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
  // command
  std::string command;  // template with {factor}, {seed}, {run_id}, {block}, {repeat}
  std::string workdir;  // empty = current directory
  // both
  double timeout_s = 0;  // 0 = no limit; a run past it is killed and recorded failed
};

struct Design {
  std::string type = "factorial";  // factorial | one-at-a-time (benchmark + one factor varied)
  int repeats = 3;
  std::string order = "randomized-blocks";  // randomized-blocks | sequential
  std::uint64_t seed = 1;
  int warmup_runs = 1;
  double cooldown_s = 0;
  std::optional<double> cooldown_until_gpu_c;
  double cooldown_max_s = 600;  // give up waiting for the temperature after this long
  double idle_baseline_s = 0;   // 0 = no idle baseline
  int idle_every = 0;           // re-measure the idle baseline every N runs (0 = only at start)
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

  const Factor* factor(const std::string& name) const;
  nlohmann::json canonical_json() const;  // every setting, defaults filled in
  std::string hash() const;               // "sha256:<hex>" of canonical_json().dump()
};

// The most runs one plan may ask for (configurations x repeats + warm-ups): more is a mistake
// (40 levels of 5 factors), and expanding it would exhaust memory before the first run.
inline constexpr long kMaxPlannedRuns = 1000000;

// Parses and validates; `source` names the file in messages.
Plan parse_plan(const std::string& text, const std::string& source);
Plan load_plan(const std::string& path);  // reads the file, then parse_plan

// The builtin workload's factors and the flags of `greentrain train` they map to.
bool is_builtin_factor(const std::string& name);
std::string sha256_hex(const std::string& data);

}  // namespace gt::experiment
