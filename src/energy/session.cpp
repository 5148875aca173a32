// Session: discovers the meters once (NVML GPUs, RAPL zones or the CPU/RAM
// estimates, a wall meter), measures the idle baseline, and runs the samplers between start()
// and stop(): one thread for the fast meters, one per slow meter (a wall command or HTTP
// plug), so a slow read never delays the GPU samples. stop() turns the accumulators into a
// Summary. Everything lives in the Session object; there is no global state.
#include "energy/session.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "common/error.h"
#include "energy/estimate.h"
#include "energy/nvml.h"
#include "energy/rapl.h"
#include "energy/sampler.h"
#include "energy/wall.h"
#include "greentrain_version.h"

namespace gt::energy {

struct Session::Impl {
  MeterOptions options;
  NvmlProbe nvml;
  RaplProbe rapl;
  CpuInfo cpu;
  std::vector<std::unique_ptr<Meter>> meters;
  std::vector<std::string> notes;
  std::map<Meter*, double> idle_power_w;
  std::vector<std::unique_ptr<Sampler>> samplers;
  std::vector<std::vector<Meter*>> groups;  // meters of each sampler
  std::mutex mu;
  bool running = false, interrupted = false;

  std::vector<std::unique_ptr<Sampler>> make_samplers(bool idle) {
    std::vector<std::unique_ptr<Sampler>> out;
    groups.clear();
    std::vector<Meter*> fast;
    for (auto& m : meters) {
      if (idle && !m->can_measure_idle()) continue;
      if (m->slow())
        groups.push_back({m.get()});
      else
        fast.push_back(m.get());
    }
    groups.insert(groups.begin(), fast);
    for (auto& g : groups)
      out.push_back(std::make_unique<Sampler>(g, options.interval_ms, options.keep_samples));
    return out;
  }
};

Session::Session(const MeterOptions& options) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  s.options = options;
  if (options.interval_ms < 10 || options.interval_ms > 60000)
    throw UsageError(
        fmt::format("--interval-ms {}: must be between 10 and 60000", options.interval_ms));
  // Wall meter first: a malformed --wall is a usage error before any probing.
  auto wall = make_wall_meter(options.wall, options.interval_ms);

  if (options.gpus != "none") {
    s.nvml = probe_nvml();
    for (const auto& g : select_gpus(s.nvml, options.gpus)) {
      s.meters.push_back(make_nvml_meter(s.nvml, g, options.interval_ms, options.gpu_counter_ms));
      if (!g.energy_counter)
        s.notes.push_back(fmt::format(
            "GPU {}: no NVML energy counter (pre-Volta or unsupported); energy integrated from "
            "power samples",
            g.index));
    }
    if (!s.nvml.library && !options.gpus.empty())
      throw UsageError(fmt::format("--gpus {}: {}", options.gpus, s.nvml.missing_reason));
  }

  s.rapl = probe_rapl();
  if (!s.rapl.permission_hint.empty()) s.notes.push_back(s.rapl.permission_hint);
  const bool rapl_cpu = s.rapl.has("cpu") && !options.cpu_tdp_w;
  const bool rapl_ram = s.rapl.has("ram") && !options.ram_watts;
  for (const auto& z : s.rapl.zones) {
    if (!z.readable) continue;
    if ((z.component == "cpu" && rapl_cpu) || (z.component == "ram" && rapl_ram))
      s.meters.push_back(make_rapl_meter(z));
  }
  s.cpu = read_cpu_info();
  if (!rapl_cpu) {
    const TdpChoice tdp = choose_tdp(s.cpu, options.cpu_tdp_w);
    s.meters.push_back(make_cpu_estimate_meter(tdp));
  }
  if (!rapl_ram) {
    if (options.ram_watts) {
      s.meters.push_back(make_ram_estimate_meter(*options.ram_watts, "--ram-watts"));
    } else {
      const double gb = installed_ram_gb().value_or(8.0);
      s.meters.push_back(make_ram_estimate_meter(
          kRamWattsPerGb * gb, fmt::format("{} W/GB x {:.1f} GB installed", kRamWattsPerGb, gb)));
    }
  }
  if (wall) s.meters.push_back(std::move(wall));
}

Session::~Session() {
  for (auto& sm : impl_->samplers) sm->stop();
}

