// CPU and RAM estimate meters (see estimate.h).
#include "energy/estimate.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "common/numbers.h"

namespace gt::energy {
namespace tables {
extern const char* const kCpuTdpCsv;
}

namespace {

class CpuEstimateMeter : public Meter {
 public:
  CpuEstimateMeter(TdpChoice tdp, FileReader reader)
      : tdp_(std::move(tdp)), reader_(std::move(reader)) {}
  Component component() const override { return Component::cpu; }
  std::string device() const override { return "cpu"; }
  Source source() const override { return Source::estimated; }
  std::string model() const override {
    return fmt::format("tdp-linear(tdp={:.0f}W from {}, idle_share={})", tdp_.watts, tdp_.how,
                       kCpuIdleShare);
  }
  void begin() override {
    last_.reset();
    util_ = 0;
  }
  Reading read() override {
    Reading r;
    FileRead f = reader_(proc_root() + "/stat");
    if (!f.text) return r;
    auto now = parse_proc_stat(*f.text);
    if (!now) return r;
    if (last_) {
      // No jiffy elapsed (a very short interval): keep the previous utilisation.
      if (now->total > last_->total)
        util_ = std::clamp((now->busy - last_->busy) / (now->total - last_->total), 0.0, 1.0);
      r.power_w = tdp_.watts * (kCpuIdleShare + (1 - kCpuIdleShare) * util_);
      r.power_is_average = true;
      r.utilization_pct = 100 * util_;
    }
    if (!last_ || now->total > last_->total) last_ = now;
    return r;
  }
  nlohmann::json environment() const override {
    return {{"tdp_w", tdp_.watts}, {"tdp_from", tdp_.how}, {"idle_share", kCpuIdleShare}};
  }

 private:
  TdpChoice tdp_;
  FileReader reader_;
  std::optional<CpuTimes> last_;
  double util_ = 0;
};

class ConstantMeter : public Meter {
 public:
  ConstantMeter(Component component, double watts, std::string model)
      : component_(component), watts_(watts), model_(std::move(model)) {}
  Component component() const override { return component_; }
  std::string device() const override { return "system"; }
  Source source() const override { return Source::estimated; }
  std::string model() const override { return model_; }
  Reading read() override {
    Reading r;
    r.power_w = watts_;
    return r;
  }
  nlohmann::json environment() const override { return {{"watts", watts_}}; }

 private:
  Component component_;
  double watts_;
  std::string model_;
};

}  // namespace

std::optional<CpuTimes> parse_proc_stat(const std::string& text) {
  std::istringstream in(text);
  std::string label;
  in >> label;
  if (label != "cpu") return std::nullopt;
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user/nice);
  // each a non-negative finite count, else the snapshot is unusable (a missed sample).
  double v[8] = {};
  int n = 0;
  std::string word;
  while (n < 8 && in >> word) {
    auto x = parse_finite(word);
    if (!x || *x < 0) break;
    v[n++] = *x;
  }
  if (n < 4) return std::nullopt;
  CpuTimes t;
  for (int i = 0; i < n; ++i) t.total += v[i];
  t.busy = t.total - v[3] - (n > 4 ? v[4] : 0);
  if (!std::isfinite(t.total) || !std::isfinite(t.busy)) return std::nullopt;
  return t;
}

CpuInfo read_cpu_info(const FileReader& reader) {
  CpuInfo info;
  FileRead f = reader(proc_root() + "/cpuinfo");
  if (!f.text) return info;
  std::istringstream in(*f.text);
  std::string line;
  std::set<std::string> sockets;
  std::set<std::pair<std::string, std::string>> cores;
  std::string phys = "0";
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (key == "processor") ++info.logical_cpus;
    if (key == "model name" && info.model_name.empty()) info.model_name = value;
    if (key == "physical id") {
      phys = value;
      sockets.insert(value);
    }
    if (key == "core id") cores.insert({phys, value});
    if (key == "flags" && (" " + value + " ").find(" hypervisor ") != std::string::npos)
      info.hypervisor = true;
  }
  info.sockets = std::max<int>(1, static_cast<int>(sockets.size()));
  info.physical_cores = cores.empty() ? info.logical_cpus : static_cast<int>(cores.size());
  if (info.logical_cpus == 0) {
    info.logical_cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    info.physical_cores = info.logical_cpus;
  }
  return info;
}

