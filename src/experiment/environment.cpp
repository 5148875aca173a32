// Host part of the environment snapshot (see environment.h); the runner adds the energy
// session's own description under "energy". And run provenance: CUDA_VISIBLE_DEVICES resolved
// to NVML boards by UUID, Slurm ids from the environment.
#include "experiment/environment.h"

#include <fmt/core.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "greentrain_version.h"

namespace gt::experiment {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

nlohmann::json host_environment() {
  nlohmann::json j;
  j["greentrain_version"] = GREENTRAIN_VERSION;
  j["cuda_build"] = static_cast<bool>(GREENTRAIN_HAVE_CUDA);
  j["host"] = host_name();
  utsname u{};
  if (uname(&u) == 0)
    j["os"] = std::string(u.sysname) + " " + u.release + " " + u.version + " " + u.machine;
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);)
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) j["cpu_model"] = line.substr(pos + 2);
      break;
    }
  j["cpu_cores"] = std::thread::hardware_concurrency();
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0)
    j["ram_bytes"] = static_cast<double>(pages) * static_cast<double>(page);
  std::ifstream osr("/etc/os-release");
  for (std::string line; std::getline(osr, line);)
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      auto v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      j["os_release"] = v;
    }
  return j;
}

namespace {

std::string env_or(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

bool is_uuid(const std::string& s) { return s.rfind("GPU-", 0) == 0 || s.rfind("MIG-", 0) == 0; }

const energy::NvmlGpuInfo* by_uuid(const energy::NvmlProbe& probe, const std::string& uuid) {
  for (const auto& g : probe.gpus)
    if (g.uuid == uuid || (uuid.size() > 8 && g.uuid.rfind(uuid, 0) == 0)) return &g;
  return nullptr;
}

}  // namespace

VisibleGpus resolve_visible_gpus(const energy::NvmlProbe& probe,
                                 const std::optional<std::string>& cvd, const CudaUuids& cuda) {
  VisibleGpus out;
  if (!cvd) {
    out.gpus = probe.gpus;
    out.mapping = "all";
    return out;
  }
  std::vector<std::string> items;
  std::stringstream ss(*cvd);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) items.push_back(item);
  if (items.empty() || items.front() == "NoDevFiles" || items.front() == "-1") {
    out.mapping = "none";
    return out;
  }
  bool all_uuids = true;
  for (const auto& i : items) all_uuids &= is_uuid(i);
  std::vector<std::string> missing;
  if (all_uuids) {
    out.mapping = "uuid";
    for (const auto& i : items) {
      if (auto* g = by_uuid(probe, i))
        out.gpus.push_back(*g);
      else
        missing.push_back(i);
    }
  } else if (cuda.available) {
    out.mapping = "cuda-driver";
    for (const auto& u : cuda.uuids) {
      if (auto* g = by_uuid(probe, u))
        out.gpus.push_back(*g);
      else
        missing.push_back(u);
    }
  } else {
    out.mapping = "nvml-index";
    for (const auto& i : items) {
      const energy::NvmlGpuInfo* found = nullptr;
      for (const auto& g : probe.gpus)
        if (std::to_string(g.index) == i) found = &g;
      if (found)
        out.gpus.push_back(*found);
      else
        missing.push_back(i);
    }
    if (env_or("CUDA_DEVICE_ORDER") != "PCI_BUS_ID" && !probe.gpus.empty())
      out.note = fmt::format(
          "CUDA_VISIBLE_DEVICES={} taken as NVML indices ({}); that is the board CUDA uses only "
          "with CUDA_DEVICE_ORDER=PCI_BUS_ID",
          *cvd, cuda.reason.empty() ? "no CUDA driver" : cuda.reason);
  }
  if (!missing.empty() && !probe.gpus.empty()) {
    std::string m;
    for (const auto& x : missing) m += (m.empty() ? "" : ",") + x;
    out.note += fmt::format("{}CUDA_VISIBLE_DEVICES entries not found by NVML: {}",
                            out.note.empty() ? "" : "; ", m);
  }
  return out;
}

VisibleGpus resolve_visible_gpus(const energy::NvmlProbe& probe) {
  std::optional<std::string> cvd;
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) cvd = v;
  CudaUuids cuda;
  bool need_driver = false;
  if (cvd && !probe.gpus.empty()) {
    std::stringstream ss(*cvd);
    for (std::string item; std::getline(ss, item, ',');)
      need_driver |= !item.empty() && !is_uuid(item);
  }
  if (need_driver) cuda = cuda_visible_uuids();
  return resolve_visible_gpus(probe, cvd, cuda);
}

std::string uuid_list(const std::vector<energy::NvmlGpuInfo>& gpus) {
  std::string out;
  for (const auto& g : gpus) out += (out.empty() ? "" : ",") + g.uuid;
  return out;
}

RunProvenance current_provenance(const VisibleGpus& v) {
  RunProvenance p;
  p.host = host_name();
  p.node = env_or("SLURMD_NODENAME", p.host);
  for (const auto& g : v.gpus) {
    const char* sep = p.gpu_uuid.empty() ? "" : ",";
    p.gpu_uuid += sep + g.uuid;
    p.gpu_pci_bus_id += sep + g.pci_bus_id;
    p.gpu_name += sep + g.name;
  }
  p.gpu_mapping = v.mapping;
  p.cuda_visible_devices = env_or("CUDA_VISIBLE_DEVICES");
  p.slurm_job_id = env_or("SLURM_JOB_ID");
  p.slurm_array_job_id = env_or("SLURM_ARRAY_JOB_ID");
  p.slurm_array_task_id = env_or("SLURM_ARRAY_TASK_ID");
  return p;
}

}  // namespace gt::experiment
