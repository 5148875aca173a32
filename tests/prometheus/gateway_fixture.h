// Test support for the Prometheus tests: a real Pushgateway (Debian's prometheus-pushgateway)
// started on a free loopback port and stopped with the test; a server that accepts connections
// and never answers (a Pushgateway that hangs); an HTTP GET to scrape /metrics; a reader of
// exposition text that finds one sample by name and labels; and `promtool check metrics`.
// A missing tool fails the test with one line saying which Debian package to install.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/temp_dir.h"

namespace gt::testing {

class Pushgateway {
 public:
  Pushgateway();  // starts it and waits until it answers (fails the test otherwise)
  ~Pushgateway();
  Pushgateway(const Pushgateway&) = delete;
  Pushgateway& operator=(const Pushgateway&) = delete;
  std::string url() const;     // http://127.0.0.1:PORT
  std::string scrape() const;  // GET /metrics
  bool started() const { return pid_ > 0; }

 private:
  TempDir dir_{"gt-pushgateway"};
  int port_ = 0;
  pid_t pid_ = -1;
};

// Listens on a loopback port, accepts every connection and never answers.
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  std::string url() const;

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> accepted_;
  std::thread thread_;
};

// A loopback port nothing listens on (bound, then closed).
int free_port();

// "" and the body, or the error.
std::string http_get(const std::string& url, std::string* error = nullptr);

// The value of the sample `name` whose labels include every pair of `labels`; nullopt if none.
std::optional<double> find_sample(const std::string& exposition, const std::string& name,
                                  const std::map<std::string, std::string>& labels);
// Every sample line of `name` whose labels include `labels`.
std::vector<std::map<std::string, std::string>> sample_labels(
    const std::string& exposition, const std::string& name,
    const std::map<std::string, std::string>& labels);

// Runs `promtool check metrics` on the file; returns its exit code and fills `output`.
int promtool_check(const std::string& path, std::string& output);

}  // namespace gt::testing
