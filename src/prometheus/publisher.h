// Publishes groups of metrics to a Pushgateway and/or a textfile for node_exporter's textfile
// collector, on a thread of its own, so a slow or absent Pushgateway never slows what is being
// measured. publish() returns at once: it replaces the group's metrics and marks it for a push
// (a PUT of the whole group, so only its latest state matters and pushes that fall behind
// collapse into one). The textfile holds every group published so far, rewritten atomically
// (a temporary beside it, then a rename) whenever one changes. Each push waits at most
// timeout_s; the first failure (of a push or a file write) is reported as one warning line and
// later ones are counted, never reported again and never an error. finish() waits for what is
// pending, at most timeout_s in all, and drops the rest: a Pushgateway that is down or hangs
// costs the caller at most timeout_s.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "prometheus/exposition.h"
#include "prometheus/pushgateway.h"

namespace gt::prometheus {

struct PublisherOptions {
  std::string push_url;  // the Pushgateway's base URL; "" = no push
  std::string textfile;  // path of the exposition file; "" = none
  double timeout_s = 2;  // per push, and for finish() in all
  // Where the one warning goes; default stderr, "greentrain: warning: ...".
  std::function<void(const std::string&)> warn;
};

class Publisher {
 public:
  // Checks the URL and that the textfile's folder exists and is writable (gt::UsageError naming
  // --prometheus-push or --prometheus-textfile) before any work. Inactive when both are empty.
  explicit Publisher(PublisherOptions options);
  ~Publisher();  // finish()
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  bool active() const { return !options_.push_url.empty() || !options_.textfile.empty(); }
  // Replaces the group's metrics and schedules its push and the file's rewrite. Thread-safe.
  void publish(const GroupingKey& key, std::vector<Family> families);
  // Pushes and writes what is pending, at most timeout_s in all, then stops the thread; later
  // publish() calls are ignored.
  void finish();
  // Pushes or writes that failed or were dropped so far.
  int failures() const;

 private:
  struct Group {
    GroupingKey key;
    std::vector<Family> families;
  };
  void loop();
  void warn_once(const std::string& what, const std::string& why);
  std::string file_text() const;  // every group (under mu_)

  PublisherOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Group> groups_;  // by GroupingKey::text()
  std::vector<std::string> order_;       // groups in the order first published
  std::deque<std::string> to_push_;      // groups whose latest state is not pushed yet
  bool file_dirty_ = false, stopping_ = false, finished_ = false, warned_ = false;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  int failures_ = 0;
  std::thread thread_;
};

}  // namespace gt::prometheus
