// Test support: source, build and binary locations (see locations.h). The fallbacks are
// compile definitions set by tests/common/CMakeLists.txt.
#include "locations.h"

#include <cstdlib>
#include <stdexcept>

namespace gt::testing {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

std::filesystem::path source_dir() {
  return env_or("GREENTRAIN_SOURCE_DIR", GREENTRAIN_TEST_SOURCE_DIR);
}

std::filesystem::path build_dir() {
  return env_or("GREENTRAIN_BUILD_DIR", GREENTRAIN_TEST_BUILD_DIR);
}

std::string greentrain_binary() {
  const std::string binary = env_or("GREENTRAIN_BINARY", GREENTRAIN_TEST_BINARY);
  if (!std::filesystem::exists(binary))
    throw std::runtime_error("no greentrain binary at " + binary + ": build the greentrain target");
  return binary;
}

}  // namespace gt::testing
