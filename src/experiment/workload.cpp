// Builds the child process of each run and reads back its metrics (see workload.h).
#include "experiment/workload.h"

#include <fmt/core.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "common/error.h"
#include "common/shell_text.h"
#include "engine/train_factors.h"
#include "experiment/reserved_names.h"
#include "experiment/template.h"
#include "run/marks.h"

namespace gt::experiment {
namespace {

// Fields of `train --json` that repeat the configuration or are not metrics.
bool is_config_key(const Plan& plan, const std::string& k) {
  if (plan.factor(k) || engine::find_train_factor(k)) return true;
  return k == "seed";
}

// Stores a metric under the key the name check gives it (an energy column's name gets a
// prefix), or notes why it was refused (a run field's or a factor's name).
void store_metric(const Plan& plan, Metrics& m, const std::string& name, double value) {
  std::string why;
  if (auto key = workload_name_check(plan).metric_key(name, why))
    m.values[*key] = value;
  else
    m.notes.push_back(why);
}

}  // namespace

run::NameCheck workload_name_check(const Plan& plan) {
  std::vector<std::string> factors;
  for (const auto& f : plan.factors) factors.push_back(f.name);
  return workload_name_check(factors);
}

PreparedRun prepare_run(const Plan& plan, const Configuration& config, const PlannedRun& run,
                        const std::string& work_dir, const std::string& greentrain_exe) {
  PreparedRun p;
  p.metrics_path = work_dir + "/metrics.json";
  p.spec.stdout_path = work_dir + "/stdout.txt";
  p.spec.stderr_path = work_dir + "/stderr.txt";
  p.spec.timeout_s = plan.workload.timeout_s;
  p.spec.env = {{"GREENTRAIN_RUN_ID", std::to_string(run.run_index)},
                {"GREENTRAIN_METRICS_FILE", p.metrics_path},
                {"GREENTRAIN_SEED", std::to_string(run.seed)},
                {"GREENTRAIN_BLOCK", std::to_string(run.block)},
                {"GREENTRAIN_WARMUP", run.warmup ? "1" : "0"}};
  for (const auto& [k, v] : config.values)
    p.spec.env.emplace_back("GREENTRAIN_FACTOR_" + env_name(k), v);
  const auto& W = plan.workload;
  if (W.kind == "command") {
    // Every value goes in as one shell word, quoted: a level such as `x; rm -rf ~` or `it's`
    // is data, never shell syntax (the plan refuses factors named like the run fields).
    std::map<std::string, std::string> values;
    for (const auto& [k, v] : config.values) values[k] = shell_quote(v);
    values["seed"] = std::to_string(run.seed);
    values["run_id"] = std::to_string(run.run_index);
    values["block"] = std::to_string(run.block);
    values["repeat"] = std::to_string(run.repeat);
    values["metrics_file"] = shell_quote(p.metrics_path);
    p.command_text = substitute(W.command, values);
    p.spec.argv = {"/bin/sh", "-c", p.command_text};
    p.spec.workdir = W.workdir;
    return p;
  }
  auto& a = p.spec.argv;
  a = {greentrain_exe, "train", "--json", p.metrics_path, "--no-measure", "--data", W.dataset};
  // Each factor as its flag of `greentrain train`; the model factors complete --model.
  std::optional<std::string> neurons, filters;
  for (const auto& [k, v] : config.values) {
    if (k == "neurons")
      neurons = v;
    else if (k == "filters")
      filters = v;
    else if (const engine::TrainFactor* f = engine::find_train_factor(k))
      a.insert(a.end(), {f->flag, v});
  }
  a.insert(a.end(), {"--model", engine::run_model_text(W.model, neurons, filters)});
  a.insert(a.end(), {"--seed", std::to_string(run.seed), "--device", W.device});
  if (!W.optimizer.empty() && !plan.factor("optimizer"))
    a.insert(a.end(), {"--optimizer", W.optimizer});
  if (W.lr && !plan.factor("lr")) a.insert(a.end(), {"--lr", fmt::format("{}", *W.lr)});
  if (W.validation) a.insert(a.end(), {"--validation", fmt::format("{}", *W.validation)});
  if (!W.data_dir.empty()) a.insert(a.end(), {"--data-dir", W.data_dir});
  if (W.min_phase_s > 0) a.insert(a.end(), {"--min-phase-s", fmt::format("{}", W.min_phase_s)});
  for (size_t i = 0; i < a.size(); ++i)
    p.command_text += (i ? " " : "") + shell_quote(i == 0 ? std::string("greentrain") : a[i]);
  return p;
}

std::map<std::string, double> parse_metric_lines(const std::string& text,
                                                 std::vector<std::string>& notes) {
  // The same parser as the metered run's stdout scanning: one language, one set of rules for
  // names and numbers, and notes that quote the line as valid UTF-8.
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line, error;
  while (std::getline(in, line)) {
    const auto mark = run::parse_mark_line(line, true, error);
    if (!error.empty()) notes.push_back(error);
    if (mark && mark->kind == run::Mark::Kind::metric) out[mark->name] = mark->value;
  }
  return out;
}

Metrics collect_metrics(const Plan& plan, const std::string& metrics_path,
                        const std::string& stdout_path) {
  Metrics m;
  std::ifstream in(metrics_path);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      m.notes.push_back("metrics file is not a JSON object");
    } else {
      m.file_read = true;
      for (auto& [k, v] : j.items()) {
        if (plan.workload.kind == "builtin" && is_config_key(plan, k)) continue;
        if (v.is_number() && std::isfinite(v.get<double>()))
          store_metric(plan, m, k, v.get<double>());
        else if (v.is_boolean())
          store_metric(plan, m, k, v.get<bool>() ? 1 : 0);
      }
    }
  }
  if (plan.workload.kind == "command") {
    std::ifstream out(stdout_path);
    std::stringstream ss;
    ss << out.rdbuf();
    for (auto& [k, v] : parse_metric_lines(ss.str(), m.notes)) store_metric(plan, m, k, v);
  }
  return m;
}

}  // namespace gt::experiment
