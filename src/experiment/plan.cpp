// Plan-file parsing and validation with toml++ (see plan.h and docs/plan-format.md). Every
// rule reports "file:line: problem; expected ..." through PlanReader::fail.
#include "experiment/plan.h"

#include <fmt/core.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "carbon/carbon.h"
#include "common/error.h"
#include "common/numbers.h"
#include "common/sha256.h"
#include "common/shell_text.h"
#include "data/source.h"
#include "energy/wall.h"
#include "engine/train_factors.h"
#include "experiment/reserved_names.h"
#include "experiment/stop_rule.h"
#include "experiment/template.h"
#include "experiment/toml_text.h"

namespace gt::experiment {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

class PlanReader {
 public:
  explicit PlanReader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const toml::source_region& where, const std::string& msg) const {
    if (where.begin.line > 0)
      throw gt::Error(fmt::format("{}:{}: {}", source_, where.begin.line, msg));
    throw gt::Error(fmt::format("{}: {}", source_, msg));
  }
  [[noreturn]] void fail(const toml::node& n, const std::string& msg) const {
    fail(n.source(), msg);
  }

  // Refuses keys of `tbl` not in `allowed`.
  void only_keys(const toml::table& tbl, const std::string& section,
                 const std::vector<std::string>& allowed) const {
    for (auto&& [key, node] : tbl) {
      if (std::find(allowed.begin(), allowed.end(), std::string(key.str())) == allowed.end())
        fail(key.source().begin.line ? key.source() : node.source(),
             fmt::format("unknown key '{}' in {}; expected one of: {}", key.str(), section,
                         join(allowed)));
    }
  }

  const toml::table* table(const toml::table& parent, const char* key, bool required) const {
    const toml::node* n = parent.get(key);
    if (!n) {
      if (required) fail(parent.source(), fmt::format("missing section [{}]", key));
      return nullptr;
    }
    if (!n->is_table()) fail(*n, fmt::format("'{}' must be a table [{}]", key, key));
    return n->as_table();
  }

  std::optional<std::string> str(const toml::table& t, const char* key,
                                 const std::string& section) const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) fail(*n, fmt::format("{}.{} must be a string", section, key));
    return n->as_string()->get();
  }

  std::optional<double> number(const toml::table& t, const char* key, const std::string& section,
                               double min, double max) const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_number())
      fail(*n, fmt::format("{}.{} must be a number (expected {} .. {})", section, key, min, max));
    double v = n->is_integer() ? static_cast<double>(n->as_integer()->get())
                               : n->as_floating_point()->get();
    if (!(v >= min && v <= max))
      fail(*n, fmt::format("{}.{} = {}: expected a number in {} .. {}", section, key, v, min, max));
    return v;
  }

  std::optional<std::int64_t> integer(const toml::table& t, const char* key,
                                      const std::string& section, std::int64_t min,
                                      std::int64_t max, const char* why = "") const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) fail(*n, fmt::format("{}.{} must be an integer", section, key));
    auto v = n->as_integer()->get();
    if (v < min || v > max)
      fail(*n, fmt::format("{}.{} = {}: expected an integer {}{}", section, key, v,
                           max == INT64_MAX ? fmt::format(">= {}", min)
                                            : fmt::format("in {} .. {}", min, max),
                           why));
    return v;
  }

  std::optional<bool> boolean(const toml::table& t, const char* key,
                              const std::string& section) const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) fail(*n, fmt::format("{}.{} must be true or false", section, key));
    return n->as_boolean()->get();
  }

  // A factor level or benchmark value as its canonical string.
  std::string level(const toml::node& n, const std::string& what) const {
    if (n.is_string()) return n.as_string()->get();
    if (n.is_integer()) return std::to_string(n.as_integer()->get());
    if (n.is_floating_point()) return fmt::format("{}", n.as_floating_point()->get());
    if (n.is_boolean()) return n.as_boolean()->get() ? "true" : "false";
    if (n.is_array()) {  // [512, 256] -> "512,256" (hidden layer sizes)
      std::string out;
      for (auto&& x : *n.as_array()) {
        if (!x.is_integer())
          fail(x, fmt::format("{}: a list level may hold integers only (e.g. [512, 256])", what));
        out += (out.empty() ? "" : ",") + std::to_string(x.as_integer()->get());
      }
      if (out.empty()) fail(n, fmt::format("{}: empty list", what));
      return out;
    }
    fail(n, fmt::format("{}: expected a string, a number or a list of integers", what));
  }

 private:
  std::string source_;
};

