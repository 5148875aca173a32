// Test support: a temporary folder removed with everything in it when the test ends, and the
// small file helpers tests use to fill and read it. Every test that needs scratch files uses
// this one class, so no test writes to a fixed path that a parallel test could also use.
#pragma once
#include <filesystem>
#include <string>

namespace gt::testing {

class TempDir {
 public:
  // Creates a fresh folder under the system's temporary directory, named prefix-XXXXXX.
  explicit TempDir(const std::string& prefix = "greentrain-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // The path of `name` inside the folder (the file need not exist).
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `text` to `path`, creating missing parent folders; throws when it cannot.
void write_file(const std::filesystem::path& path, const std::string& text);
// The whole content of `path`; throws when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace gt::testing
