// The runner's lock on a results database: one `experiment run` per database at a time. Two
// runners on one file would run the same in-flight run side by side (each adding its load to
// the other's measurement) and then throw one of them away, so the second one is refused at
// once with one line: "r.db is being run by pid N on HOST since T".
//
// The lock is an flock(2) on a file beside the database (<db>.lock) that holds the owner's pid,
// host and start time for that message. The kernel drops an flock when its process dies, even
// by kill -9, so the lock of a dead runner is stale by construction and the next runner takes
// it over (saying whose it was). The file is removed when the lock is released.
#pragma once
#include <optional>
#include <string>

namespace gt::experiment {

class RunLock {
 public:
  // Takes the lock of `db_path` or throws gt::Error naming its holder. `took_over` is set to the
  // holder a stale lock file named (pid, host, start), when there was one.
  explicit RunLock(const std::string& db_path);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::string& path() const { return path_; }
  // "pid N on HOST since T" of a stale lock file found and taken over, if any.
  const std::optional<std::string>& took_over() const { return took_over_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::optional<std::string> took_over_;
};

}  // namespace gt::experiment
