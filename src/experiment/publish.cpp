// Publishing a results database (see publish.h).
#include "experiment/publish.h"

#include <fmt/core.h>

#include <filesystem>

#include "common/error.h"

namespace gt::experiment {
namespace fs = std::filesystem;

void publish_database(const Store& store, const std::string& path) {
  const fs::path target(path);
  const fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".publishing");
  std::error_code ec;
  fs::remove(tmp, ec);
  std::string quoted;
  for (char c : tmp.string()) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  store.db().exec(fmt::format("VACUUM INTO '{}'", quoted));
  fs::rename(tmp, target, ec);
  if (ec) throw gt::Error(fmt::format("cannot publish the database to {}: {}", path, ec.message()));
}

bool restore_published(const std::string& live, const std::string& published) {
  if (published.empty() || fs::exists(live) || !fs::exists(published)) return false;
  std::error_code ec;
  for (const char* suffix : {"-wal", "-shm"}) fs::remove(live + suffix, ec);
  if (!fs::path(live).parent_path().empty()) fs::create_directories(fs::path(live).parent_path());
  fs::copy_file(published, live, ec);
  if (ec)
    throw gt::Error(
        fmt::format("cannot copy {} to {} to resume from it: {}", published, live, ec.message()));
  return true;
}

}  // namespace gt::experiment
