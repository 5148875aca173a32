// Reading small text files (sysfs, /proc) through an injectable reader, so tests can simulate
// an unreadable file even when they run as root (where permission bits prove nothing).
#pragma once
#include <functional>
#include <optional>
#include <string>

namespace gt::energy {

struct FileRead {
  std::optional<std::string> text;  // empty optional = failed, see err
  int err = 0;                      // errno of the failure
};
using FileReader = std::function<FileRead(const std::string& path)>;

FileRead read_text_file(const std::string& path);  // the real reader
std::string env_or(const char* name, const std::string& fallback);
std::string proc_root();  // $GREENTRAIN_PROC_ROOT, or /proc when unset or empty

}  // namespace gt::energy
