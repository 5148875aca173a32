// Host part of the environment snapshot (see environment.h); the runner adds the energy
// session's own description under "energy".
#include "experiment/environment.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
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

}  // namespace gt::experiment