// A level of a builtin factor, checked by the trainer's own vocabulary (engine/train_factors.h).
void check_builtin_level(const PlanReader& r, const toml::node& n, const std::string& factor,
                         const std::string& v) {
  try {
    engine::check_factor_level(factor, v);
  } catch (const gt::UsageError& e) {
    r.fail(n, fmt::format("factors.{}: level '{}' is not valid for the builtin workload; {}",
                          factor, v, e.what()));
  }
}

// A factor's name: not one greentrain reserves, and not another factor's name in another case
// (both would be the same GREENTRAIN_FACTOR_<NAME> variable).
void check_factor_name(const PlanReader& r, const toml::node& n, const std::string& name,
                       const std::vector<Factor>& earlier) {
  if (auto why = reserved_factor_name(name))
    r.fail(n, fmt::format("factor name '{}' is reserved by greentrain ({}); rename the factor",
                          name, *why));
  for (const auto& f : earlier)
    if (env_name(f.name) == env_name(name))
      r.fail(n, fmt::format("factors '{}' and '{}' differ only by case; both would be "
                            "GREENTRAIN_FACTOR_{}",
                            f.name, name, env_name(name)));
}

// A level is passed to commands as an environment variable and a shell word: a NUL byte would
// silently cut it short.
void check_level_text(const PlanReader& r, const toml::node& n, const std::string& what,
                      const std::string& level) {
  if (level.find('\0') != std::string::npos)
    r.fail(n, fmt::format("{}: a level contains a NUL character", what));
}

// The builtin workload's dataset, model and device, as `greentrain train` will read them.
void check_builtin_workload(const PlanReader& r, const toml::table& w, const Plan& p) {
  const auto& W = p.workload;
  auto at = [&](const char* key) -> const toml::node& {
    const toml::node* n = w.get(key);
    return n ? *n : static_cast<const toml::node&>(w);
  };
  bool dataset_ok = true;
  try {
    const data::DataSource src = data::parse_data_spec(W.dataset);
    dataset_ok = src.kind != data::DataKind::mnist || !src.dir.empty() || !W.data_dir.empty();
  } catch (const gt::UsageError&) {
    dataset_ok = false;
  }
  if (!dataset_ok)
    r.fail(at("dataset"), fmt::format("workload.dataset = \"{}\": expected {}", W.dataset,
                                      data::data_spec_forms(true)));
  // The model is a family ("mlp", "cnn") that the neurons and filters factors complete, or a
  // whole model text; the benchmark's levels must make a model (each level was checked alone).
  const auto level = [&](const char* name) -> std::optional<std::string> {
    for (const auto& [k, v] : p.benchmark)
      if (k == name) return v;
    return std::nullopt;
  };
  try {
    engine::run_model_text(W.model, level("neurons"), level("filters"));
  } catch (const gt::UsageError& e) {
    r.fail(at("model"), fmt::format("workload.model = \"{}\": {}", W.model, e.what()));
  }
  const bool device_ok =
      W.device == "auto" || W.device == "cpu" || W.device == "cuda" ||
      (W.device.rfind("cuda:", 0) == 0 && W.device.size() > 5 && W.device.size() < 9 &&
       W.device.find_first_not_of("0123456789", 5) == std::string::npos);
  if (!device_ok)
    r.fail(at("device"), fmt::format("workload.device = \"{}\": expected \"auto\", \"cpu\" or "
                                     "\"cuda:N\"",
                                     W.device));
  if (!W.optimizer.empty() && W.optimizer != "adam" && W.optimizer != "sgd")
    r.fail(at("optimizer"),
           fmt::format("workload.optimizer = \"{}\": expected \"adam\" or \"sgd\"", W.optimizer));
}

