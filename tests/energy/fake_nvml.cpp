// A fake libnvidia-ml.so.1 for the tests, loaded through GREENTRAIN_NVML_LIB. Each nvmlInit_v2
// reads the script named by GREENTRAIN_FAKE_NVML (key=value lines):
//   init_error=N  driver=STR  gpus=N
//   gpuI.name=STR gpuI.uuid=STR gpuI.power_w=W (constant) gpuI.instant_w=W (power field value)
//   gpuI.energy=0|1 (counter supported) gpuI.energy_start_mj=N gpuI.instant=0|1
//   gpuI.power_error=N (nvmlDeviceGetPowerUsage fails with N) gpuI.power_limit_w=W
//   gpuI.pci=STR (PCI bus id; default 00000000:0I:00.0)
//   gpuI.step_ms=N (the counter advances only every N ms, like a real one's ~100 ms updates)
//   gpuI.read_ms=N (each energy counter read takes N ms, like a real one's ~4 ms)
//   Settings (read-only): gpuI.default_limit_w=W gpuI.min_limit_w=W gpuI.max_limit_w=W
//   gpuI.app_sm_mhz=N gpuI.app_mem_mhz=N gpuI.max_sm_mhz=N gpuI.max_mem_mhz=N
//   gpuI.persistence=0|1 gpuI.settings_error=N (every settings call fails with N)
//   gpuI.no_sm_clock=1 (SM clocks not supported: the graphics clock, type 0, answers instead)
//   gpuI.throttle=MASK (clock-throttle reason bits, decimal) and, after gpuI.throttle_after_ms
//   since nvmlInit, gpuI.throttle_late=MASK instead
// The energy counter advances as power_w × time since nvmlInit, like a real GPU at constant
// power, so counter energy and integrated power must agree.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>

namespace {
std::map<std::string, std::string> g_script;
std::chrono::steady_clock::time_point g_t0;
struct FakeDevice {
  int index;
};
FakeDevice g_devices[8] = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};

std::string get(const std::string& key, const std::string& fallback) {
  auto it = g_script.find(key);
  return it == g_script.end() ? fallback : it->second;
}
double num(const std::string& key, double fallback) {
  auto it = g_script.find(key);
  return it == g_script.end() ? fallback : std::atof(it->second.c_str());
}
std::string gpu_key(void* dev, const char* what) {
  return "gpu" + std::to_string(static_cast<FakeDevice*>(dev)->index) + "." + what;
}
double elapsed_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - g_t0).count();
}
}  // namespace

extern "C" {

struct FakeField {
  unsigned int fieldId, scopeId;
  long long timestamp, latencyUsec;
  int valueType, nvmlReturn;
  union {
    double d;
    unsigned int ui;
    unsigned long long ull;
  } value;
};
struct FakePci {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
};
struct FakeUtil {
  unsigned int gpu, memory;
};
struct FakeMem {
  unsigned long long total, free, used;
};

int nvmlInit_v2() {
  g_script.clear();
  if (const char* path = std::getenv("GREENTRAIN_FAKE_NVML")) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (eq != std::string::npos) g_script[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  g_t0 = std::chrono::steady_clock::now();
  return static_cast<int>(num("init_error", 0));
}
int nvmlShutdown() { return 0; }
const char* nvmlErrorString(int rc) {
  switch (rc) {
    case 3:
      return "Not Supported";
    case 9:
      return "Driver Not Loaded";
    case 999:
      return "Unknown Error";
    default:
      return "Fake Error";
  }
}
int nvmlSystemGetDriverVersion(char* buf, unsigned len) {
  std::strncpy(buf, get("driver", "999.99").c_str(), len - 1);
  return 0;
}
int nvmlDeviceGetCount_v2(unsigned* n) {
  *n = static_cast<unsigned>(num("gpus", 0));
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void** dev) {
  if (i >= num("gpus", 0) || i >= 8) return 2;  // invalid argument
  *dev = &g_devices[i];
  return 0;
}
int nvmlDeviceGetName(void* dev, char* buf, unsigned len) {
  std::strncpy(buf, get(gpu_key(dev, "name"), "Fake GPU").c_str(), len - 1);
  return 0;
}
int nvmlDeviceGetUUID(void* dev, char* buf, unsigned len) {
  std::string def = "GPU-fake-" + std::to_string(static_cast<FakeDevice*>(dev)->index);
  std::strncpy(buf, get(gpu_key(dev, "uuid"), def).c_str(), len - 1);
  return 0;
}
int nvmlDeviceGetPciInfo_v3(void* dev, FakePci* p) {
  const int i = static_cast<FakeDevice*>(dev)->index;
  std::memset(p, 0, sizeof *p);
  std::string id = get(gpu_key(dev, "pci"), "00000000:0" + std::to_string(i) + ":00.0");
  std::strncpy(p->busId, id.c_str(), sizeof p->busId - 1);
  p->bus = static_cast<unsigned>(i);
  return 0;
}
int nvmlDeviceGetTotalEnergyConsumption(void* dev, unsigned long long* mj) {
  if (num(gpu_key(dev, "energy"), 1) == 0) return 3;  // not supported
  if (const double read_ms = num(gpu_key(dev, "read_ms"), 0); read_ms > 0)
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(read_ms));
  double t = elapsed_s();
  if (const double step = num(gpu_key(dev, "step_ms"), 0) / 1e3; step > 0)
    t = step * static_cast<double>(static_cast<long long>(t / step));
  *mj = static_cast<unsigned long long>(num(gpu_key(dev, "energy_start_mj"), 0) +
                                        num(gpu_key(dev, "power_w"), 100) * t * 1e3);
  return 0;
}
int nvmlDeviceGetPowerUsage(void* dev, unsigned* mw) {
  if (int e = static_cast<int>(num(gpu_key(dev, "power_error"), 0))) return e;
  *mw = static_cast<unsigned>(num(gpu_key(dev, "power_w"), 100) * 1e3);
  return 0;
}
int nvmlDeviceGetFieldValues(void* dev, int count, FakeField* f) {
  for (int i = 0; i < count; ++i) {
    if (f[i].fieldId != 186 || num(gpu_key(dev, "instant"), 0) == 0) {
      f[i].nvmlReturn = 3;
      continue;
    }
    f[i].nvmlReturn = 0;
    f[i].valueType = 1;  // unsigned int, mW
    f[i].value.ui = static_cast<unsigned>(
        num(gpu_key(dev, "instant_w"), num(gpu_key(dev, "power_w"), 100)) * 1e3);
  }
  return 0;
}
int nvmlDeviceGetClockInfo(void*, int, unsigned* v) {
  *v = 1410;
  return 0;
}
int nvmlDeviceGetTemperature(void*, int, unsigned* v) {
  *v = 55;
  return 0;
}
int nvmlDeviceGetUtilizationRates(void*, FakeUtil* u) {
  u->gpu = 97;
  u->memory = 40;
  return 0;
}
int nvmlDeviceGetMemoryInfo(void*, FakeMem* m) {
  m->total = 80ull << 30;
  m->used = 1ull << 30;
  m->free = m->total - m->used;
  return 0;
}
int nvmlDeviceGetEnforcedPowerLimit(void* dev, unsigned* mw) {
  *mw = static_cast<unsigned>(num(gpu_key(dev, "power_limit_w"), 700) * 1e3);
  return 0;
}

}  // extern "C"

