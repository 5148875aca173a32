// Summary serialisation: to_json() (keys carry units) and the trace CSV writer.
#include <fmt/core.h>

#include <cstdio>
#include <memory>

#include "common/error.h"
#include "energy/optional_json.h"
#include "energy/session.h"

namespace gt::energy {

double Summary::component_energy_j(Component component) const {
  double sum = 0;
  for (const auto& c : components)
    if (c.component == component) sum += c.energy_j;
  return sum;
}

nlohmann::json component_json(const ComponentEnergy& c) {
  nlohmann::json e = {{"component", c.component},     {"device", c.device},
                      {"source", c.source},           {"model", c.model},
                      {"attribution", c.attribution}, {"energy_j", c.energy_j},
                      {"avg_power_w", c.avg_power_w}, {"peak_power_w", c.peak_power_w}};
  e["idle_power_w"] = optional_json(c.idle_power_w);
  e["net_energy_j"] = optional_json(c.net_energy_j);
  if (c.uncertainty_j) e["uncertainty_j"] = *c.uncertainty_j;
  if (c.machine_energy_j) e["machine_energy_j"] = *c.machine_energy_j;
  return e;
}

double WindowEnergy::component_energy_j(Component component) const {
  double sum = 0;
  for (const auto& c : components)
    if (c.component == component) sum += c.energy_j;
  return sum;
}

nlohmann::json WindowEnergy::to_json() const {
  nlohmann::json j;
  j["duration_s"] = duration_s;
  j["energy_j"] = energy_j;
  j["net_energy_j"] = optional_json(net_energy_j);
  j["wall_energy_j"] = optional_json(wall_energy_j);
  j["uncertainty_j"] = uncertainty_j;
  for (Component c : {Component::gpu, Component::cpu, Component::ram}) {
    bool present = false;
    for (const auto& comp : components) present |= comp.component == c;
    j[std::string(to_string(c)) + "_energy_j"] =
        present ? nlohmann::json(component_energy_j(c)) : nullptr;
  }
  j["components"] = nlohmann::json::array();
  for (const auto& c : components) j["components"].push_back(component_json(c));
  return j;
}

nlohmann::json Summary::to_json() const {
  nlohmann::json j;
  j["duration_s"] = duration_s;
  j["energy_j"] = energy_j;
  j["net_energy_j"] = net_energy_j ? nlohmann::json(*net_energy_j) : nlohmann::json();
  j["wall_energy_j"] = wall_energy_j ? nlohmann::json(*wall_energy_j) : nlohmann::json();
  for (Component c : {Component::gpu, Component::cpu, Component::ram}) {
    bool present = false;
    for (const auto& comp : components) present |= comp.component == c;
    j[std::string(to_string(c)) + "_energy_j"] =
        present ? nlohmann::json(component_energy_j(c)) : nlohmann::json();
  }
  j["interrupted"] = interrupted;
  j["sampler_cpu_s"] = sampler_cpu_s;
  j["gpu_counters"] = nlohmann::json::array();
  for (const auto& c : counters) j["gpu_counters"].push_back(c.to_json());
  j["gpu_settings"] = nlohmann::json::array();
  for (const auto& g : gpu_settings) j["gpu_settings"].push_back(g.to_json());
  j["notes"] = notes;
  nlohmann::json comps = nlohmann::json::array();
  double total_power = duration_s > 0 ? energy_j / duration_s : 0;
  for (const auto& c : components) {
    nlohmann::json e = component_json(c);
    comps.push_back(std::move(e));
  }
  j["avg_power_w"] = total_power;
  j["components"] = std::move(comps);
  j["samples_count"] = samples.size();
  return j;
}

void write_trace_csv(const Summary& summary, const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
  if (!f) throw Error(fmt::format("--trace {}: cannot open for writing", path));
  auto opt = [](const std::optional<double>& v) {
    return v ? fmt::format("{:.6g}", *v) : std::string();
  };
  fmt::print(f.get(),
             "t_s,component,device,power_w,energy_j,sm_clock_mhz,temperature_c,utilization_pct,"
             "memory_used_mb\n");
  for (const auto& s : summary.samples)
    fmt::print(f.get(), "{:.6f},{},{},{:.6g},{:.9g},{},{},{},{}\n", s.t_s, s.component, s.device,
               s.power_w, s.energy_j, opt(s.sm_clock_mhz), opt(s.temperature_c),
               opt(s.utilization_pct), opt(s.memory_used_mb));
  if (std::ferror(f.get())) throw Error(fmt::format("--trace {}: write failed", path));
}

nlohmann::json CounterResolution::to_json() const {
  return {{"device", device},
          {"period_s", period_s},
          {"period_spread_s", period_spread_s},
          {"read_cost_s", read_cost_s},
          {"edge_timing_s", edge_timing_s},
          {"reads", reads},
          {"edges", edges}};
}

}  // namespace gt::energy
