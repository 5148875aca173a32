// Builds the child process of each run and reads back its metrics (see workload.h).
#include "experiment/workload.h"

#include <fmt/core.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "common/error.h"
#include "engine/train_factors.h"
#include "experiment/reserved_names.h"
#include "experiment/template.h"

namespace gt::experiment {
namespace {

// Fields of `train --json` that repeat the configuration or are not metrics.
bool is_config_key(const Plan& plan, const std::string& k) {
  if (plan.factor(k) || engine::find_train_factor(k)) return true;
  return k == "seed";
}

// A workload's own energy figures would collide with the runner's columns: they get a prefix.
std::string metric_name(const std::string& k) {
  for (const auto& c : energy_columns())
    if (k == c) return (k == "duration_s" ? "train_" : "workload_") + k;
  return k;
}

// Stores a metric unless its name is reserved (then a note names the clash).
void store_metric(const Plan& plan, Metrics& m, const std::string& key, double value) {
  std::vector<std::string> factors;
  for (const auto& f : plan.factors) factors.push_back(f.name);
  if (auto why = reserved_metric_name(key, factors)) {
    m.notes.push_back(
        fmt::format("ignored metric '{}': the name is {} (rename it in the workload)", key, *why));
    return;
  }
  m.values[metric_name(key)] = value;
}

}  // namespace

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
    for (const auto& [k, v] : config.values) values[k] = run::shell_quote(v);
    values["seed"] = std::to_string(run.seed);
    values["run_id"] = std::to_string(run.run_index);
    values["block"] = std::to_string(run.block);
    values["repeat"] = std::to_string(run.repeat);
    values["metrics_file"] = run::shell_quote(p.metrics_path);
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
  for (size_t i = 0; i < a.size(); ++i)
    p.command_text += (i ? " " : "") + run::shell_quote(i == 0 ? std::string("greentrain") : a[i]);
  return p;
}

std::map<std::string, double> parse_metric_lines(const std::string& text,
                                                 std::vector<std::string>& notes) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  const std::string prefix = "greentrain-metric ";
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(prefix, 0) != 0) continue;
    auto body = line.substr(prefix.size());
    auto eq = body.find('=');
    std::string name = eq == std::string::npos ? "" : body.substr(0, eq);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    name.erase(0, name.find_first_not_of(' ') == std::string::npos ? name.size()
                                                                   : name.find_first_not_of(' '));
    std::string value = eq == std::string::npos ? "" : body.substr(eq + 1);
    char* end = nullptr;
    double v = value.empty() ? NAN : std::strtod(value.c_str(), &end);
    if (name.empty() || value.empty() ||
        (end && *end && !std::isspace(static_cast<unsigned char>(*end))) || !std::isfinite(v)) {
      notes.push_back(
          fmt::format("ignored stdout line '{}': expected greentrain-metric "
                      "NAME=NUMBER",
                      line.substr(0, 80)));
      continue;
    }
    out[name] = v;
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