// ---- Settings (power limits, clocks, persistence, throttle reasons) ----

extern "C" {

int nvmlDeviceGetPowerManagementDefaultLimit(void* dev, unsigned* mw) {
  if (int e = static_cast<int>(num(gpu_key(dev, "settings_error"), 0))) return e;
  *mw = static_cast<unsigned>(num(gpu_key(dev, "default_limit_w"), 700) * 1e3);
  return 0;
}
int nvmlDeviceGetPowerManagementLimitConstraints(void* dev, unsigned* min_mw, unsigned* max_mw) {
  if (int e = static_cast<int>(num(gpu_key(dev, "settings_error"), 0))) return e;
  *min_mw = static_cast<unsigned>(num(gpu_key(dev, "min_limit_w"), 200) * 1e3);
  *max_mw = static_cast<unsigned>(num(gpu_key(dev, "max_limit_w"), 700) * 1e3);
  return 0;
}
int nvmlDeviceGetApplicationsClock(void* dev, int type, unsigned* mhz) {
  if (type == 1 && num(gpu_key(dev, "no_sm_clock"), 0) != 0) return 3;
  if (int e = static_cast<int>(num(gpu_key(dev, "settings_error"), 0))) return e;
  *mhz = static_cast<unsigned>(type == 2 ? num(gpu_key(dev, "app_mem_mhz"), 2619)
                                         : num(gpu_key(dev, "app_sm_mhz"), 1755));
  return 0;
}
int nvmlDeviceGetMaxClockInfo(void* dev, int type, unsigned* mhz) {
  if (type == 1 && num(gpu_key(dev, "no_sm_clock"), 0) != 0) return 3;
  if (int e = static_cast<int>(num(gpu_key(dev, "settings_error"), 0))) return e;
  *mhz = static_cast<unsigned>(type == 2 ? num(gpu_key(dev, "max_mem_mhz"), 2619)
                                         : num(gpu_key(dev, "max_sm_mhz"), 1980));
  return 0;
}
int nvmlDeviceGetPersistenceMode(void* dev, int* mode) {
  if (int e = static_cast<int>(num(gpu_key(dev, "settings_error"), 0))) return e;
  *mode = static_cast<int>(num(gpu_key(dev, "persistence"), 1));
  return 0;
}
int nvmlDeviceGetCurrentClocksEventReasons(void* dev, unsigned long long* mask) {
  if (int e = static_cast<int>(num(gpu_key(dev, "settings_error"), 0))) return e;
  const double after = num(gpu_key(dev, "throttle_after_ms"), -1);
  const bool late = after >= 0 && elapsed_s() * 1e3 >= after;
  *mask =
      static_cast<unsigned long long>(num(gpu_key(dev, late ? "throttle_late" : "throttle"), 0));
  return 0;
}

}  // extern "C"
