// Fuzz target: the kernel files the CPU and RAM meters read. The input is used as /proc/stat,
// /proc/cpuinfo and /proc/meminfo, and its lines as successive RAPL energy_uj values (the first
// as max_energy_range_uj) and as raw readings (NaN, inf, negative included) fed to an
// Accumulator. The energy a meter reports must stay finite and non-negative.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "energy/estimate.h"
#include "energy/meter.h"
#include "energy/rapl.h"

namespace {
void check(double e) {
  if (!(std::isfinite(e) && e >= 0)) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gt::energy;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const FileReader whole = [&](const std::string&) { return FileRead{text, 0}; };
  (void)parse_proc_stat(text);
  (void)read_cpu_info(whole);
  if (auto gb = installed_ram_gb(whole)) check(*gb);

  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l) && lines.size() < 256;) lines.push_back(l);
  if (lines.empty()) return 0;

  RaplZone zone;
  zone.id = "intel-rapl:0";
  zone.path = "/fuzz";
  zone.name = "package-0";
  zone.component = gt::Component::cpu;
  zone.device = "package-0";
  const double range = std::strtod(lines[0].c_str(), nullptr) / 1e6;
  zone.max_range_j = std::isfinite(range) && range > 0 ? range : 0;
  size_t next = 1;
  auto meter = make_rapl_meter(zone, [&](const std::string&) {
    return next < lines.size() ? FileRead{lines[next++], 0} : FileRead{std::nullopt, 5};
  });
  meter->begin();
  Accumulator rapl, raw;
  double t = 0;
  for (size_t i = 1; i < lines.size(); ++i, t += 0.1) {
    rapl.add(t, meter->read());
    check(rapl.energy_j());
    Reading r;  // the same line as an unchecked power and counter
    const double v = std::strtod(lines[i].c_str(), nullptr);
    if (i % 2) r.power_w = v;
    if (i % 3) r.energy_j = v;
    raw.add(t, r);
    check(raw.energy_j());
    check(raw.peak_power_w());
  }
  return 0;
}
