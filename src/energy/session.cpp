// Session: discovers the meters once (NVML GPUs, RAPL zones or the CPU/RAM
// estimates, a wall meter), measures the idle baseline, and runs the samplers between start()
// and stop(): one thread for the fast meters, one per slow meter (a wall command or HTTP
// plug), so a slow read never delays the GPU samples, plus an edge tracker per stepping GPU
// energy counter. stop() turns the accumulators into a Summary; snapshot() and window() read
// and difference every meter at instants inside the window. Everything lives in the Session
// object; there is no global state.
#include "energy/session.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "common/error.h"
#include "energy/edges.h"
#include "energy/estimate.h"
#include "energy/nvml.h"
#include "energy/rapl.h"
#include "energy/sampler.h"
#include "energy/wall.h"
#include "greentrain_version.h"

namespace gt::energy {

namespace {

// Totals of the components measured over one interval of duration_s: the wall meters apart from
// the main sum, the net energy only when every main component has one against an idle baseline.
class IntervalTotals {
 public:
  IntervalTotals(const std::map<Meter*, double>& idle_power_w, double duration_s)
      : idle_power_w_(idle_power_w), duration_s_(duration_s) {}

  // Gives c its idle power and net energy where meter m's idle power is known, then counts it.
  void add(Meter* m, ComponentEnergy& c) {
    if (auto it = idle_power_w_.find(m); it != idle_power_w_.end()) {
      c.idle_power_w = it->second;
      c.net_energy_j = c.energy_j - it->second * duration_s_;
    }
    if (c.component == Component::wall) {
      wall_energy_j = wall_energy_j.value_or(0) + c.energy_j;
    } else {
      any_main_ = true;
      energy_j += c.energy_j;
      if (c.net_energy_j)
        net_ += *c.net_energy_j;
      else
        all_net_ = false;
    }
  }
  std::optional<double> net_energy_j() const {
    if (any_main_ && all_net_ && !idle_power_w_.empty()) return net_;
    return std::nullopt;
  }

  double energy_j = 0;
  std::optional<double> wall_energy_j;

 private:
  const std::map<Meter*, double>& idle_power_w_;
  double duration_s_;
  double net_ = 0;
  bool all_net_ = true, any_main_ = false;
};

}  // namespace

struct Session::Impl {
  MeterOptions options;
  NvmlProbe nvml;
  RaplProbe rapl;
  CpuInfo cpu;
  std::vector<std::unique_ptr<Meter>> meters;
  std::vector<std::string> notes;
  std::map<Meter*, double> idle_power_w;
  std::vector<std::unique_ptr<Sampler>> samplers;
  std::vector<std::vector<Meter*>> groups;               // meters of each sampler
  std::map<Meter*, std::unique_ptr<EdgeTracker>> edges;  // stepping counters (NVML)
  mutable std::mutex mu;
  bool running = false, interrupted = false;
  double t0_steady = 0;                   // start() on the monotonic clock
  std::optional<double> last_snapshot_s;  // steady time of the latest snapshot
  std::optional<double> idle_busy;        // CPU busy share during the idle baseline

  size_t meter_index(const Meter* m) const {
    for (size_t i = 0; i < meters.size(); ++i)
      if (meters[i].get() == m) return i;
    return meters.size();
  }

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
      out.push_back(std::make_unique<Sampler>(g, options.interval_ms, options.keep_samples,
                                              !g.empty() && g.front()->slow()));
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
  const bool rapl_cpu = s.rapl.has(Component::cpu) && !options.cpu_tdp_w;
  const bool rapl_ram = s.rapl.has(Component::ram) && !options.ram_watts;
  for (const auto& z : s.rapl.zones) {
    if (!z.readable) continue;
    if ((z.component == Component::cpu && rapl_cpu) || (z.component == Component::ram && rapl_ram))
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
      const DimmCount d = count_dimms(gb);
      s.meters.push_back(make_ram_estimate_meter(
          kRamWattsPerDimm * d.dimms,
          fmt::format("{} W/DIMM x {} DIMMs ({})", kRamWattsPerDimm, d.dimms, d.how)));
    }
  }
  if (wall) s.meters.push_back(std::move(wall));
  if (options.gpu_edge_ms < 0 || options.gpu_edge_ms > 1000)
    throw UsageError(
        fmt::format("--gpu-edge-ms {}: must be between 0 (off) and 1000", options.gpu_edge_ms));
  if (options.gpu_edge_ms > 0)
    for (auto& m : s.meters)
      if (m->counter_steps())
        s.edges[m.get()] = std::make_unique<EdgeTracker>(m.get(), options.gpu_edge_ms);
}

