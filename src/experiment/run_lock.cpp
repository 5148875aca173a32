// The runner's database lock (see run_lock.h).
#include "experiment/run_lock.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/error.h"
#include "common/utf8.h"
#include "experiment/environment.h"
#include "experiment/store.h"

namespace gt::experiment {
namespace {

// What a lock file says about its holder: "pid N on HOST since T", or "" when it is empty
// (its holder has not written it yet) or unreadable.
std::string holder_of(int fd) {
  char buf[512];
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::istringstream in(std::string(buf, static_cast<size_t>(n)));
  std::string pid, host, since;
  in >> pid >> host >> since;
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return "";
  return valid_utf8(fmt::format("pid {} on {} since {}", pid, host.empty() ? "?" : host,
                                since.empty() ? "?" : since),
                    200);
}

}  // namespace

RunLock::RunLock(const std::string& db_path) : path_(db_path + ".lock") {
  for (int attempt = 0; attempt < 10; ++attempt) {
    const int fd = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      throw gt::Error(fmt::format("{}: cannot create the runner's lock file {}: {}", db_path, path_,
                                  std::strerror(errno)));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string holder = holder_of(fd);
      close(fd);
      if (err != EWOULDBLOCK)
        throw gt::Error(fmt::format("{}: cannot lock {}: {}", db_path, path_, std::strerror(err)));
      throw gt::Error(
          fmt::format("{} is being run by {}; wait for it to finish, or stop it, then run again",
                      db_path, holder.empty() ? "another greentrain process" : holder));
    }
    // The file may have been removed by its last holder between our open and our lock: then
    // the lock is on a file nobody else will find; start again with the one at the path.
    struct stat held {
    }, named{};
    if (fstat(fd, &held) != 0 || stat(path_.c_str(), &named) != 0 || held.st_ino != named.st_ino ||
        held.st_dev != named.st_dev) {
      close(fd);
      continue;
    }
    const std::string stale = holder_of(fd);
    if (!stale.empty()) took_over_ = stale;
    const std::string me = fmt::format("{} {} {}\n", getpid(), host_name(), utc_now_iso());
    if (ftruncate(fd, 0) != 0 ||
        pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
      close(fd);
      throw gt::Error(fmt::format("{}: cannot write the runner's lock file {}", db_path, path_));
    }
    fd_ = fd;
    return;
  }
  throw gt::Error(fmt::format("{}: cannot take the runner's lock {} (it keeps being replaced)",
                              db_path, path_));
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  unlink(path_.c_str());  // while still holding it, so nobody locks the removed file unseen
  close(fd_);
}

}  // namespace gt::experiment
