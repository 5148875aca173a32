// NVML meter (see nvml.h). The declarations below mirror nvml.h of the CUDA toolkit for the
// functions we call; handles are opaque pointers and every call's return code is checked.
#include "energy/nvml.h"

#include <dlfcn.h>
#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <sstream>

#include "common/error.h"

namespace gt::energy {
namespace {

using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kSuccess = 0;
constexpr unsigned kFieldPowerInstant = 186;  // NVML_FI_DEV_POWER_INSTANT
constexpr int kClockGraphics = 0;             // NVML_CLOCK_GRAPHICS
constexpr int kClockSm = 1;                   // NVML_CLOCK_SM
constexpr int kClockMem = 2;                  // NVML_CLOCK_MEM
constexpr int kTemperatureGpu = 0;            // NVML_TEMPERATURE_GPU

struct nvmlPciInfo_t {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
};
struct nvmlUtilization_t {
  unsigned int gpu, memory;
};
struct nvmlMemory_t {
  unsigned long long total, free, used;
};
union nvmlValue_t {
  double dVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  signed long long sllVal;
  signed int siVal;
  unsigned short usVal;
};
struct nvmlFieldValue_t {
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
};

double field_value(const nvmlFieldValue_t& f) {
  switch (f.valueType) {
    case 0:
      return f.value.dVal;
    case 1:
      return f.value.uiVal;
    case 2:
      return static_cast<double>(f.value.ulVal);
    case 3:
      return static_cast<double>(f.value.ullVal);
    case 4:
      return static_cast<double>(f.value.sllVal);
    case 5:
      return f.value.siVal;
    case 6:
      return f.value.usVal;
    default:
      return 0;
  }
}

}  // namespace

class NvmlLibrary {
 public:
  explicit NvmlLibrary(void* handle) : handle_(handle) {}
  ~NvmlLibrary() {
    if (shutdown) shutdown();
    dlclose(handle_);
  }
  template <class F>
  bool load(F& fn, const char* name) {
    fn = reinterpret_cast<F>(dlsym(handle_, name));
    return fn != nullptr;
  }
  std::string error(nvmlReturn_t rc) const {
    const char* s = errorString ? errorString(rc) : nullptr;
    return fmt::format("{} (NVML error {})", s ? s : "unknown", rc);
  }

  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*errorString)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*driverVersion)(char*, unsigned) = nullptr;
  nvmlReturn_t (*count)(unsigned*) = nullptr;
  nvmlReturn_t (*handleByIndex)(unsigned, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*totalEnergy)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*powerUsage)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*fieldValues)(nvmlDevice_t, int, nvmlFieldValue_t*) = nullptr;
  nvmlReturn_t (*clockInfo)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*memoryInfo)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*powerLimit)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*pciInfo)(nvmlDevice_t, nvmlPciInfo_t*) = nullptr;
  // The settings a window runs under (read-only).
  nvmlReturn_t (*defaultLimit)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*limitConstraints)(nvmlDevice_t, unsigned*, unsigned*) = nullptr;
  nvmlReturn_t (*applicationsClock)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*maxClock)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*persistenceMode)(nvmlDevice_t, int*) = nullptr;
  nvmlReturn_t (*throttleReasons)(nvmlDevice_t, unsigned long long*) = nullptr;
  std::mutex mu;  // NVML is thread-safe, but one sampler per session reads it anyway

 private:
  void* handle_;
};

