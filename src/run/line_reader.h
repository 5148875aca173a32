// Reads lines from a pipe on a thread of its own, dating each read on the monotonic clock the
// moment it returns: the mark channel's and the child's stdout readers. A line's handler runs
// on that thread and must be quick (parse and queue), so a writer never waits for the meter.
// stop() wakes the thread, which first drains what is already in the pipe. More than kMaxLine
// bytes without a newline is not line-oriented output (no marks in it) and is discarded. With
// `copy_to` >= 0 every byte is also written there (tee).
#pragma once
#include <functional>
#include <string>
#include <thread>

namespace gt::run {

class LineReader {
 public:
  static constexpr size_t kMaxLine = 65536;
  // on_line(line, t_read_s): t_read_s on the steady clock (energy::steady_now_s()).
  using Handler = std::function<void(const std::string&, double)>;
  LineReader(int fd, int copy_to, Handler on_line);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  void stop();

 private:
  bool read_some(std::string& pending);  // false at end of file or error
  // Whoever read greentrain's stdout has gone (`measure ... | head -1`): the child's stdout
  // closes too, so its next write fails as it would without greentrain in between; the pipe's
  // read end is replaced by /dev/null, keeping the descriptor its owner will close. Returns
  // false: nothing more is read.
  bool close_broken_copy();
  void loop();
  int fd_, copy_to_;
  int wake_[2] = {-1, -1};
  Handler on_line_;
  std::thread thread_;
};

}  // namespace gt::run
