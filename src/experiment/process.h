// Runs one workload as a child process: its own process group (so a terminal Ctrl-C reaches
// only greentrain, which then stops the child deliberately), killed if greentrain dies
// (PR_SET_PDEATHSIG), stdin from /dev/null, stdout and stderr to files, an optional time
// limit, and a stop request polled while waiting (Ctrl-C). A crash, a CUDA error or an
// out-of-memory in the child cannot take the experiment down.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gt::experiment {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program (absolute path or found in PATH)
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing) ours
  std::string workdir;                                   // empty = ours
  std::string stdout_path, stderr_path;
  double timeout_s = 0;  // 0 = none
};

struct ChildResult {
  std::optional<int> exit_code;  // exit status, or -signal when killed by a signal
  double duration_s = 0;         // spawn to reap, monotonic clock
  bool timed_out = false;
  bool stopped = false;  // stop_requested() became true and the child was terminated
};

ChildResult run_child(const ChildSpec& spec, const std::function<bool()>& stop_requested);

// The last `max_lines` lines (at most `max_bytes`) of a text file.
std::string tail_of_file(const std::string& path, int max_lines = 20, size_t max_bytes = 4000);
std::string shell_quote(const std::string& s);
std::string self_executable();  // /proc/self/exe resolved

// Process-wide SIGINT/SIGTERM catcher for the runner: while a guard lives, the signals set a
// flag instead of killing greentrain; the previous handlers come back when it is destroyed.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  bool requested() const;
  int signal() const;  // the signal received (0 = none)
};

}  // namespace gt::experiment