Session::~Session() {
  for (auto& sm : impl_->samplers) sm->stop();
  for (auto& [m, e] : impl_->edges) e->stop();
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
    if (m->component() == Component::gpu) gpus.push_back(m->environment());
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
                     {"component", z.component ? to_string(*z.component) : ""},
                     {"device", z.device},
                     {"readable", z.readable},
                     {"not_counted", z.why_not_counted}});
  j["rapl_zones"] = zones;
  j["cpu"]["hypervisor"] = s.cpu.hypervisor;
  j["meters"] = meters;
  j["notes"] = s.notes;
  return j;
}

namespace {
std::optional<CpuTimes> read_cpu_times() {
  FileRead f = read_text_file(env_or("GREENTRAIN_PROC_ROOT", "/proc") + "/stat");
  return f.text ? parse_proc_stat(*f.text) : std::nullopt;
}
}  // namespace

bool Session::measure_idle(double seconds, const std::function<bool()>& stop_requested) {
  if (seconds <= 0) return true;
  std::lock_guard lock(impl_->mu);
  auto& s = *impl_;
  if (s.running) throw Error("energy session: measure_idle() called while measuring");
  auto samplers = s.make_samplers(true);
  const auto cpu0 = read_cpu_times();
  for (auto& sm : samplers) sm->start();
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(seconds));
  bool interrupted = false;
  while (std::chrono::steady_clock::now() < until) {
    if (stop_requested && stop_requested()) {
      interrupted = true;
      break;
    }
    const std::chrono::steady_clock::duration left = until - std::chrono::steady_clock::now();
    const std::chrono::steady_clock::duration slice =
        std::chrono::milliseconds(stop_requested ? 50 : 1000);
    std::this_thread::sleep_for(std::min(left, slice));
  }
  for (auto& sm : samplers) sm->stop();
  if (interrupted) return false;
  const auto cpu1 = read_cpu_times();
  s.idle_busy.reset();
  if (cpu0 && cpu1 && cpu1->total > cpu0->total)
    s.idle_busy = std::clamp((cpu1->busy - cpu0->busy) / (cpu1->total - cpu0->total), 0.0, 1.0);
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
  return true;
}

bool Session::has_idle_baseline() const {
  std::lock_guard lock(impl_->mu);
  return !impl_->idle_power_w.empty();
}

std::optional<double> Session::idle_cpu_busy() const {
  std::lock_guard lock(impl_->mu);
  return impl_->idle_busy;
}

void Session::start() {
  std::lock_guard lock(impl_->mu);
  auto& s = *impl_;
  if (s.running) throw Error("energy session: start() called twice without stop()");
  s.interrupted = false;
  s.samplers = s.make_samplers(false);
  s.last_snapshot_s.reset();
  for (auto& [m, e] : s.edges) e->start();
  s.t0_steady = steady_now_s();
  for (auto& sm : s.samplers) sm->start();
  s.running = true;
}

