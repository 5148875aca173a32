// Child processes, their supervisor and interrupt handling (see process.h).
#include "run/process.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "common/utf8.h"

extern char** environ;

namespace gt::run {
namespace {

// The one piece of process-wide state: a signal handler can only talk through a static.
std::atomic<int> g_interrupt_signal{0};

extern "C" void on_interrupt(int sig) { g_interrupt_signal.store(sig); }

}  // namespace

InterruptGuard::InterruptGuard() {
  g_interrupt_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
}

InterruptGuard::~InterruptGuard() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) std::signal(sig, SIG_DFL);
}

bool InterruptGuard::requested() const { return g_interrupt_signal.load() != 0; }
int InterruptGuard::signal() const { return g_interrupt_signal.load(); }

std::string self_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw gt::Error("cannot resolve /proc/self/exe: " + ec.message());
  return p.string();
}

std::string tail_of_file(const std::string& path, int max_lines, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  size_t pos = text.size();
  for (int n = 0; n < max_lines && pos != std::string::npos && pos > 0; ++n)
    pos = text.rfind('\n', pos - 1);
  if (pos != std::string::npos && pos > 0) text = text.substr(pos + 1);
  // The cut above may fall inside a character, and a workload may write any bytes: the tail
  // goes to the database and to reports, so it is made valid UTF-8 here.
  size_t lead = 0;
  while (start > 0 && lead < 3 && lead < text.size() &&
         (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80)
    ++lead;
  return valid_utf8(std::string_view(text).substr(lead));
}

namespace {

// Closes every descriptor above stderr; async-signal-safe (it runs in a fork of a threaded
// process).
void close_inherited_descriptors() {
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
  const long max = sysconf(_SC_OPEN_MAX);
  for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); ++fd) close(fd);
}

// State of the supervisor process (a fork of greentrain): only async-signal-safe code runs
// there, and its signal handler can reach nothing but these statics of its own copy.
pid_t g_sup_group = 0;
char* const* g_sup_rm_argv = nullptr;

extern "C" void on_parent_death(int) {
  if (g_sup_rm_argv) {
    const pid_t rm = fork();
    if (rm == 0) {
      setpgid(0, 0);  // outlives the group kill below
      execv("/bin/rm", g_sup_rm_argv);
      _exit(127);
    }
    if (rm > 0) setpgid(rm, rm);  // from this side too, before the kill below can reach it
  }
  kill(-g_sup_group, SIGKILL);  // the workload, its descendants and the supervisor itself
  _exit(128 + SIGKILL);
}

double timeval_s(const timeval& t) {
  return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
}

}  // namespace

