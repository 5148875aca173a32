// LineReader (see line_reader.h).
#include "run/line_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.h"
#include "energy/edges.h"

namespace gt::run {

LineReader::LineReader(int fd, int copy_to, Handler on_line)
    : fd_(fd), copy_to_(copy_to), on_line_(std::move(on_line)) {
  if (pipe2(wake_, O_CLOEXEC) != 0) throw Error("cannot create a pipe");
  thread_ = std::thread([this] { loop(); });
}

LineReader::~LineReader() {
  stop();
  close(wake_[0]);
  close(wake_[1]);
}

void LineReader::stop() {
  if (!thread_.joinable()) return;
  const char c = 1;
  (void)!write(wake_[1], &c, 1);
  thread_.join();
}

bool LineReader::read_some(std::string& pending) {
  char buf[4096];
  ssize_t n;
  do {
    n = read(fd_, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  const double t = energy::steady_now_s();
  bool broken = false;
  if (copy_to_ >= 0) {
    ssize_t off = 0;
    while (off < n) {
      const ssize_t w = write(copy_to_, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EPIPE) {
        broken = true;
        break;
      }
      if (w <= 0) break;
      off += w;
    }
  }
  pending.append(buf, static_cast<size_t>(n));
  size_t start = 0, nl;
  while ((nl = pending.find('\n', start)) != std::string::npos) {
    on_line_(pending.substr(start, nl - start), t);
    start = nl + 1;
  }
  pending.erase(0, start);
  if (pending.size() > kMaxLine) pending.clear();  // not line-oriented: no marks in it
  return broken ? close_broken_copy() : true;
}

bool LineReader::close_broken_copy() {
  copy_to_ = -1;
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0) {
    dup3(null_fd, fd_, O_CLOEXEC);
    close(null_fd);
  }
  return false;
}

void LineReader::loop() {
  std::string pending;
  while (true) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!read_some(pending)) break;  // every writer closed it
      continue;
    }
    if (p[1].revents) {  // stop: drain what is there without blocking
      pollfd d{fd_, POLLIN, 0};
      while (::poll(&d, 1, 0) > 0 && (d.revents & POLLIN) && read_some(pending)) {
      }
      break;
    }
  }
  if (!pending.empty()) on_line_(pending, energy::steady_now_s());
}

}  // namespace gt::run
