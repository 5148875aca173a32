// Estimated meters for machines without RAPL. CPU: the linear model
//   P = TDP × (idle_share + (1 − idle_share) × utilisation),  idle_share = 0.3,
// with utilisation from /proc/stat over each interval (GREENTRAIN_PROC_ROOT overrides /proc for
// tests) and TDP from --cpu-tdp, else data/cpu_tdp.csv matched against /proc/cpuinfo's model
// name (× sockets), else 10 W per physical core. RAM: 5 W per DIMM (CodeCarbon 3's per-slot
// figure for x86 servers, which replaced the 0.375 W/GB that Green Algorithms took from one
// desktop review and that wall measurements did not reproduce), with the DIMM count from the
// EDAC sysfs tree when readable, else a documented heuristic from MemTotal; or --ram-watts.
// Both are labelled `estimated` with their model.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "energy/meter.h"
#include "energy/sysfs.h"

namespace gt::energy {

constexpr double kCpuIdleShare = 0.3;
constexpr double kRamWattsPerDimm = 5.0;
constexpr double kWattsPerCoreFallback = 10.0;

struct CpuInfo {
  std::string model_name;
  int sockets = 1, physical_cores = 0, logical_cpus = 0;
  bool hypervisor = false;  // the `hypervisor` CPU flag: a virtual machine
};
CpuInfo read_cpu_info(const FileReader& reader = read_text_file);

struct TdpChoice {
  double watts = 0;
  std::string how;  // "--cpu-tdp", "table 'EPYC 7763' × 2 sockets", "10 W × 8 cores"
};
TdpChoice choose_tdp(const CpuInfo& cpu, std::optional<double> cpu_tdp_w);

// Busy share of all CPUs between two /proc/stat snapshots' first ("cpu ") lines.
struct CpuTimes {
  double busy = 0, total = 0;
};
std::optional<CpuTimes> parse_proc_stat(const std::string& text);

std::unique_ptr<Meter> make_cpu_estimate_meter(const TdpChoice& tdp,
                                               FileReader reader = read_text_file);

std::optional<double> installed_ram_gb(const FileReader& reader = read_text_file);

struct DimmCount {
  int dimms = 0;
  std::string how;  // "EDAC: 8 populated DIMMs" or "heuristic for 126 GB installed"
};
// Populated DIMMs under /sys/devices/system/edac/mc/mc*/{dimm,rank}*/size (GREENTRAIN_EDAC_ROOT
// overrides the mc folder), else the heuristic: <= 2 GB: 1; <= 16 GB: 2; <= 32 GB: 4;
// <= 128 GB: GB/16 rounded up, 4..8; larger: GB/32 rounded up, 8..32.
DimmCount count_dimms(double installed_gb);
int dimms_for_gb(double installed_gb);  // the heuristic alone
std::unique_ptr<Meter> make_ram_estimate_meter(double watts, std::string model);

}  // namespace gt::energy