// [meters] wall and gpus, and [carbon] region, with the rules the meters and tables apply at
// run time.
void check_meters_and_carbon(const PlanReader& r, const toml::table& root, const Plan& p) {
  const toml::node* meters = root.get("meters");
  const toml::node* carbon = root.get("carbon");
  auto at = [](const toml::node* section, const char* key) -> const toml::node& {
    const toml::node* n = section && section->is_table() ? section->as_table()->get(key) : nullptr;
    return n ? *n : *section;
  };
  if (!p.meters.wall.empty()) {
    try {
      energy::make_wall_meter(p.meters.wall, p.meters.interval_ms);
    } catch (const gt::Error& e) {
      r.fail(at(meters, "wall"), fmt::format("meters.wall: {}", e.what()));
    }
  }
  const auto& g = p.meters.gpus;
  if (!g.empty() && g != "none") {
    std::stringstream ss(g);
    std::string item;
    bool ok = g.back() != ',';
    while (std::getline(ss, item, ','))
      ok = ok && !item.empty() &&
           (item.find_first_not_of("0123456789") == std::string::npos
                ? item.size() < 5
                : item.rfind("GPU-", 0) == 0 || item.rfind("MIG-", 0) == 0);
    if (!ok)
      r.fail(at(meters, "gpus"), fmt::format("meters.gpus = \"{}\": expected \"none\" or GPU "
                                             "indices or UUIDs separated by commas (\"0,2\")",
                                             g));
  }
  if (!p.carbon.region.empty()) {
    try {
      carbon::region(p.carbon.region);
    } catch (const gt::Error& e) {
      r.fail(at(carbon, "region"),
             fmt::format("carbon.region = \"{}\": {}", p.carbon.region, e.what()));
    }
  }
}

// The number of runs the design asks for, capped: expanding a design allocates every run.
void check_design_size(const PlanReader& r, const toml::table& root, const Plan& p) {
  double configurations = 1;
  for (const auto& f : p.factors) {
    if (p.design.type == "one-at-a-time")
      configurations += static_cast<double>(f.levels.size()) - 1;
    else
      configurations *= static_cast<double>(f.levels.size());
  }
  // With a stopping rule the layout numbers max_repeats blocks.
  const int blocks = p.design.planned_blocks();
  const double runs = configurations * blocks + p.design.warmup_runs;
  if (runs > static_cast<double>(kMaxPlannedRuns)) {
    const toml::node* d = root.get("design");
    r.fail(d ? d->source() : root.source(),
           fmt::format("the design asks for {:.0f} configurations x {} {} = {:.4g} runs; "
                       "greentrain runs at most {} per plan (fewer levels, repeats, or a "
                       "one-at-a-time design)",
                       configurations, blocks, p.design.stop ? "max_repeats" : "repeats", runs,
                       kMaxPlannedRuns));
  }
}