NvmlProbe probe_nvml() {
  NvmlProbe probe;
  const char* override_path = std::getenv("GREENTRAIN_NVML_LIB");
  const std::string path = override_path && *override_path ? override_path : "libnvidia-ml.so.1";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    probe.missing_reason = fmt::format(
        "{} could not be loaded ({}): no NVIDIA driver on this machine, or not in a container "
        "started with GPU access",
        path, dlerror());
    return probe;
  }
  auto lib = std::make_shared<NvmlLibrary>(handle);
  bool ok = lib->load(lib->init, "nvmlInit_v2") && lib->load(lib->shutdown, "nvmlShutdown") &&
            lib->load(lib->count, "nvmlDeviceGetCount_v2") &&
            lib->load(lib->handleByIndex, "nvmlDeviceGetHandleByIndex_v2") &&
            lib->load(lib->powerUsage, "nvmlDeviceGetPowerUsage");
  if (!ok) {
    lib->shutdown = nullptr;
    probe.missing_reason = fmt::format("{} lacks the NVML functions greentrain needs", path);
    return probe;
  }
  lib->load(lib->errorString, "nvmlErrorString");
  lib->load(lib->driverVersion, "nvmlSystemGetDriverVersion");
  lib->load(lib->name, "nvmlDeviceGetName");
  lib->load(lib->uuid, "nvmlDeviceGetUUID");
  lib->load(lib->totalEnergy, "nvmlDeviceGetTotalEnergyConsumption");
  lib->load(lib->fieldValues, "nvmlDeviceGetFieldValues");
  lib->load(lib->clockInfo, "nvmlDeviceGetClockInfo");
  lib->load(lib->temperature, "nvmlDeviceGetTemperature");
  lib->load(lib->utilization, "nvmlDeviceGetUtilizationRates");
  lib->load(lib->memoryInfo, "nvmlDeviceGetMemoryInfo");
  lib->load(lib->powerLimit, "nvmlDeviceGetEnforcedPowerLimit");
  lib->load(lib->pciInfo, "nvmlDeviceGetPciInfo_v3");
  lib->load(lib->defaultLimit, "nvmlDeviceGetPowerManagementDefaultLimit");
  lib->load(lib->limitConstraints, "nvmlDeviceGetPowerManagementLimitConstraints");
  lib->load(lib->applicationsClock, "nvmlDeviceGetApplicationsClock");
  lib->load(lib->maxClock, "nvmlDeviceGetMaxClockInfo");
  lib->load(lib->persistenceMode, "nvmlDeviceGetPersistenceMode");
  // Renamed "clocks event reasons" in CUDA 12.2; drivers export both names.
  if (!lib->load(lib->throttleReasons, "nvmlDeviceGetCurrentClocksEventReasons"))
    lib->load(lib->throttleReasons, "nvmlDeviceGetCurrentClocksThrottleReasons");
  if (nvmlReturn_t rc = lib->init(); rc != kSuccess) {
    probe.missing_reason = fmt::format("nvmlInit failed: {}", lib->error(rc));
    lib->shutdown = nullptr;
    return probe;
  }
  char buf[256] = {};
  if (lib->driverVersion && lib->driverVersion(buf, sizeof buf) == kSuccess) probe.driver = buf;
  unsigned n = 0;
  if (nvmlReturn_t rc = lib->count(&n); rc != kSuccess) {
    probe.missing_reason = fmt::format("nvmlDeviceGetCount failed: {}", lib->error(rc));
    return probe;
  }
  for (unsigned i = 0; i < n; ++i) {
    nvmlDevice_t dev = nullptr;
    if (lib->handleByIndex(i, &dev) != kSuccess) continue;
    NvmlGpuInfo g;
    g.index = static_cast<int>(i);
    char s[256] = {};
    if (lib->name && lib->name(dev, s, sizeof s) == kSuccess) g.name = s;
    char u[256] = {};
    if (lib->uuid && lib->uuid(dev, u, sizeof u) == kSuccess) g.uuid = u;
    nvmlPciInfo_t pci{};
    if (lib->pciInfo && lib->pciInfo(dev, &pci) == kSuccess)
      g.pci_bus_id = std::string(pci.busId, strnlen(pci.busId, sizeof pci.busId));
    unsigned long long mj = 0;
    g.energy_counter = lib->totalEnergy && lib->totalEnergy(dev, &mj) == kSuccess;
    if (lib->fieldValues) {
      nvmlFieldValue_t f{};
      f.fieldId = kFieldPowerInstant;
      g.instant_power = lib->fieldValues(dev, 1, &f) == kSuccess && f.nvmlReturn == kSuccess;
    }
    unsigned mw = 0;
    if (lib->powerLimit && lib->powerLimit(dev, &mw) == kSuccess) g.power_limit_w = mw / 1000.0;
    probe.gpus.push_back(std::move(g));
  }
  if (probe.gpus.empty()) probe.missing_reason = "NVML found no GPU";
  probe.library = std::move(lib);
  return probe;
}