TdpChoice choose_tdp(const CpuInfo& cpu, std::optional<double> cpu_tdp_w) {
  if (cpu_tdp_w) return {*cpu_tdp_w, "--cpu-tdp"};
  std::istringstream in(tables::kCpuTdpCsv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    auto comma = line.rfind(',');
    if (comma == std::string::npos) continue;
    std::string pattern = line.substr(0, comma);
    if (!pattern.empty() && cpu.model_name.find(pattern) != std::string::npos) {
      double w = std::stod(line.substr(comma + 1));
      return {w * cpu.sockets, fmt::format("table '{}' x {} socket(s)", pattern, cpu.sockets)};
    }
  }
  return {kWattsPerCoreFallback * cpu.physical_cores,
          fmt::format("{} W x {} cores, model not in table", kWattsPerCoreFallback,
                      cpu.physical_cores)};
}

std::optional<double> installed_ram_gb(const FileReader& reader) {
  FileRead f = reader(proc_root() + "/meminfo");
  if (!f.text) return std::nullopt;
  std::istringstream in(*f.text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemTotal:", 0) != 0) continue;
    std::string value = line.substr(9);
    if (auto k = value.find("kB"); k != std::string::npos) value.erase(k);
    auto kb = parse_finite(value);
    // Up to 1 PiB: anything else is a broken file, and the RAM estimate falls back to 8 GB.
    if (!kb || !(*kb > 0) || *kb > 1024.0 * 1024 * 1024 * 1024) return std::nullopt;
    return *kb / (1024.0 * 1024.0);
  }
  return std::nullopt;
}

int dimms_for_gb(double gb) {
  if (gb <= 2) return 1;
  if (gb <= 16) return 2;
  if (gb <= 32) return 4;
  if (gb <= 128) return std::clamp(static_cast<int>(std::ceil(gb / 16)), 4, 8);
  return std::clamp(static_cast<int>(std::ceil(gb / 32)), 8, 32);
}

DimmCount count_dimms(double installed_gb) {
  namespace fs = std::filesystem;
  const std::string root = env_or("GREENTRAIN_EDAC_ROOT", "/sys/devices/system/edac/mc");
  int n = 0;
  std::error_code ec;
  for (const auto& mc : fs::directory_iterator(root, ec)) {
    if (mc.path().filename().string().rfind("mc", 0) != 0) continue;
    for (const auto& d : fs::directory_iterator(mc.path(), ec)) {
      const std::string name = d.path().filename().string();
      if (name.rfind("dimm", 0) != 0 && name.rfind("rank", 0) != 0) continue;
      FileRead f = read_text_file((d.path() / "size").string());
      if (f.text && std::atof(f.text->c_str()) > 0) ++n;
    }
  }
  if (n > 0) return {n, fmt::format("EDAC: {} populated DIMMs", n)};
  return {dimms_for_gb(installed_gb),
          fmt::format("heuristic for {:.0f} GB installed (DIMM count not readable)", installed_gb)};
}

std::unique_ptr<Meter> make_cpu_estimate_meter(const TdpChoice& tdp, FileReader reader) {
  return std::make_unique<CpuEstimateMeter>(tdp, std::move(reader));
}

std::unique_ptr<Meter> make_ram_estimate_meter(double watts, std::string model) {
  return std::make_unique<ConstantMeter>(Component::ram, watts, std::move(model));
}

}  // namespace gt::energy
