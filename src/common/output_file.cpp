// Safe replacement of output files (see output_file.h): checks with lstat, a mkstemp temporary
// in the target's directory, fsync, rename.
#include "common/output_file.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/error.h"

namespace gt {
namespace {
namespace fs = std::filesystem;

const char* kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The same file: same device and inode when both exist, else the same normalised absolute path.
bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  if (stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  std::error_code ec;
  const auto na = fs::weakly_canonical(fs::absolute(a, ec), ec);
  const auto nb = fs::weakly_canonical(fs::absolute(b, ec), ec);
  return !ec && na == nb;
}

}  // namespace

void write_output_file(const std::string& path, std::string_view content,
                       const std::vector<std::string>& protected_paths) {
  if (path.empty()) throw Error("output file: empty path");
  if (path.find('\0') != std::string::npos) throw Error("output file: path contains a NUL byte");
  for (const auto& p : protected_paths) {
    if (p.empty()) continue;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      if (same_file(path, p + suffix))
        throw Error(
            fmt::format("{}: is the results database {}{}; refusing to overwrite it "
                        "(choose another output path)",
                        path, p, suffix));
    }
  }
  struct stat st {};
  const bool exists = lstat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode))
    throw Error(fmt::format("{}: is {}; refusing to replace it (write to a regular file)", path,
                            kind_of(st.st_mode)));
  fs::path target(path);
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  struct stat dst {};
  if (stat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode))
    throw Error(fmt::format("{}: directory '{}' does not exist", path, dir.string()));

  std::string tmp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = mkstemp(tmp.data());
  if (fd < 0)
    throw Error(fmt::format("{}: cannot create a file in '{}': {}", path, dir.string(),
                            std::strerror(errno)));
  auto fail = [&](const std::string& what) {
    const int err = errno;
    close(fd);
    unlink(tmp.c_str());
    throw Error(fmt::format("{}: {}: {}", path, what, std::strerror(err)));
  };
  // Keep an existing file's permissions; a new one gets the usual 0666 less the umask.
  mode_t mode = 0;
  if (exists) {
    mode = st.st_mode & 07777;
  } else {
    const mode_t mask = umask(0);
    umask(mask);
    mode = 0666 & ~mask;
  }
  if (fchmod(fd, mode) != 0) fail("cannot set permissions");
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) fail("write failed");
  if (close(fd) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    throw Error(fmt::format("{}: write failed: {}", path, std::strerror(err)));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    throw Error(fmt::format("{}: cannot replace: {}", path, std::strerror(err)));
  }
}

}  // namespace gt
