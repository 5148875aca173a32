// Runs one workload as a child process in a process group of its own, led by a small
// supervisor process (a fork of greentrain that only waits): the workload and everything it
// starts share that group, so stopping a run signals all of them, and the group is killed
// after the workload exits, so nothing it started outlives the run. If greentrain itself dies
// (even by kill -9) the supervisor learns it through PR_SET_PDEATHSIG, kills the whole group
// and removes the run's temporary folder. stdin from /dev/null and stdout/stderr to files (the
// runner), or greentrain's own terminal (measure, train: the run's group then becomes the
// terminal's foreground group, so a Ctrl-C reaches the workload as it would without
// greentrain). Optional time limit; a stop request polled while waiting. A crash, a CUDA
// error or an out-of-memory in the child cannot take the experiment down.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gt::run {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program (absolute path or found in PATH)
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing) ours
  std::string workdir;                                   // empty = ours
  std::string stdout_path, stderr_path;                  // empty: greentrain's own (inherited)
  int stdout_fd = -1;          // >= 0: the child's stdout goes to this descriptor (e.g. a pipe)
  bool inherit_stdin = false;  // the child reads greentrain's stdin (else /dev/null)
  bool take_terminal = false;  // make the run's group the terminal's foreground group
  // Descriptors the child inherits, as (ours, its number in the child): a low fixed number, so
  // a shell script can write `>&3` (dash cannot redirect to a descriptor above 9). At most 8.
  std::vector<std::pair<int, int>> pass_fds;
  std::string remove_on_abandon;  // folder the supervisor removes if greentrain dies
  double timeout_s = 0;           // 0 = none
  double kill_after_s = 5;        // after a stop or timeout signal, SIGKILL the group (0 = never)
};

// Called about every 10 ms while the child runs, with the run's process group id and the
// seconds since spawn; returns a signal to send to the whole group (0 = none). Each distinct
// request is sent once; SIGTERM/SIGINT requests count as a stop.
using ChildPoll = std::function<int(int process_group, double elapsed_s)>;

struct ChildResult {
  std::optional<int> exit_code;  // exit status, or -signal when killed by a signal
  double duration_s = 0;         // spawn to reap, monotonic clock
  bool timed_out = false;
  bool stopped = false;  // stop_requested() became true and the child was terminated
  int signal_sent = 0;   // the last signal forwarded to the group
  double cpu_s = 0;      // CPU time (user + system) of the whole process tree that was reaped
  int process_group = 0;
  bool started = false;  // false: the program could not be executed (exit code 127)
};

// Moments a meter wants to know without delay: `spawned` right after the fork (before the
// workload's exec), `exited` as soon as the workload itself has exited (before its leftovers
// are killed and the supervisor reaped).
struct ChildHooks {
  std::function<void()> spawned, exited;
};

// stop_requested: polled; true sends SIGTERM to the group (then SIGKILL after kill_after_s).
ChildResult run_child(const ChildSpec& spec, const std::function<bool()>& stop_requested);
ChildResult run_child(const ChildSpec& spec, const ChildPoll& poll, const ChildHooks& hooks = {});

// A fresh temporary folder /tmp/greentrain-run-<pid>-XXXXXX; first removes such folders left
// by greentrain processes that no longer exist.
std::string make_run_folder();

// The last `max_lines` lines (at most `max_bytes`) of a text file.
std::string tail_of_file(const std::string& path, int max_lines = 20, size_t max_bytes = 4000);
std::string self_executable();  // /proc/self/exe resolved

// Process-wide SIGINT/SIGTERM/SIGHUP/SIGQUIT catcher: while a guard lives, the signals set a
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

}  // namespace gt::run
