// A temporary directory owned by one test process (mkdtemp), removed when the process exits.
// CTest runs each test as its own process, several at once (-j): files under a fixed /tmp name
// would be written by one test while another reads them.
#pragma once
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace gt::testing_support {

inline const std::filesystem::path& process_temp_dir() {
  static const struct Dir {
    std::filesystem::path path;
    Dir() {
      std::string t = (std::filesystem::temp_directory_path() / "greentrain-test-XXXXXX").string();
      if (mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + t);
      path = t;
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } dir;
  return dir.path;
}

}  // namespace gt::testing_support
