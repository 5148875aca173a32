// The autotune file of the cuDNN path (see cudnn_autotune.h).
#include "engine/cuda/cudnn_autotune.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace gt::engine::cuda {
namespace {

constexpr const char* kMagic = "# greentrain cuDNN autotune v1";
constexpr const char* kContext = "# context: ";

}  // namespace

AutotuneFile::AutotuneFile(std::string path, std::string context)
    : path_(std::move(path)), context_(std::move(context)) {
  std::error_code ec;
  if (path_.empty() || !std::filesystem::exists(path_, ec)) return;
  std::ifstream in(path_);
  if (!in || std::filesystem::is_directory(path_, ec))
    throw gt::Error("cannot read the cuDNN autotune file " + path_ +
                    (std::filesystem::is_directory(path_, ec)
                         ? ": it is a folder"
                         : ": " + std::string(std::strerror(errno))));
  std::string line;
  if (!std::getline(in, line) || line != kMagic) {
    note_ = path_ + " is not a greentrain cuDNN autotune file; it will be replaced";
    return;
  }
  if (!std::getline(in, line) || line != kContext + context_) {
    note_ = path_ + " was tuned for another GPU or cuDNN (" +
            (line.rfind(kContext, 0) == 0 ? line.substr(std::strlen(kContext)) : "unknown") +
            "); tuning again";
    return;
  }
  while (std::getline(in, line)) {
    const size_t a = line.find('\t');
    const size_t b = a == std::string::npos ? a : line.find('\t', a + 1);
    if (b == std::string::npos || a == 0 || b == a + 1) continue;
    Choice c;
    c.engine = line.substr(a + 1, b - a - 1);
    char* end = nullptr;
    const std::string ms = line.substr(b + 1);
    c.milliseconds = std::strtod(ms.c_str(), &end);
    if (ms.empty() || *end != '\0') continue;
    choices_[line.substr(0, a)] = c;
  }
}

std::optional<std::string> AutotuneFile::choice(const std::string& key) const {
  const auto it = choices_.find(key);
  if (it == choices_.end()) return std::nullopt;
  return it->second.engine;
}

void AutotuneFile::record(const std::string& key, const std::string& engine, double milliseconds) {
  for (const std::string* field : {&key, &engine})
    if (field->find_first_of("\t\n") != std::string::npos)
      throw gt::Error("cuDNN autotune: a key or engine holds a tab or newline: " + *field);
  choices_[key] = {engine, milliseconds};
  if (path_.empty()) return;  // choices for this process only
  std::ostringstream text;
  text << kMagic << "\n" << kContext << context_ << "\n";
  for (const auto& [k, c] : choices_)
    text << k << "\t" << c.engine << "\t" << c.milliseconds << "\n";
  const std::string temporary = path_ + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!(out << text.str()) || !out.flush())
      throw gt::Error("cannot write the cuDNN autotune file " + temporary + ": " +
                      std::strerror(errno));
  }
  if (std::rename(temporary.c_str(), path_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(temporary.c_str());
    throw gt::Error("cannot write the cuDNN autotune file " + path_ + ": " + why);
  }
}

}  // namespace gt::engine::cuda
