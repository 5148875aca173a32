// The search for libcudnn.so.9 (see cudnn_locate.h): the list of places, then dlopen and the
// version check at each until one is usable.
#include "engine/cuda/cudnn_locate.h"

#include <dlfcn.h>
#include <glob.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

namespace gt::engine::cuda {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSoname = "libcudnn.so.9";
constexpr const char* kWheelFolder = "nvidia/cudnn/lib";
constexpr size_t kFirstVersion9 = 90000;  // cudnnGetVersion() of 9.0.0

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Every existing folder matching the glob `pattern`, in sorted order.
std::vector<std::string> existing_folders(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t matches{};
  if (glob(pattern.c_str(), GLOB_ONLYDIR, nullptr, &matches) == 0)
    for (size_t i = 0; i < matches.gl_pathc; ++i) {
      std::error_code ec;
      if (fs::is_directory(matches.gl_pathv[i], ec)) out.emplace_back(matches.gl_pathv[i]);
    }
  globfree(&matches);
  return out;
}

// A folder's identity for de-duplication: its path with symbolic links resolved.
std::string identity(const std::string& folder) {
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(folder, ec);
  return ec ? folder : resolved.string();
}

// The installation prefixes of the Python interpreters on `path_env`: the folder above each
// interpreter's bin/ as found on PATH (a virtual environment) and as resolved (the base install).
std::vector<std::string> python_prefixes(const std::string& path_env) {
  static const std::regex interpreter(R"(python(3(\.[0-9]+)?)?)");
  std::vector<std::string> prefixes;
  std::stringstream dirs(path_env);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    std::vector<fs::path> found;
    for (; !ec && it != end; it.increment(ec))
      if (std::regex_match(it->path().filename().string(), interpreter))
        found.push_back(it->path());
    std::sort(found.begin(), found.end());
    for (const fs::path& file : found) {
      if (access(file.c_str(), X_OK) != 0) continue;
      prefixes.push_back(file.parent_path().parent_path().string());
      std::error_code rc;
      const fs::path real = fs::canonical(file, rc);
      if (!rc) prefixes.push_back(real.parent_path().parent_path().string());
    }
  }
  return prefixes;
}

}  // namespace

CudnnSearchInputs cudnn_search_inputs() {
  CudnnSearchInputs in;
  if (const char* lib = std::getenv("GREENTRAIN_CUDNN_LIB"); lib && *lib) in.env_library = lib;
  for (const char* var : {"CUDA_HOME", "CUDA_PATH"})
    if (const std::string root = env_or_empty(var); !root.empty()) {
      in.toolkit_dirs.push_back(root + "/lib64");
      in.toolkit_dirs.push_back(root + "/lib");
    }
#ifdef GREENTRAIN_CUDA_LIBRARY_DIR
  in.toolkit_dirs.emplace_back(GREENTRAIN_CUDA_LIBRARY_DIR);
#endif
#if defined(__aarch64__)
  const std::string target = "sbsa-linux";
#else
  const std::string target = "x86_64-linux";
#endif
  in.toolkit_dirs.emplace_back("/usr/local/cuda/lib64");
  in.toolkit_dirs.emplace_back("/usr/local/cuda/lib");
  in.toolkit_dirs.push_back("/usr/local/cuda/targets/" + target + "/lib");
  in.path_env = env_or_empty("PATH");
  if (const std::string home = env_or_empty("HOME"); !home.empty()) {
    in.site_patterns.push_back(home + "/.local/lib/python3*/site-packages");
    in.site_patterns.push_back(home + "/.pyenv/versions/*/lib/python3*/site-packages");
  }
  in.site_patterns.emplace_back("/usr/lib/python3/dist-packages");
  in.site_patterns.emplace_back("/usr/local/lib/python3*/dist-packages");
  in.site_patterns.emplace_back("/opt/conda/lib/python3*/site-packages");
  return in;
}