nlohmann::json Session::environment() const {
  const auto& s = *impl_;
  nlohmann::json j;
  j["greentrain_version"] = GREENTRAIN_VERSION;
  j["interval_ms"] = s.options.interval_ms;
  nlohmann::json gpus = nlohmann::json::array();
  nlohmann::json meters = nlohmann::json::array();
  for (const auto& m : s.meters) {
    meters.push_back({{"component", m->component()},
                      {"device", m->device()},
                      {"source", m->source()},
                      {"model", m->model()},
                      {"details", m->environment()}});
    if (m->component() == "gpu") gpus.push_back(m->environment());
  }
  j["gpus"] = gpus;
  j["nvml_driver"] = s.nvml.driver;
  j["nvml_missing"] = s.nvml.library ? "" : s.nvml.missing_reason;
  j["cpu"] = {{"model_name", s.cpu.model_name},
              {"sockets", s.cpu.sockets},
              {"physical_cores", s.cpu.physical_cores},
              {"logical_cpus", s.cpu.logical_cpus}};
  j["ram_gb"] = installed_ram_gb() ? nlohmann::json(*installed_ram_gb()) : nlohmann::json();
  j["rapl_missing"] = s.rapl.missing_reason;
  j["rapl_permission"] = s.rapl.permission_hint;
  nlohmann::json zones = nlohmann::json::array();
  for (const auto& z : s.rapl.zones)
    zones.push_back({{"zone", z.id},
                     {"name", z.name},
                     {"component", z.component},
                     {"device", z.device},
                     {"readable", z.readable},
                     {"not_counted", z.why_not_counted}});
  j["rapl_zones"] = zones;
  j["cpu"]["hypervisor"] = s.cpu.hypervisor;
  j["meters"] = meters;
  j["notes"] = s.notes;
  return j;
}

void Session::measure_idle(double seconds) {
  if (seconds <= 0) return;
  std::lock_guard lock(impl_->mu);
  auto& s = *impl_;
  if (s.running) throw Error("energy session: measure_idle() called while measuring");
  auto samplers = s.make_samplers(true);
  for (auto& sm : samplers) sm->start();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  for (auto& sm : samplers) sm->stop();
  s.idle_power_w.clear();
  for (size_t g = 0; g < samplers.size(); ++g) {
    const auto& acc = samplers[g]->accumulators();
    const double d = samplers[g]->duration_s();
    for (size_t i = 0; i < s.groups[g].size(); ++i) {
      Meter* m = s.groups[g][i];
      std::optional<double> e = m->end(d);
      const double energy = e ? *e : acc[i].energy_j();
      if ((e || acc[i].has_data()) && d > 0) s.idle_power_w[m] = energy / d;
    }
  }
}

void Session::start() {
  std::lock_guard lock(impl_->mu);
  auto& s = *impl_;
  if (s.running) throw Error("energy session: start() called twice without stop()");
  s.interrupted = false;
  s.samplers = s.make_samplers(false);
  for (auto& sm : s.samplers) sm->start();
  s.running = true;
}

Summary Session::stop() {
  std::lock_guard lock(impl_->mu);
  auto& s = *impl_;
  if (!s.running) throw Error("energy session: stop() called without start()");
  for (auto& sm : s.samplers) sm->stop();
  s.running = false;

  Summary out;
  out.duration_s = s.samplers.empty() ? 0 : s.samplers.front()->duration_s();
  out.interrupted = s.interrupted;
  out.notes = s.notes;
  double energy = 0, net = 0;
  bool all_net = true, any_main = false;
  for (size_t g = 0; g < s.samplers.size(); ++g) {
    auto& sm = *s.samplers[g];
    out.sampler_cpu_s += sm.cpu_s();
    for (size_t i = 0; i < s.groups[g].size(); ++i) {
      Meter* m = s.groups[g][i];
      const Accumulator& acc = sm.accumulators()[i];
      std::optional<double> override_j = m->end(sm.duration_s());
      if (!override_j && !acc.has_data()) {
        if (m->component() == "wall" || m->component() == "gpu")
          out.notes.push_back(
              fmt::format("{} {} ({}) gave no reading", m->component(), m->device(), m->model()));
        continue;
      }
      ComponentEnergy c;
      c.component = m->component();
      c.device = m->device();
      c.source = m->source();
      c.model = m->model();
      c.energy_j = override_j ? *override_j : acc.energy_j();
      // A slow meter (command, HTTP) has its own thread whose window overruns the main one by
      // up to one blocking read: use its mean power over the main window.
      if (!override_j && m->slow() && sm.duration_s() > 0)
        c.energy_j *= out.duration_s / sm.duration_s();
      c.avg_power_w = out.duration_s > 0 ? c.energy_j / out.duration_s : 0;
      c.peak_power_w = override_j ? c.avg_power_w : std::max(acc.peak_power_w(), c.avg_power_w);
      if (auto it = s.idle_power_w.find(m); it != s.idle_power_w.end()) {
        c.idle_power_w = it->second;
        c.net_energy_j = c.energy_j - it->second * out.duration_s;
      }
      if (c.component == "wall") {
        out.wall_energy_j = out.wall_energy_j.value_or(0) + c.energy_j;
      } else {
        any_main = true;
        energy += c.energy_j;
        if (c.net_energy_j)
          net += *c.net_energy_j;
        else
          all_net = false;
      }
      out.components.push_back(std::move(c));
    }
    if (s.options.keep_samples)
      out.samples.insert(out.samples.end(), sm.samples().begin(), sm.samples().end());
  }
  std::stable_sort(out.samples.begin(), out.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.t_s < b.t_s; });
  out.energy_j = energy;
  if (any_main && all_net && !s.idle_power_w.empty()) out.net_energy_j = net;
  s.samplers.clear();
  return out;
}

void Session::mark_interrupted() {
  std::lock_guard lock(impl_->mu);
  impl_->interrupted = true;
}

}  // namespace gt::energy
