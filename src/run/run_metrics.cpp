// A metered run's Prometheus families (see run_metrics.h).
#include "run/run_metrics.h"

#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

namespace gt::run {
namespace {

using prometheus::Family;
using prometheus::Labels;
using prometheus::Type;

}  // namespace

void RunMetrics::Figures::add(const std::vector<ComponentEnergy>& components, double duration,
                              double co2e) {
  for (const auto& c : components) energy_j[to_string(c.component)] += c.energy_j;
  duration_s += duration;
  co2e_g += co2e;
  ++occurrences;
}

RunMetrics::Figures& RunMetrics::phase(const std::string& path) {
  for (auto& [p, f] : phases_)
    if (p == path) return f;
  phases_.emplace_back(path, Figures{});
  return phases_.back().second;
}

void RunMetrics::add_live(const LivePhase& live) {
  const auto& p = live.phase;
  phase(p.path()).add(p.energy.components, p.energy.duration_s, p.co2e_g);
  run_ = Figures{};
  run_->add(live.run_so_far.components, live.run_so_far.duration_s, live.run_so_far_co2e_g);
}

void RunMetrics::add_window(const std::string& name, const nlohmann::json& w) {
  std::vector<ComponentEnergy> components;
  for (const auto& c : w.value("components", nlohmann::json::array())) {
    const auto component = parse_component(c.value("component", ""));
    if (!component) continue;  // the answers name only the four components
    ComponentEnergy e;
    e.component = *component;
    e.energy_j = c.value("energy_j", 0.0);
    components.push_back(std::move(e));
  }
  phase(name).add(components, w.value("duration_s", 0.0), w.value("co2e_g", 0.0));
}

void RunMetrics::set_result(const MeteredResult& r) {
  run_ = Figures{};
  run_->add(r.summary.components, r.summary.duration_s, r.co2e_g);
  phases_.clear();
  for (const auto& p : r.phases)
    phase(p.path()).add(p.energy.components, p.energy.duration_s, p.co2e_g);
  gpus_ = r.summary.gpu_settings;
}

prometheus::GroupingKey RunMetrics::key() const {
  prometheus::GroupingKey k;
  k.labels = {{"host", labels_.host}, {"experiment", labels_.experiment}, {"run", labels_.run}};
  return k;
}

std::vector<Family> RunMetrics::families() const {
  const Labels base = {{"experiment", labels_.experiment},
                       {"configuration", labels_.configuration},
                       {"run", labels_.run},
                       {"host", labels_.host}};
  Family energy{"greentrain_energy_joules_total",
                "Energy per component (gpu, cpu, ram, wall) of the run (phase=\"\") or of a "
                "phase's occurrences so far, in joules",
                Type::counter,
                {}};
  Family power{"greentrain_power_watts",
               "Mean power per component over the same energy, in watts",
               Type::gauge,
               {}};
  Family co2e{"greentrain_co2e_grams_total",
              "CO2e of the gpu+cpu+ram energy (grid intensity times PUE), in grams",
              Type::counter,
              {}};
  Family duration{"greentrain_duration_seconds_total",
                  "Duration of the run so far or of a phase's occurrences, in seconds",
                  Type::counter,
                  {}};
  Family occurrences{"greentrain_phase_occurrences_total",
                     "Occurrences of the phase that have ended",
                     Type::counter,
                     {}};
  Family limit{"greentrain_gpu_power_limit_watts",
               "Enforced power limit of each GPU the run was metered on, in watts",
               Type::gauge,
               {}};
  auto add = [&](const std::string& phase_path, const Figures& f, bool is_phase) {
    Labels l = base;
    l.emplace_back("phase", phase_path);
    for (const auto& [component, joules] : f.energy_j) {
      Labels lc = l;
      lc.emplace_back("component", component);
      energy.samples.push_back({lc, joules});
      power.samples.push_back({lc, f.duration_s > 0 ? joules / f.duration_s : 0.0});
    }
    co2e.samples.push_back({l, f.co2e_g});
    duration.samples.push_back({l, f.duration_s});
    if (is_phase) occurrences.samples.push_back({l, static_cast<double>(f.occurrences)});
  };
  if (run_) add("", *run_, false);
  for (const auto& [path, f] : phases_) add(path, f, true);
  for (const auto& g : gpus_)
    if (g.power_limit_w) {
      Labels l = base;
      l.emplace_back("device", g.device);
      limit.samples.push_back({l, *g.power_limit_w});
    }
  std::vector<Family> out;
  for (auto* f : {&energy, &power, &co2e, &duration, &occurrences, &limit})
    if (!f->samples.empty()) out.push_back(std::move(*f));
  return out;
}

std::string standalone_run_id() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return fmt::format("{}-{}", buf, getpid());
}

}  // namespace gt::run