std::string make_run_folder() {
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(tmp, ec)) {
    const std::string name = e.path().filename().string();
    const std::string prefix = "greentrain-run-";
    if (name.rfind(prefix, 0) != 0 || !e.is_directory(ec)) continue;
    const auto dash = name.find('-', prefix.size());
    if (dash == std::string::npos) continue;
    const std::string pid_text = name.substr(prefix.size(), dash - prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t owner = static_cast<pid_t>(std::stol(pid_text));
    if (owner > 0 && kill(owner, 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
  }
  std::string tmpl = (tmp / fmt::format("greentrain-run-{}-XXXXXX", getpid())).string();
  if (!mkdtemp(tmpl.data()))
    throw gt::Error(fmt::format("cannot create a temporary folder in {}: {}", tmp.string(),
                                std::strerror(errno)));
  return tmpl;
}

ChildResult run_child(const ChildSpec& spec, const std::function<bool()>& stop_requested) {
  return run_child(spec, ChildPoll([&](int, double) {
                     return stop_requested && stop_requested() ? SIGTERM : 0;
                   }));
}

namespace {

// The workload's command, environment and the supervisor's cleanup command as the C arrays
// execvpe and execv take, built before fork() (nothing may allocate after it). The char
// pointers point into the strings, so an ExecArgs is filled in place and never copied.
struct ExecArgs {
  std::vector<std::string> env_strings, args, rm_args;
  std::vector<char*> envp, argv, rm_argv;

  explicit ExecArgs(const ChildSpec& spec) : args(spec.argv) {
    for (char** e = environ; *e; ++e) {
      std::string s(*e);
      bool replaced = false;
      for (const auto& [k, v] : spec.env)
        if (s.compare(0, k.size() + 1, k + "=") == 0) replaced = true;
      if (!replaced) env_strings.push_back(s);
    }
    for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    rm_args = {"rm", "-rf", "--", spec.remove_on_abandon};
    for (auto& s : rm_args) rm_argv.push_back(s.data());
    rm_argv.push_back(nullptr);
  }
  ExecArgs(const ExecArgs&) = delete;
  ExecArgs& operator=(const ExecArgs&) = delete;
};

// The workload's standard streams, opened before fork(): -1 where it inherits ours.
struct ChildStreams {
  int out = -1, err = -1, null = -1;
};

ChildStreams open_streams(const ChildSpec& spec) {
  auto open_out = [](const std::string& path) {
    return path.empty() ? -1 : open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  };
  ChildStreams s;
  s.out = spec.stdout_fd >= 0 ? spec.stdout_fd : open_out(spec.stdout_path);
  s.err = open_out(spec.stderr_path);
  s.null = spec.inherit_stdin ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
  if ((!spec.stdout_path.empty() && spec.stdout_fd < 0 && s.out < 0) ||
      (!spec.stderr_path.empty() && s.err < 0) || (!spec.inherit_stdin && s.null < 0))
    throw gt::Error(fmt::format("cannot create {} / {}: {}", spec.stdout_path, spec.stderr_path,
                                std::strerror(errno)));
  return s;
}

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// The workload, in the supervisor's fork: its streams and passed descriptors in place, then
// exec. Async-signal-safe only. A failed exec writes a byte to `exec_failed_fd`.
[[noreturn]] void exec_workload(const ChildSpec& spec, const ChildStreams& streams, ExecArgs& exec,
                                int exec_failed_fd, const sigset_t& old_mask) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : kStopSignals) sigaction(sig, &dfl, nullptr);
  sigaction(SIGPIPE, &dfl, nullptr);
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  if (streams.null >= 0) dup2(streams.null, 0);
  if (streams.out >= 0) dup2(streams.out, 1);
  if (streams.err >= 0) dup2(streams.err, 2);
  // Each passed descriptor (and the exec-failure pipe, which a passed number could
  // otherwise replace) moves out of the way first, then to its number in the child (dup2
  // leaves the copy open across exec).
  const int exec_fd = fcntl(exec_failed_fd, F_DUPFD_CLOEXEC, 64);
  int moved[8];
  const size_t n_pass = std::min<size_t>(spec.pass_fds.size(), 8);
  for (size_t i = 0; i < n_pass; ++i) moved[i] = fcntl(spec.pass_fds[i].first, F_DUPFD_CLOEXEC, 64);
  for (size_t i = 0; i < n_pass; ++i) dup2(moved[i], spec.pass_fds[i].second);
  if (!spec.workdir.empty() && chdir(spec.workdir.c_str()) != 0) {
    const char msg[] = "greentrain: cannot change to the workload's workdir\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
  }
  char** argv = exec.argv.data();
  execvpe(argv[0], argv, exec.envp.data());
  // strerrordesc_np reads a static table (no locale, no allocation): safe after fork.
  const char* why = strerrordesc_np(errno);
  const char msg[] = "greentrain: cannot execute '";
  (void)!write(2, msg, sizeof msg - 1);
  (void)!write(2, argv[0], std::strlen(argv[0]));
  (void)!write(2, "': ", 3);
  (void)!write(2, why ? why : "unknown error", std::strlen(why ? why : "unknown error"));
  (void)!write(2, "\n", 1);
  const char failed = 1;
  (void)!write(exec_fd, &failed, 1);
  _exit(127);
}

// The supervisor, greentrain's fork and leader of the run's process group: forks the workload,
// tells the parent its pid, then only waits for it and exits as it exited. If greentrain dies,
// it removes `remove_on_abandon` and kills the group. Async-signal-safe only.
[[noreturn]] void supervise(const ChildSpec& spec, const ChildStreams& streams, ExecArgs& exec,
                            const int exec_pipe[2], const int pid_pipe[2], pid_t parent) {
  setpgid(0, 0);
  g_sup_group = getpid();
  g_sup_rm_argv = spec.remove_on_abandon.empty() ? nullptr : exec.rm_argv.data();
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  struct sigaction death {};
  death.sa_handler = on_parent_death;
  sigemptyset(&death.sa_mask);
  sigset_t block, old;
  sigemptyset(&block);
  for (int sig : kStopSignals) sigaddset(&block, sig);
  sigprocmask(SIG_BLOCK, &block, &old);
  const pid_t work = fork();
  if (work == 0) exec_workload(spec, streams, exec, exec_pipe[1], old);
  close(exec_pipe[1]);
  (void)!write(pid_pipe[1], &work, sizeof work);  // the parent watches the workload itself
  close(pid_pipe[1]);
  // The supervisor only waits: it lets go of every descriptor it inherited (pipes to the
  // workload, the runner's database lock), so each closes when greentrain closes it.
  close_inherited_descriptors();
  for (int sig : kStopSignals) sigaction(sig, &ign, nullptr);
  sigaction(SIGUSR2, &death, nullptr);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGUSR2);
  if (getppid() != parent) on_parent_death(SIGUSR2);
  if (work < 0) _exit(127);
  int status = 0;
  while (waitpid(work, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  sigaction(sig, &dfl, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  sigprocmask(SIG_UNBLOCK, &one, nullptr);
  kill(getpid(), sig);  // die as the workload died, so the exit status says the same
  _exit(128 + sig);
}

// Gives the terminal's foreground to `group`; SIGTTOU is ignored while we do.
void hand_terminal(pid_t group) {
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGTTOU, &ign, &old);
  tcsetpgrp(0, group);
  sigaction(SIGTTOU, &old, nullptr);
}

// Waits for the supervisor `pid` to exit, asking `poll` each tick which signal the group gets
// and enforcing the spec's timeout and kill delay; tells hooks.exited when the workload `work`
// exits. Sets the stop and timeout flags of `result`; returns the wait status.
int wait_for_group(const ChildSpec& spec, const ChildPoll& poll, const ChildHooks& hooks, pid_t pid,
                   pid_t work, std::chrono::steady_clock::time_point t0, ChildResult& result,
                   rusage& usage) {
  // A pidfd becomes readable the moment the supervisor exits, so the wait below wakes at once
  // instead of at the next 10 ms tick (where the kernel has no pidfd, it sleeps 10 ms).
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  // The workload's own pidfd (not our child, but pidfds work for any process): readable when
  // the workload exits, which is when the metered window ends.
  int work_fd = work > 0 ? static_cast<int>(syscall(SYS_pidfd_open, work, 0)) : -1;
  bool exited_told = false;
  auto tell_exited = [&] {
    if (!exited_told && hooks.exited) hooks.exited();
    exited_told = true;
  };
  if (work > 0 && work_fd < 0) tell_exited();  // it has already exited
  int status = 0;
  int last_requested = 0;
  std::optional<std::chrono::steady_clock::time_point> term_sent;
  while (true) {
    pid_t w = wait4(pid, &status, WNOHANG, &usage);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) throw gt::Error(fmt::format("waitpid: {}", std::strerror(errno)));
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - t0).count();
    int sig = poll ? poll(pid, elapsed) : 0;
    if (!term_sent && spec.timeout_s > 0 && elapsed > spec.timeout_s) {
      result.timed_out = true;
      sig = SIGTERM;
    }
    if (sig != 0 && sig != last_requested) {
      kill(-pid, sig);
      last_requested = result.signal_sent = sig;
      if ((sig == SIGTERM || sig == SIGINT) && !result.timed_out) result.stopped = true;
      if (!term_sent && (result.stopped || result.timed_out)) term_sent = now;
    }
    if (term_sent && spec.kill_after_s > 0 &&
        now - *term_sent > std::chrono::duration<double>(spec.kill_after_s))
      kill(-pid, SIGKILL);
    if (pidfd >= 0) {
      pollfd p[2] = {{pidfd, POLLIN, 0}, {work_fd, POLLIN, 0}};
      ::poll(p, work_fd >= 0 ? 2 : 1, 10);
      if (work_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        close(work_fd);
        work_fd = -1;
        tell_exited();
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  if (pidfd >= 0) close(pidfd);
  if (work_fd >= 0) close(work_fd);
  tell_exited();
  return status;
}

}  // namespace

ChildResult run_child(const ChildSpec& spec, const ChildPoll& poll, const ChildHooks& hooks) {
  if (spec.argv.empty()) throw gt::Error("run_child: empty command");
  // Everything the children need is prepared before fork(): after it, only async-signal-safe
  // calls (greentrain has other threads: the samplers).
  ExecArgs exec(spec);
  const ChildStreams streams = open_streams(spec);
  const bool terminal = spec.take_terminal && isatty(0) && tcgetpgrp(0) == getpgrp();
  // A pipe that closes when the workload has been exec'ed (or failed to be): tells us
  // whether the program could be started.
  int exec_pipe[2], pid_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) throw gt::Error("pipe failed");
  if (pipe2(pid_pipe, O_CLOEXEC) != 0) {
    close(exec_pipe[0]);
    close(exec_pipe[1]);
    throw gt::Error("pipe failed");
  }

  const pid_t parent = getpid();
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw gt::Error(fmt::format("fork failed: {}", std::strerror(errno)));
  if (pid == 0) supervise(spec, streams, exec, exec_pipe, pid_pipe, parent);
  setpgid(pid, pid);  // also from the parent, so the group exists before we might signal it
  if (hooks.spawned) hooks.spawned();
  close(exec_pipe[1]);
  close(pid_pipe[1]);
  pid_t work = 0;
  if (read(pid_pipe[0], &work, sizeof work) != static_cast<ssize_t>(sizeof work)) work = 0;
  close(pid_pipe[0]);
  if (spec.stdout_fd < 0 && streams.out >= 0) close(streams.out);
  if (streams.err >= 0) close(streams.err);
  if (streams.null >= 0) close(streams.null);
  if (terminal) hand_terminal(pid);  // to the run's group, and back below

  ChildResult result;
  result.process_group = pid;
  rusage usage{};
  const int status = wait_for_group(spec, poll, hooks, pid, work, t0, result, usage);
  kill(-pid, SIGKILL);  // leftovers of the group (a shell's children, daemons)
  if (terminal) hand_terminal(getpgrp());
  char failed = 0;
  result.started = read(exec_pipe[0], &failed, 1) != 1;
  close(exec_pipe[0]);
  result.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.cpu_s = timeval_s(usage.ru_utime) + timeval_s(usage.ru_stime);
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = -WTERMSIG(status);
  return result;
}

}  // namespace gt::run