// A metric name as the runs table spells it: letters, digits and '_'.
bool metric_name(const std::string& m) {
  return !m.empty() && std::all_of(m.begin(), m.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// [analysis]: the primary metric and the target accuracy of energy_to_target_j.
void parse_analysis(const PlanReader& r, const toml::table& root, Plan& p) {
  const toml::table* t = r.table(root, "analysis", false);
  if (!t) return;
  r.only_keys(*t, "[analysis]", {"primary_metric", "target_accuracy"});
  p.analysis.primary_metric = r.str(*t, "primary_metric", "analysis").value_or("");
  if (t->get("primary_metric") && !metric_name(p.analysis.primary_metric))
    r.fail(*t->get("primary_metric"),
           fmt::format("analysis.primary_metric = \"{}\": expected a metric name such as "
                       "\"energy_j\", \"train_energy_j\" or \"energy_to_target_j\"",
                       p.analysis.primary_metric));
  p.analysis.target_accuracy = r.number(*t, "target_accuracy", "analysis", 0, 1);
  if (p.analysis.target_accuracy && !(*p.analysis.target_accuracy > 0))
    r.fail(*t->get("target_accuracy"),
           "analysis.target_accuracy = 0: expected an accuracy as a fraction, 0 < target <= 1 "
           "(e.g. 0.85)");
}

// [design.stop]: the sequential stopping rule. min_repeats defaults to design.repeats.
void parse_stop_rule(const PlanReader& r, const toml::table& design, Design& D) {
  const toml::table* t = r.table(design, "stop", false);
  if (!t) return;
  r.only_keys(*t, "[design.stop]", {"metric", "ci_halfwidth_pct", "min_repeats", "max_repeats"});
  StopRule s;
  s.metric = r.str(*t, "metric", "design.stop").value_or("");
  if (t->get("metric") && !metric_name(s.metric))
    r.fail(*t->get("metric"), fmt::format("design.stop.metric = \"{}\": expected a metric name "
                                          "such as \"energy_j\" or \"train_energy_j\"",
                                          s.metric));
  if (t->get("metric"))
    if (auto why = stop_metric_problem(s.metric); !why.empty())
      r.fail(*t->get("metric"), "design.stop.metric: " + why);
  if (const toml::node* n = t->get("ci_halfwidth_pct")) {
    s.ci_halfwidth_pct = *r.number(*t, "ci_halfwidth_pct", "design.stop", 0, 100);
    if (!(s.ci_halfwidth_pct > 0))
      r.fail(*n, "design.stop.ci_halfwidth_pct = 0: expected a percentage > 0, e.g. 2");
  }
  s.min_repeats =
      static_cast<int>(r.integer(*t, "min_repeats", "design.stop", 2, 100000,
                                 " (the interval needs at least two repeats per configuration)")
                           .value_or(D.repeats));
  s.max_repeats = static_cast<int>(
      r.integer(*t, "max_repeats", "design.stop", 2, 100000).value_or(std::max(40, s.min_repeats)));
  if (s.max_repeats < s.min_repeats)
    r.fail(t->get("max_repeats") ? *t->get("max_repeats") : *t->get("min_repeats"),
           fmt::format("design.stop.max_repeats = {} is below min_repeats = {}; expected "
                       "max_repeats >= min_repeats",
                       s.max_repeats, s.min_repeats));
  D.stop = s;
}

}  // namespace

bool is_builtin_factor(const std::string& name) {
  return engine::find_train_factor(name) != nullptr;
}

const Factor* Plan::factor(const std::string& n) const {
  for (const auto& f : factors)
    if (f.name == n) return &f;
  return nullptr;
}

namespace {

toml::table parse_toml(const std::string& text, const std::string& source) {
  check_toml_text(text, source);
  try {
    // A leading UTF-8 byte-order mark (Windows editors) is not part of the TOML.
    return toml::parse(std::string_view(text).substr(text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0),
                       source);
  } catch (const toml::parse_error& e) {
    throw gt::Error(fmt::format("{}:{}:{}: TOML syntax error: {}", source, e.source().begin.line,
                                e.source().begin.column, e.description()));
  }
}

void parse_name(const PlanReader& r, const toml::table& root, Plan& p) {
  auto name = r.str(root, "name", "plan");
  if (!name || name->empty())
    r.fail(root.source(), "missing 'name = \"...\"' (the experiment name)");
  // The name goes into file names, job names and script lines: it must stay on one line.
  if (auto problem = control_character_problem(*name))
    r.fail(*root.get("name"),
           fmt::format("plan.name {}; the name must be one line of text", *problem));
  p.name = *name;
  p.description = r.str(root, "description", "plan").value_or("");
}

// [workload]
const toml::table& parse_workload(const PlanReader& r, const toml::table& root, Plan& p) {
  const auto& w = *r.table(root, "workload", true);
  auto kind = r.str(w, "kind", "workload");
  if (!kind) r.fail(w.source(), "[workload] needs kind = \"builtin\" or \"command\"");
  p.workload.kind = *kind;
  if (*kind == "builtin") {
    r.only_keys(w, "[workload] (kind = \"builtin\")",
                {"kind", "dataset", "model", "device", "optimizer", "lr", "validation", "data_dir",
                 "timeout_s", "min_phase_s"});
    p.workload.dataset = r.str(w, "dataset", "workload").value_or(p.workload.dataset);
    p.workload.model = r.str(w, "model", "workload").value_or(p.workload.model);
    p.workload.device = r.str(w, "device", "workload").value_or(p.workload.device);
    p.workload.optimizer = r.str(w, "optimizer", "workload").value_or("");
    p.workload.data_dir = r.str(w, "data_dir", "workload").value_or("");
    p.workload.lr = r.number(w, "lr", "workload", 1e-12, 1e6);
    p.workload.validation = r.number(w, "validation", "workload", 0, 0.9);
    p.workload.min_phase_s = r.number(w, "min_phase_s", "workload", 0, 3600).value_or(0);
  } else if (*kind == "command") {
    r.only_keys(w, "[workload] (kind = \"command\")", {"kind", "command", "workdir", "timeout_s"});
    auto cmd = r.str(w, "command", "workload");
    if (!cmd || cmd->empty())
      r.fail(w.source(), "[workload] kind = \"command\" needs command = \"...\"");
    p.workload.command = *cmd;
    p.workload.workdir = r.str(w, "workdir", "workload").value_or("");
  } else {
    r.fail(*w.get("kind"),
           fmt::format("workload.kind = \"{}\": expected \"builtin\" or \"command\"", *kind));
  }
  p.workload.timeout_s = r.number(w, "timeout_s", "workload", 0, 1e7).value_or(0);
  return w;
}

// One factor of [factors]: its name and its levels, each checked.
Factor parse_factor(const PlanReader& r, const std::string& fname, const toml::node& node,
                    const Plan& p) {
  bool ident = !fname.empty() && !std::isdigit(static_cast<unsigned char>(fname[0])) &&
               std::all_of(fname.begin(), fname.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
               });
  if (!ident) r.fail(node, fmt::format("factor name '{}': expected letters, digits and _", fname));
  check_factor_name(r, node, fname, p.factors);
  if (p.workload.kind == "builtin" && !is_builtin_factor(fname))
    r.fail(node, fmt::format("factor '{}' is not known to the builtin workload; expected one "
                             "of: {} (use kind = \"command\" for other factors)",
                             fname, engine::train_factor_names()));
  if (!node.is_array())
    r.fail(node,
           fmt::format("factors.{} must be a list of levels, e.g. [\"fp32\", \"fp16\"]", fname));
  const auto& arr = *node.as_array();
  if (arr.empty())
    r.fail(node, fmt::format("factors.{} is an empty list; expected at least one level", fname));
  Factor fac{fname, {}};
  for (auto&& lv : arr) {
    auto s = r.level(lv, "factors." + fname);
    check_level_text(r, lv, "factors." + fname, s);
    if (std::find(fac.levels.begin(), fac.levels.end(), s) != fac.levels.end())
      r.fail(lv, fmt::format("factors.{}: level '{}' is listed twice", fname, s));
    if (p.workload.kind == "builtin") check_builtin_level(r, lv, fname, s);
    fac.levels.push_back(s);
  }
  return fac;
}

// [factors], in the order of the plan's lines.
void parse_factors(const PlanReader& r, const toml::table& root, Plan& p) {
  const auto& f = *r.table(root, "factors", true);
  if (f.empty()) r.fail(f.source(), "[factors] is empty; expected at least one factor");
  // toml++ tables iterate in key order; the plan's order is the order of the lines.
  std::vector<std::pair<std::string, const toml::node*>> in_order;
  for (auto&& [key, node] : f) in_order.emplace_back(std::string(key.str()), &node);
  std::stable_sort(in_order.begin(), in_order.end(), [](const auto& a, const auto& b) {
    const auto &x = a.second->source().begin, &y = b.second->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  for (auto&& [fname, node_ptr] : in_order) {
    p.factors.push_back(parse_factor(r, fname, *node_ptr, p));
  }
}

// [benchmark]: one level per factor (defaults to each factor's first level)
void parse_benchmark(const PlanReader& r, const toml::table& root, Plan& p) {
  const toml::table* b = r.table(root, "benchmark", false);
  for (const auto& fac : p.factors) {
    std::string v = fac.levels.front();
    if (b)
      if (const toml::node* n = b->get(fac.name)) {
        v = r.level(*n, "benchmark." + fac.name);
        if (std::find(fac.levels.begin(), fac.levels.end(), v) == fac.levels.end())
          r.fail(*n, fmt::format("benchmark.{} = {} is not a level of factors.{}; expected one "
                                 "of: {}",
                                 fac.name, v, fac.name, join(fac.levels)));
      }
    p.benchmark.emplace_back(fac.name, v);
  }
  if (b)
    for (auto&& [key, node] : *b)
      if (!p.factor(std::string(key.str())))
        r.fail(node, fmt::format("benchmark.{}: not a factor; expected one of the factors: {}",
                                 key.str(), [&] {
                                   std::vector<std::string> n;
                                   for (auto& x : p.factors) n.push_back(x.name);
                                   return join(n);
                                 }()));
}

// [design]
void parse_design(const PlanReader& r, const toml::table& root, Plan& p) {
  if (const toml::table* d = r.table(root, "design", false)) {
    r.only_keys(
        *d, "[design]",
        {"type", "repeats", "order", "seed", "warmup_runs", "cooldown_s", "cooldown_until_gpu_c",
         "cooldown_max_s", "idle_baseline_s", "idle_every", "max_failures", "stop"});
    auto& D = p.design;
    D.type = r.str(*d, "type", "design").value_or(D.type);
    if (D.type != "factorial" && D.type != "one-at-a-time")
      r.fail(*d->get("type"), fmt::format("design.type = \"{}\": expected \"factorial\" or "
                                          "\"one-at-a-time\"",
                                          D.type));
    D.repeats =
        static_cast<int>(r.integer(*d, "repeats", "design", 2, 100000,
                                   " (statistics need at least two repeats per configuration)")
                             .value_or(D.repeats));
    D.order = r.str(*d, "order", "design").value_or(D.order);
    if (D.order != "randomized-blocks" && D.order != "sequential")
      r.fail(*d->get("order"), fmt::format("design.order = \"{}\": expected "
                                           "\"randomized-blocks\" or \"sequential\"",
                                           D.order));
    D.seed = static_cast<std::uint64_t>(r.integer(*d, "seed", "design", 0, INT64_MAX).value_or(1));
    D.warmup_runs =
        static_cast<int>(r.integer(*d, "warmup_runs", "design", 0, 1000).value_or(D.warmup_runs));
    D.cooldown_s = r.number(*d, "cooldown_s", "design", 0, 86400).value_or(0);
    D.cooldown_until_gpu_c = r.number(*d, "cooldown_until_gpu_c", "design", 10, 110);
    D.cooldown_max_s =
        r.number(*d, "cooldown_max_s", "design", 0, 86400).value_or(D.cooldown_max_s);
    D.idle_baseline_s = r.number(*d, "idle_baseline_s", "design", 0, 3600).value_or(0);
    D.idle_every = static_cast<int>(r.integer(*d, "idle_every", "design", 0, 1000000).value_or(0));
    D.max_failures =
        static_cast<int>(r.integer(*d, "max_failures", "design", 1, 1000000).value_or(2));
    parse_stop_rule(r, *d, D);
  }
}

// [carbon]
void parse_carbon(const PlanReader& r, const toml::table& root, Plan& p) {
  if (const toml::table* c = r.table(root, "carbon", false)) {
    r.only_keys(*c, "[carbon]", {"country", "region", "intensity", "pue"});
    p.carbon.country = r.str(*c, "country", "carbon").value_or("");
    if (!p.carbon.country.empty()) {
      const auto& cc = p.carbon.country;
      if (cc.size() != 3 || !std::all_of(cc.begin(), cc.end(), ::isupper))
        r.fail(*c->get("country"), fmt::format("carbon.country = \"{}\": expected an ISO 3166-1 "
                                               "alpha-3 code such as \"FRA\" or \"USA\"",
                                               cc));
      try {
        carbon::country(cc);
      } catch (const gt::Error& e) {
        r.fail(*c->get("country"), fmt::format("carbon.country = \"{}\": {}", cc, e.what()));
      }
    }
    p.carbon.region = r.str(*c, "region", "carbon").value_or("");
    p.carbon.intensity = r.number(*c, "intensity", "carbon", 0, 5000);
    p.carbon.pue = r.number(*c, "pue", "carbon", 1.0, 5.0).value_or(1.0);
  }
}

// [meters]
void parse_meters(const PlanReader& r, const toml::table& root, Plan& p) {
  if (const toml::table* m = r.table(root, "meters", false)) {
    r.only_keys(*m, "[meters]",
                {"interval_ms", "gpus", "wall", "cpu_tdp_w", "ram_watts", "store_samples"});
    p.meters.interval_ms =
        static_cast<int>(r.integer(*m, "interval_ms", "meters", 10, 60000).value_or(100));
    p.meters.gpus = r.str(*m, "gpus", "meters").value_or("");
    p.meters.wall = r.str(*m, "wall", "meters").value_or("");
    p.meters.cpu_tdp_w = r.number(*m, "cpu_tdp_w", "meters", 1, 10000);
    p.meters.ram_watts = r.number(*m, "ram_watts", "meters", 0, 10000);
    p.store_samples = r.boolean(*m, "store_samples", "meters").value_or(true);
  }
  p.meters.keep_samples = p.store_samples;
}

// The command template may only name factors and the run's own fields.
void check_command_template(const PlanReader& r, const toml::table& w, const Plan& p) {
  std::vector<std::string> known;
  for (const auto& fac : p.factors) known.push_back(fac.name);
  for (const auto& k : run_placeholders()) known.push_back(k);
  try {
    check_template(p.workload.command, known);
  } catch (const gt::Error& e) {
    r.fail(*w.get("command"), fmt::format("workload.command: {}", e.what()));
  }
}
[[noreturn]] void fail_unknown_label_factor(const PlanReader& r, const toml::node& n,
                                            const std::string& name, const Plan& p) {
  std::vector<std::string> names;
  for (const auto& f : p.factors) names.push_back(f.name);
  r.fail(n,
         fmt::format("labels.{}: not a factor of this plan; its factors: {}", name, join(names)));
}

// [labels.<factor>]: a readable name per level, for the report. Each factor and level must be
// the plan's; a label is one line of text.
void parse_labels(const PlanReader& r, const toml::table& root, Plan& p) {
  const toml::table* t = r.table(root, "labels", false);
  if (!t) return;
  for (auto&& [factor, node] : *t) {
    const std::string name(factor.str());
    const Factor* f = p.factor(name);
    if (!f) fail_unknown_label_factor(r, node, name, p);
    if (!node.is_table())
      r.fail(node, fmt::format("labels.{} must be a table of level = \"label\"", name));
    for (auto&& [level, label] : *node.as_table()) {
      const std::string lv(level.str());
      if (std::find(f->levels.begin(), f->levels.end(), lv) == f->levels.end())
        r.fail(label, fmt::format("labels.{}: '{}' is not a level of {}; its levels: {}", name, lv,
                                  name, join(f->levels)));
      if (!label.is_string()) r.fail(label, fmt::format("labels.{}.{} must be a string", name, lv));
      const std::string text = label.as_string()->get();
      if (text.empty() || text.size() > 120 || std::any_of(text.begin(), text.end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x20;
          }))
        r.fail(label,
               fmt::format("labels.{}.{}: expected one line of 1 to 120 characters", name, lv));
      p.labels[name][lv] = text;
    }
  }
}

}  // namespace

Plan parse_plan(const std::string& text, const std::string& source) {
  PlanReader r(source);
  const toml::table root = parse_toml(text, source);
  Plan p;
  p.path = source;
  p.text = text;
  r.only_keys(root, "the plan",
              {"name", "description", "workload", "benchmark", "factors", "design", "carbon",
               "meters", "analysis", "labels"});
  parse_name(r, root, p);
  const toml::table& w = parse_workload(r, root, p);
  parse_factors(r, root, p);
  parse_benchmark(r, root, p);
  parse_design(r, root, p);
  // A repeats value given elsewhere is impossible; the default (3) satisfies >= 2.
  parse_analysis(r, root, p);
  if (p.design.stop && p.design.stop->metric.empty() && !p.analysis.primary_metric.empty())
    if (auto why = stop_metric_problem(p.analysis.primary_metric); !why.empty())
      r.fail(*root["analysis"].as_table()->get("primary_metric"),
             "analysis.primary_metric is the stopping rule's metric: " + why +
                 "; or give [design.stop] a metric of its own");
  parse_carbon(r, root, p);
  parse_meters(r, root, p);
  parse_labels(r, root, p);
  p.meters.keep_samples = p.store_samples;

  // Everything a run would trip over, checked now rather than in every run.
  if (p.workload.kind == "builtin") check_builtin_workload(r, w, p);
  check_meters_and_carbon(r, root, p);
  check_design_size(r, root, p);
  if (p.workload.kind == "command") check_command_template(r, w, p);
  return p;
}

Plan load_plan(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw gt::UsageError(fmt::format("{}: cannot read the plan file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_plan(ss.str(), path);
}

nlohmann::json Plan::canonical_json() const {
  nlohmann::json j;
  j["name"] = name;
  const auto& W = workload;
  j["workload"] = {{"kind", W.kind}, {"timeout_s", W.timeout_s}};
  if (W.kind == "builtin") {
    j["workload"].update({{"dataset", W.dataset},
                          {"model", W.model},
                          {"device", W.device},
                          {"optimizer", W.optimizer},
                          {"data_dir", W.data_dir}});
    if (W.lr) j["workload"]["lr"] = *W.lr;
    if (W.validation) j["workload"]["validation"] = *W.validation;
    if (W.min_phase_s > 0) j["workload"]["min_phase_s"] = W.min_phase_s;
  } else {
    j["workload"].update({{"command", W.command}, {"workdir", W.workdir}});
  }
  j["factors"] = nlohmann::json::array();
  for (const auto& f : factors) j["factors"].push_back({{"name", f.name}, {"levels", f.levels}});
  j["benchmark"] = nlohmann::json::array();
  for (const auto& [k, v] : benchmark) j["benchmark"].push_back({k, v});
  const auto& D = design;
  j["design"] = {{"type", D.type},
                 {"repeats", D.repeats},
                 {"order", D.order},
                 {"seed", D.seed},
                 {"warmup_runs", D.warmup_runs}};
  j["design"]["max_failures"] = D.max_failures;
  j["analysis"] = {{"primary_metric", analysis.primary_metric}};
  if (analysis.target_accuracy) j["analysis"]["target_accuracy"] = *analysis.target_accuracy;
  if (D.stop)
    j["design"]["stop"] = {{"metric", D.stop->metric},
                           {"ci_halfwidth_pct", D.stop->ci_halfwidth_pct},
                           {"min_repeats", D.stop->min_repeats},
                           {"max_repeats", D.stop->max_repeats}};
  return j;
}

nlohmann::json Plan::meaning_json() const {
  nlohmann::json j = canonical_json();
  nlohmann::json names = nlohmann::json::array();
  for (const auto& f : factors) names.push_back(f.name);
  j["factors"] = names;  // levels are compared one by one in plan_difference
  j.erase("analysis");   // how runs are judged, not what they measured
  j["design"] = {{"type", design.type},
                 {"order", design.order},
                 {"seed", design.seed},
                 {"warmup_runs", design.warmup_runs}};
  j["carbon"] = {{"country", carbon.country}, {"region", carbon.region}, {"pue", carbon.pue}};
  if (carbon.intensity) j["carbon"]["intensity"] = *carbon.intensity;
  j["meters"] = {{"gpus", meters.gpus}, {"wall", meters.wall}};
  if (meters.cpu_tdp_w) j["meters"]["cpu_tdp_w"] = *meters.cpu_tdp_w;
  if (meters.ram_watts) j["meters"]["ram_watts"] = *meters.ram_watts;
  // Repeats, the stopping rule, cooling, idle baselines, the sampling interval and sample
  // storage change how many runs there are or how they are scheduled, not what a finished run
  // means, so they stay out of the hash.
  return j;
}

namespace {

// The first key (dotted path) where two JSON values differ, with both values; empty if equal.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b,
                             const std::string& path) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
    for (auto it = b.begin(); it != b.end(); ++it) keys.insert(it.key());
    for (const auto& k : keys) {
      const std::string sub = path.empty() ? k : path + "." + k;
      if (!a.contains(k) || !b.contains(k))
        return fmt::format("{}: {} in the database, {} in the plan", sub,
                           a.contains(k) ? a[k].dump() : "not set",
                           b.contains(k) ? b[k].dump() : "not set");
      if (auto d = first_difference(a[k], b[k], sub); !d.empty()) return d;
    }
    return "";
  }
  if (a == b) return "";
  return fmt::format("{}: {} in the database, {} in the plan", path, a.dump(), b.dump());
}

}  // namespace

std::string plan_difference(const Plan& before, const Plan& now) {
  for (const auto& f : now.factors)
    if (!before.factor(f.name))
      return fmt::format("factors.{} is new (finished runs have no level of it)", f.name);
  for (const auto& f : before.factors)
    if (!now.factor(f.name))
      return fmt::format("factors.{} is in the database but not in the plan", f.name);
  if (auto d = first_difference(before.meaning_json(), now.meaning_json(), ""); !d.empty())
    return d;
  for (const auto& f : before.factors) {
    const Factor* g = now.factor(f.name);
    for (const auto& level : f.levels)
      if (std::find(g->levels.begin(), g->levels.end(), level) == g->levels.end())
        return fmt::format(
            "factors.{}: level {} is in the database but not in the plan (levels "
            "may be added, not removed)",
            f.name, level);
  }
  return "";
}

std::string Plan::hash() const { return "sha256:" + sha256_hex(meaning_json().dump()); }

}  // namespace gt::experiment
