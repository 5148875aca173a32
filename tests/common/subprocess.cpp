// Test support: child processes with captured output (see subprocess.h). Output goes through
// unlinked temporary files rather than pipes, so a chatty child can never block on a full pipe.
#include "subprocess.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace gt::testing {
namespace {

// An anonymous temporary file: its descriptor stays valid after the name is removed.
int anonymous_file() {
  std::string pattern = "/tmp/greentrain-test-output-XXXXXX";
  const int fd = mkstemp(pattern.data());
  if (fd < 0) throw std::runtime_error(std::string("mkstemp failed: ") + std::strerror(errno));
  unlink(pattern.c_str());
  return fd;
}

std::string read_all(int fd) {
  std::string text;
  char buffer[65536];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, size_t(n));
  close(fd);
  return text;
}

// In the child: wire the descriptors and exec; never returns.
[[noreturn]] void exec_child(const std::vector<std::string>& argv, int out_fd, int err_fd,
                             const std::string& working_dir = "") {
  if (!working_dir.empty() && chdir(working_dir.c_str()) != 0) _exit(126);
  const int null_fd = open("/dev/null", O_RDONLY);
  dup2(null_fd, STDIN_FILENO);
  dup2(out_fd, STDOUT_FILENO);
  dup2(err_fd, STDERR_FILENO);
  setpgid(0, 0);  // out of the test runner's terminal group
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

ProcessResult decode(int status) {
  ProcessResult r;
  if (WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  if (argv.empty()) throw std::invalid_argument("run_process: empty argv");
  const int out_fd = anonymous_file();
  const int err_fd = options.merge_stderr ? out_fd : anonymous_file();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) exec_child(argv, out_fd, err_fd, options.working_dir);
  if (options.after_start) options.after_start(pid);
  ProcessResult r = wait_process(pid);
  r.out = read_all(out_fd);
  if (!options.merge_stderr) r.err = read_all(err_fd);
  return r;
}

ProcessResult run_shell(const std::string& command, const ProcessOptions& options) {
  return run_process({"/bin/sh", "-c", command}, options);
}

pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log_path) {
  if (argv.empty()) throw std::invalid_argument("spawn_process: empty argv");
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) exec_child(argv, log_fd, log_fd);
  close(log_fd);
  return pid;
}

ProcessResult wait_process(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  }
  return decode(status);
}

bool wait_for(const std::function<bool()>& condition, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace gt::testing
