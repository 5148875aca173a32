// NVIDIA GPUs through NVML, loaded at run time with dlopen("libnvidia-ml.so.1") (override with
// GREENTRAIN_NVML_LIB) and our own declarations of the few functions used, so greentrain has
// no build-time NVML dependency and runs on machines with no NVIDIA driver. Per GPU: energy
// from nvmlDeviceGetTotalEnergyConsumption (Volta+) when supported, else integration of
// power; instant power from the NVML_FI_DEV_POWER_INSTANT field where available, else
// nvmlDeviceGetPowerUsage; SM clock, temperature, utilisation and memory used. And, read-only,
// the settings each window ran under (energy/gpu_settings.h): power limits, application and
// maximum clocks and persistence mode when the window begins, the clock-throttle reasons with
// every full reading.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "energy/meter.h"

namespace gt::energy {

class NvmlLibrary;  // the dlopen'ed library (shared by the GPU meters of one session)

struct NvmlGpuInfo {
  int index = 0;
  std::string name, uuid;
  std::string pci_bus_id;  // "00000000:17:00.0" (nvmlDeviceGetPciInfo_v3), "" when unknown
  bool energy_counter = false, instant_power = false;
  std::optional<double> power_limit_w;
};

struct NvmlProbe {
  std::shared_ptr<NvmlLibrary> library;  // null when NVML is unavailable
  std::string driver;
  std::vector<NvmlGpuInfo> gpus;
  std::string missing_reason;  // why there is no NVML (empty when found)
};

// Loads NVML and lists every GPU; never throws for a missing driver (see missing_reason).
NvmlProbe probe_nvml();

// Picks GPUs from a --gpus value ("" = CUDA_VISIBLE_DEVICES or all; "none"; "0,2"; UUIDs).
// Throws gt::UsageError naming the unknown index/UUID.
std::vector<NvmlGpuInfo> select_gpus(const NvmlProbe& probe, const std::string& spec);

// Instant power is read every sample; the energy counter (milliseconds of CPU per call on an
// H100 host), SM clock, temperature, utilisation and memory every ceil(counter_ms / interval_ms)
// samples and at every window boundary (Meter::read_boundary).
std::unique_ptr<Meter> make_nvml_meter(const NvmlProbe& probe, const NvmlGpuInfo& gpu,
                                       int interval_ms = 100, int counter_ms = 2000);

}  // namespace gt::energy
