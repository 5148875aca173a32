// Test support: runs a child process (no shell unless asked for) with its standard output and
// error captured, or starts one in the background; used by every test that drives the
// greentrain binary or a reference script, so exit statuses are decoded in one place.
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace gt::testing {

struct ProcessResult {
  int code = -1;    // the exit status; -1 when the process was killed by a signal
  int signal = 0;   // the signal that killed it, 0 when it exited
  std::string out;  // standard output (with standard error too when merge_stderr)
  std::string err;  // standard error (empty when merge_stderr)
};

struct ProcessOptions {
  bool merge_stderr = false;  // standard error goes into `out`
  // Called with the child's pid once it has started, before waiting for it (to signal it).
  std::function<void(pid_t)> after_start;
  std::string working_dir;  // the child's working directory; empty = the test's own
};

// Runs argv[0] (looked up on PATH when it has no slash) with standard input from /dev/null in
// its own process group. An executable that cannot be started exits with status 127; a working
// directory that cannot be entered, with 126.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Runs `command` through /bin/sh -c.
ProcessResult run_shell(const std::string& command, const ProcessOptions& options = {});

// Starts argv in the background with standard output and error appended to `log_path`;
// returns its pid (reap it with wait_process).
pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log_path);

// Waits for a child started by spawn_process; returns its code and signal (out/err empty).
ProcessResult wait_process(pid_t pid);

// Polls `condition` every 20 ms until it holds or `seconds` have passed; returns its last value
// (for a background child's progress: a file it writes, a line in its log).
bool wait_for(const std::function<bool()>& condition, double seconds);

}  // namespace gt::testing
