// Default file reader for sysfs and /proc (see sysfs.h).
#include "energy/sysfs.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace gt::energy {

FileRead read_text_file(const std::string& path) {
  errno = 0;
  std::ifstream in(path);
  if (!in) return {std::nullopt, errno ? errno : ENOENT};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return {std::nullopt, errno ? errno : EIO};
  return {ss.str(), 0};
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string proc_root() { return env_or("GREENTRAIN_PROC_ROOT", "/proc"); }

}  // namespace gt::energy