Summary Session::stop() {
  std::lock_guard lock(impl_->mu);
  auto& s = *impl_;
  if (!s.running) throw Error("energy session: stop() called without start()");
  for (auto& sm : s.samplers) sm->stop();
  s.running = false;
  // The window's end (and a snapshot near it) needs the counter's next update edge to be
  // interpolated.
  const double t_end = std::max(steady_now_s(), s.last_snapshot_s.value_or(0.0));
  for (auto& [m, e] : s.edges) {
    e->wait_past(t_end, 0.5);
    e->stop();
  }

  Summary out;
  out.duration_s = s.samplers.empty() ? 0 : s.samplers.front()->duration_s();
  out.interrupted = s.interrupted;
  out.notes = s.notes;
  IntervalTotals totals(s.idle_power_w, out.duration_s);
  for (auto& [m, e] : s.edges) {
    out.sampler_cpu_s += e->cpu_s();
    CounterResolution r = e->resolution();
    r.device = m->device();
    out.counters.push_back(r);
  }
  for (size_t g = 0; g < s.samplers.size(); ++g) {
    auto& sm = *s.samplers[g];
    out.sampler_cpu_s += sm.cpu_s();
    for (size_t i = 0; i < s.groups[g].size(); ++i) {
      Meter* m = s.groups[g][i];
      if (auto settings = m->gpu_settings()) out.gpu_settings.push_back(std::move(*settings));
      const Accumulator& acc = sm.accumulators()[i];
      std::optional<double> override_j = m->end(sm.duration_s());
      if (!override_j && !acc.has_data()) {
        if (m->component() == Component::wall || m->component() == Component::gpu)
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
      // A stepping counter: the window's energy between its boundaries interpolated on the
      // counter's edges, rather than the difference of two reads that each lag by up to a step.
      if (auto it = s.edges.find(m); it != s.edges.end() && !override_j) {
        const auto a = it->second->energy_at(s.t0_steady);
        const auto b = it->second->energy_at(s.t0_steady + sm.duration_s());
        if (a && b && b->energy_j >= a->energy_j) {
          c.energy_j = b->energy_j - a->energy_j;
          c.uncertainty_j = std::hypot(a->uncertainty_j, b->uncertainty_j);
          c.model += " (edge-interpolated boundaries)";
        }
      }
      // A slow meter (command, HTTP) has its own thread whose window overruns the main one by
      // up to one blocking read: use its mean power over the main window.
      if (!override_j && m->slow() && sm.duration_s() > 0)
        c.energy_j *= out.duration_s / sm.duration_s();
      c.avg_power_w = out.duration_s > 0 ? c.energy_j / out.duration_s : 0;
      c.peak_power_w = override_j ? c.avg_power_w : std::max(acc.peak_power_w(), c.avg_power_w);
      totals.add(m, c);
      out.components.push_back(std::move(c));
    }
    if (s.options.keep_samples)
      out.samples.insert(out.samples.end(), sm.samples().begin(), sm.samples().end());
  }
  std::stable_sort(out.samples.begin(), out.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.t_s < b.t_s; });
  out.energy_j = totals.energy_j;
  out.net_energy_j = totals.net_energy_j();
  out.wall_energy_j = totals.wall_energy_j;
  // The samplers stay until the next start(), so window() still works after stop().
  return out;
}

Session::Facts Session::facts() const {
  const auto& s = *impl_;
  Facts f;
  f.logical_cpus = std::max(1, s.cpu.logical_cpus);
  if (auto gb = installed_ram_gb()) f.ram_total_bytes = *gb * 1024.0 * 1024.0 * 1024.0;
  for (const auto& m : s.meters)
    if (m->component() == Component::cpu && m->source() == Source::estimated) {
      const auto env = m->environment();
      if (env.contains("tdp_w")) f.cpu_tdp_w = env["tdp_w"].get<double>();
    }
  return f;
}

std::vector<ComponentEnergy> Session::meters() const {
  std::vector<ComponentEnergy> out;
  for (const auto& m : impl_->meters) {
    ComponentEnergy c;
    c.component = m->component();
    c.device = m->device();
    c.source = m->source();
    c.model = m->model();
    out.push_back(std::move(c));
  }
  return out;
}

Snapshot Session::snapshot() {
  std::lock_guard lock(impl_->mu);
  auto& s = *impl_;
  if (!s.running) throw Error("energy session: snapshot() outside start()..stop()");
  Snapshot snap;
  snap.steady_s = steady_now_s();
  snap.t_s = snap.steady_s - s.t0_steady;
  snap.energy_j.assign(s.meters.size(), 0.0);
  for (size_t g = 0; g < s.samplers.size(); ++g) {
    const std::vector<double> e = s.samplers[g]->snapshot(snap.steady_s);
    for (size_t i = 0; i < s.groups[g].size(); ++i) {
      const size_t k = s.meter_index(s.groups[g][i]);
      if (k < snap.energy_j.size()) snap.energy_j[k] = e[i];
      if (is_main(s.groups[g][i]->component())) snap.energy_total_j += e[i];
    }
  }
  s.last_snapshot_s = snap.steady_s;
  return snap;
}