std::vector<NvmlGpuInfo> select_gpus(const NvmlProbe& probe, const std::string& spec_in) {
  std::string spec = spec_in;
  bool from_env = false;
  if (spec == "none") return {};
  if (spec.empty() || spec == "all") {
    const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES");
    if (spec.empty() && cvd) {
      spec = cvd;
      from_env = true;
      if (spec.empty()) return {};  // CUDA_VISIBLE_DEVICES="" hides every GPU
    } else {
      return probe.gpus;
    }
  }
  std::vector<NvmlGpuInfo> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const NvmlGpuInfo* found = nullptr;
    for (const auto& g : probe.gpus) {
      if (item == std::to_string(g.index) || item == g.uuid ||
          (item.size() > 4 && g.uuid.rfind(item, 0) == 0))
        found = &g;
    }
    if (!found) {
      if (from_env) continue;  // CUDA may name MIG instances or GPUs NVML does not list
      throw UsageError(fmt::format(
          "--gpus {}: no GPU '{}' (this machine has {} GPU(s) visible to NVML{})", spec_in, item,
          probe.gpus.size(), probe.library ? "" : "; " + probe.missing_reason));
    }
    out.push_back(*found);
  }
  return out;
}

namespace {

class NvmlGpuMeter : public Meter {
 public:
  NvmlGpuMeter(std::shared_ptr<NvmlLibrary> lib, NvmlGpuInfo info, std::string driver,
               int full_every)
      : lib_(std::move(lib)),
        info_(std::move(info)),
        driver_(std::move(driver)),
        full_every_(std::max(1, full_every)) {
    lib_->handleByIndex(static_cast<unsigned>(info_.index), &dev_);
  }
  Component component() const override { return Component::gpu; }
  std::string device() const override { return std::to_string(info_.index); }
  Source source() const override { return Source::measured; }
  std::string model() const override {
    if (info_.energy_counter) return "nvml-energy-counter";
    return info_.instant_power ? "nvml-instant-power-integrated" : "nvml-power-usage-integrated";
  }
  // Cost per call measured on an H100 host (bench/sampler/RESULTS.md): the energy counter
  // about 3.3 ms of CPU, every other reading a few microseconds. So instant power is read
  // every sample, while the counter and the descriptive extras are read every --gpu-counter-ms (2
  // s) and at the window's first and last read: the window's energy (counter difference) stays
  // exact, and the sampler stays below 0.5 % of one core at 100 ms.
  Reading read() override { return read_gpu(tick_++ % full_every_ == 0); }
  // A window begins: the limits, clocks and persistence mode it runs under, and no throttle
  // reason seen yet.
  void begin() override {
    std::lock_guard lock(lib_->mu);
    settings_ = read_settings();
  }
  std::optional<GpuSettings> gpu_settings() const override {
    std::lock_guard lock(lib_->mu);
    return settings_;
  }
  Reading read_boundary() override { return read_gpu(true); }
  // The counter alone, for the session's edge tracker (energy/edges.h).
  std::optional<double> read_energy_counter() override {
    if (!info_.energy_counter) return std::nullopt;
    std::lock_guard lock(lib_->mu);
    unsigned long long mj = 0;
    if (lib_->totalEnergy(dev_, &mj) != kSuccess) return std::nullopt;
    return static_cast<double>(mj) / 1e3;
  }
  bool counter_steps() const override { return info_.energy_counter; }