std::vector<CudnnCandidate> cudnn_candidates(const CudnnSearchInputs& in) {
  std::vector<CudnnCandidate> out;
  if (!in.env_library) {
    out.push_back({"GREENTRAIN_CUDNN_LIB", "", "not set"});
  } else {
    std::error_code ec;
    const bool folder = fs::is_directory(*in.env_library, ec);
    out.push_back(
        {"GREENTRAIN_CUDNN_LIB", folder ? *in.env_library + "/" + kSoname : *in.env_library, ""});
  }
  if (in.loader_paths) out.push_back({"dynamic loader", kSoname, ""});

  std::set<std::string> seen;
  const size_t toolkit_start = out.size();
  for (const std::string& dir : in.toolkit_dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec) || !seen.insert(identity(dir)).second) continue;
    out.push_back({"CUDA toolkit", dir + "/" + kSoname, ""});
  }
  if (out.size() == toolkit_start && !in.toolkit_dirs.empty()) {
    std::string tried;
    for (const std::string& dir : in.toolkit_dirs) tried += (tried.empty() ? "" : ", ") + dir;
    out.push_back({"CUDA toolkit", "", "no library folder exists (" + tried + ")"});
  }

  std::vector<std::string> patterns;
  for (const std::string& prefix : python_prefixes(in.path_env))
    for (const char* lib : {"/lib/python3*/site-packages", "/lib/python3*/dist-packages",
                            "/lib64/python3*/site-packages"})
      patterns.push_back(prefix + lib);
  patterns.insert(patterns.end(), in.site_patterns.begin(), in.site_patterns.end());
  const size_t wheel_start = out.size();
  for (const std::string& pattern : patterns)
    for (const std::string& site : existing_folders(pattern))
      if (seen.insert(identity(site)).second)
        out.push_back({"Python wheel", site + "/" + kWheelFolder + "/" + kSoname, ""});
  if (out.size() == wheel_start)
    out.push_back({"Python wheel", "",
                   "no site-packages folder found (Python on PATH, ~/.local, ~/.pyenv, "
                   "/usr/lib/python3, /usr/local/lib/python3*, /opt/conda)"});
  return out;
}

std::string CudnnAttempt::line() const {
  return candidate.place + (candidate.path.empty() ? "" : " " + candidate.path) + ": " + outcome;
}

std::string LocatedCudnn::failure() const {
  std::string text =
      "no usable cuDNN 9 (the CUDA backend's CNN path needs one; set "
      "GREENTRAIN_CUDNN_LIB to libcudnn.so.9 or its folder):";
  for (size_t i = 0; i < attempts.size(); ++i) text += (i == 0 ? " " : "; ") + attempts[i].line();
  return text;
}

std::string cudnn_version_text(size_t v) {
  const bool nine_or_newer = v >= kFirstVersion9;
  const size_t major = nine_or_newer ? v / 10000 : v / 1000;
  const size_t minor = nine_or_newer ? v / 100 % 100 : v / 100 % 10;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(v % 100);
}

LocatedCudnn locate_cudnn(const std::vector<CudnnCandidate>& candidates,
                          const std::function<std::string(void*, size_t)>& accept) {
  LocatedCudnn found;
  for (const CudnnCandidate& c : candidates) {
    CudnnAttempt& attempt = found.attempts.emplace_back(CudnnAttempt{c, ""});
    if (!c.nothing.empty()) {
      attempt.outcome = c.nothing;
      continue;
    }
    const bool by_name = c.path.find('/') == std::string::npos;
    std::error_code ec;
    if (!by_name && !fs::exists(c.path, ec)) {
      attempt.outcome = "not found";
      continue;
    }
    dlerror();
    void* lib = dlopen(c.path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = dlerror();
      const std::string text = why ? why : "unknown dlopen error";
      if (by_name && text.find("cannot open shared object file") != std::string::npos)
        attempt.outcome = "not found (LD_LIBRARY_PATH, ldconfig's cache, the default folders)";
      else
        attempt.outcome = "cannot be loaded: " + text;
      continue;
    }
    using GetVersion = size_t (*)();
    const auto get_version = reinterpret_cast<GetVersion>(dlsym(lib, "cudnnGetVersion"));
    if (!get_version) {
      attempt.outcome = "not a cuDNN library (it has no cudnnGetVersion)";
      dlclose(lib);
      continue;
    }
    const size_t version = get_version();
    if (version < kFirstVersion9) {
      attempt.outcome =
          "cuDNN " + cudnn_version_text(version) + " is too old (9.0 or newer needed)";
      dlclose(lib);
      continue;
    }
    if (std::string why = accept(lib, version); !why.empty()) {
      attempt.outcome = "cuDNN " + cudnn_version_text(version) + " " + why;
      dlclose(lib);
      continue;
    }
    found.library = lib;
    found.version = version;
    found.path = c.path;
    link_map* map = nullptr;
    if (dlinfo(lib, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name)
      found.path = map->l_name;
    attempt.outcome = "used (cuDNN " + cudnn_version_text(version) + ")";
    return found;
  }
  return found;
}

}  // namespace gt::engine::cuda