Snapshot Session::snapshot_at(double steady_s) const {
  std::lock_guard lock(impl_->mu);
  const auto& s = *impl_;
  Snapshot snap;
  snap.steady_s = steady_s;
  snap.t_s = steady_s - s.t0_steady;
  snap.energy_j.assign(s.meters.size(), 0.0);
  for (size_t g = 0; g < s.samplers.size(); ++g) {
    const std::vector<double> e = s.samplers[g]->energy_at(steady_s);
    for (size_t i = 0; i < s.groups[g].size() && i < e.size(); ++i) {
      const size_t k = s.meter_index(s.groups[g][i]);
      if (k < snap.energy_j.size()) snap.energy_j[k] = e[i];
      if (is_main(s.groups[g][i]->component())) snap.energy_total_j += e[i];
    }
  }
  return snap;
}

double Session::start_steady_s() const {
  std::lock_guard lock(impl_->mu);
  return impl_->t0_steady;
}

bool Session::wait_readings_past(double steady_s, double max_wait_s) const {
  std::vector<const Sampler*> samplers;
  std::vector<EdgeTracker*> edges;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& sm : impl_->samplers) samplers.push_back(sm.get());
    for (const auto& [m, e] : impl_->edges) edges.push_back(e.get());
  }
  // Waited without the session's lock, so stop() is never held up; each wait has its own limit,
  // measured from the same start.
  const double until = steady_now_s() + max_wait_s;
  bool all = true;
  for (const auto* sm : samplers)
    all &= sm->wait_reading_past(steady_s, std::max(0.0, until - steady_now_s()));
  for (auto* e : edges) all &= e->wait_past(steady_s, std::max(0.0, until - steady_now_s()));
  return all;
}

WindowEnergy Session::window(const Snapshot& a, const Snapshot& b) const {
  auto& s = *impl_;
  std::map<Meter*, std::pair<std::optional<InterpolatedEnergy>, std::optional<InterpolatedEnergy>>>
      interpolated;
  for (const auto& [m, e] : s.edges) {
    e->wait_past(b.steady_s, 0.5);  // returns at once when the tracker has stopped
    interpolated[m] = {e->energy_at(a.steady_s), e->energy_at(b.steady_s)};
  }
  std::lock_guard lock(s.mu);
  WindowEnergy w;
  w.duration_s = b.t_s - a.t_s;
  double u2 = 0;
  IntervalTotals totals(s.idle_power_w, w.duration_s);
  for (size_t k = 0; k < s.meters.size() && k < a.energy_j.size() && k < b.energy_j.size(); ++k) {
    Meter* m = s.meters[k].get();
    ComponentEnergy c;
    c.component = m->component();
    c.device = m->device();
    c.source = m->source();
    c.model = m->model();
    c.energy_j = b.energy_j[k] - a.energy_j[k];
    if (auto it = interpolated.find(m); it != interpolated.end()) {
      const auto& [ia, ib] = it->second;
      if (ia && ib) {
        c.energy_j = ib->energy_j - ia->energy_j;
        c.uncertainty_j = std::hypot(ia->uncertainty_j, ib->uncertainty_j);
        c.model += " (edge-interpolated boundaries)";
      } else if (auto step = s.edges.at(m)->median_step_s(); step && w.duration_s > 0) {
        // Plain reads: each boundary lags by up to one update step, uniformly.
        c.uncertainty_j = c.energy_j / w.duration_s * *step / std::sqrt(6.0);
      }
      if (c.uncertainty_j) u2 += *c.uncertainty_j * *c.uncertainty_j;
    }
    c.avg_power_w = w.duration_s > 0 ? c.energy_j / w.duration_s : 0;
    c.peak_power_w = c.avg_power_w;
    totals.add(m, c);
    w.components.push_back(std::move(c));
  }
  w.energy_j = totals.energy_j;
  w.net_energy_j = totals.net_energy_j();
  w.wall_energy_j = totals.wall_energy_j;
  w.uncertainty_j = std::sqrt(u2);
  return w;
}

void Session::mark_interrupted() {
  std::lock_guard lock(impl_->mu);
  impl_->interrupted = true;
}

}  // namespace gt::energy