  Reading read_gpu(bool full) {
    Reading r;
    std::lock_guard lock(lib_->mu);
    if (info_.energy_counter && full) {
      unsigned long long mj = 0;
      if (lib_->totalEnergy(dev_, &mj) == kSuccess) r.energy_j = static_cast<double>(mj) / 1e3;
    }
    bool have_power = false;
    if (info_.instant_power) {
      nvmlFieldValue_t f{};
      f.fieldId = kFieldPowerInstant;
      if (lib_->fieldValues(dev_, 1, &f) == kSuccess && f.nvmlReturn == kSuccess) {
        r.power_w = field_value(f) / 1e3;
        have_power = true;
      }
    }
    unsigned mw = 0;
    if (!have_power && lib_->powerUsage(dev_, &mw) == kSuccess) r.power_w = mw / 1e3;
    if (!full) return r;
    unsigned v = 0;
    if (lib_->clockInfo && lib_->clockInfo(dev_, kClockSm, &v) == kSuccess) r.sm_clock_mhz = v;
    if (lib_->temperature && lib_->temperature(dev_, kTemperatureGpu, &v) == kSuccess)
      r.temperature_c = v;
    nvmlUtilization_t u{};
    if (lib_->utilization && lib_->utilization(dev_, &u) == kSuccess) r.utilization_pct = u.gpu;
    nvmlMemory_t m{};
    if (lib_->memoryInfo && lib_->memoryInfo(dev_, &m) == kSuccess)
      r.memory_used_mb = static_cast<double>(m.used) / (1024.0 * 1024.0);
    unsigned long long reasons = 0;
    if (lib_->throttleReasons && lib_->throttleReasons(dev_, &reasons) == kSuccess)
      settings_.throttle_reasons = settings_.throttle_reasons.value_or(0) | reasons;
    return r;
  }

  // Each value NVML gives (milliwatts become watts); the others stay unknown. Under lib_->mu.
  GpuSettings read_settings() const {
    GpuSettings g;
    g.device = std::to_string(info_.index);
    g.uuid = info_.uuid;
    g.name = info_.name;
    auto watts = [](unsigned mw) { return mw / 1e3; };
    unsigned v = 0, w = 0;
    if (lib_->powerLimit && lib_->powerLimit(dev_, &v) == kSuccess) g.power_limit_w = watts(v);
    if (lib_->defaultLimit && lib_->defaultLimit(dev_, &v) == kSuccess)
      g.default_power_limit_w = watts(v);
    if (lib_->limitConstraints && lib_->limitConstraints(dev_, &v, &w) == kSuccess) {
      g.min_power_limit_w = watts(v);
      g.max_power_limit_w = watts(w);
    }
    // The SM clock, or the graphics clock (the same domain on current boards) where a driver
    // reports no SM figure.
    auto clock = [&](auto fn, std::initializer_list<int> types) -> std::optional<double> {
      unsigned mhz = 0;
      for (int type : types)
        if (fn && fn(dev_, type, &mhz) == kSuccess) return mhz;
      return std::nullopt;
    };
    g.app_sm_clock_mhz = clock(lib_->applicationsClock, {kClockSm, kClockGraphics});
    g.app_memory_clock_mhz = clock(lib_->applicationsClock, {kClockMem});
    g.max_sm_clock_mhz = clock(lib_->maxClock, {kClockSm, kClockGraphics});
    g.max_memory_clock_mhz = clock(lib_->maxClock, {kClockMem});
    int mode = 0;
    if (lib_->persistenceMode && lib_->persistenceMode(dev_, &mode) == kSuccess)
      g.persistence_mode = mode != 0;
    return g;
  }
  nlohmann::json environment() const override {
    nlohmann::json j = {{"index", info_.index},
                        {"name", info_.name},
                        {"uuid", info_.uuid},
                        {"pci_bus_id", info_.pci_bus_id},
                        {"driver", driver_},
                        {"energy_counter", info_.energy_counter},
                        {"instant_power_field", info_.instant_power}};
    j["power_limit_w"] = info_.power_limit_w ? nlohmann::json(*info_.power_limit_w) : nullptr;
    return j;
  }

 private:
  std::shared_ptr<NvmlLibrary> lib_;
  NvmlGpuInfo info_;
  std::string driver_;
  nvmlDevice_t dev_ = nullptr;
  int full_every_ = 1;
  long tick_ = 0;
  GpuSettings settings_;  // of the current window; under lib_->mu
};

}  // namespace

std::unique_ptr<Meter> make_nvml_meter(const NvmlProbe& probe, const NvmlGpuInfo& gpu,
                                       int interval_ms, int counter_ms) {
  const int interval = std::max(1, interval_ms);
  const int every = std::max(1, (std::max(interval, counter_ms) + interval - 1) / interval);
  return std::make_unique<NvmlGpuMeter>(probe.library, gpu, probe.driver, every);
}

}  // namespace gt::energy
