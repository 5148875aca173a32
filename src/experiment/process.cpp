// Child processes and interrupt handling for the runner (see process.h).
#include "experiment/process.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error.h"

extern char** environ;

namespace gt::experiment {
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
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

InterruptGuard::~InterruptGuard() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

bool InterruptGuard::requested() const { return g_interrupt_signal.load() != 0; }
int InterruptGuard::signal() const { return g_interrupt_signal.load(); }

std::string self_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw gt::Error("cannot resolve /proc/self/exe: " + ec.message());
  return p.string();
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./:=,+@%") == std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
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
  return text;
}

ChildResult run_child(const ChildSpec& spec, const std::function<bool()>& stop_requested) {
  if (spec.argv.empty()) throw gt::Error("run_child: empty command");
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string s(*e);
    bool replaced = false;
    for (const auto& [k, v] : spec.env)
      if (s.compare(0, k.size() + 1, k + "=") == 0) replaced = true;
    if (!replaced) env_strings.push_back(s);
  }
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out_fd = open(spec.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || null_fd < 0)
    throw gt::Error(fmt::format("cannot create {} / {}: {}", spec.stdout_path, spec.stderr_path,
                                std::strerror(errno)));
  const pid_t parent = getpid();
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) throw gt::Error(fmt::format("fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(128 + SIGKILL);
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    if (!spec.workdir.empty() && chdir(spec.workdir.c_str()) != 0) {
      const char msg[] = "greentrain: cannot change to the workload's workdir\n";
      (void)!write(2, msg, sizeof msg - 1);
      _exit(127);
    }
    execvpe(argv[0], argv.data(), envp.data());
    const char msg[] = "greentrain: cannot execute the workload: ";
    (void)!write(2, msg, sizeof msg - 1);
    (void)!write(2, argv[0], std::strlen(argv[0]));
    (void)!write(2, "\n", 1);
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before we might signal it
  close(out_fd);
  close(err_fd);
  close(null_fd);

  ChildResult result;
  int status = 0;
  std::optional<std::chrono::steady_clock::time_point> term_sent;
  while (true) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) throw gt::Error(fmt::format("waitpid: {}", std::strerror(errno)));
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - t0).count();
    if (!term_sent) {
      if (stop_requested && stop_requested()) result.stopped = true;
      if (spec.timeout_s > 0 && elapsed > spec.timeout_s) result.timed_out = true;
      if (result.stopped || result.timed_out) {
        kill(-pid, SIGTERM);
        term_sent = now;
      }
    } else if (now - *term_sent > std::chrono::seconds(5)) {
      kill(-pid, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(-pid, SIGKILL);  // leftovers of the group (a shell's children)
  result.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = -WTERMSIG(status);
  return result;
}

}  // namespace gt::experiment
