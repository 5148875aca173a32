// The publisher's thread (see publisher.h).
#include "prometheus/publisher.h"

#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/error.h"
#include "common/output_file.h"

namespace gt::prometheus {
namespace {

void check_textfile(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw UsageError(
        fmt::format("--prometheus-textfile {}: folder {} does not exist", path, dir.string()));
  if (access(dir.c_str(), W_OK) != 0)
    throw UsageError(
        fmt::format("--prometheus-textfile {}: folder {} is not writable", path, dir.string()));
  if (lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw UsageError(
        fmt::format("--prometheus-textfile {}: exists and is not a regular file", path));
}

}  // namespace

Publisher::Publisher(PublisherOptions options) : options_(std::move(options)) {
  if (!(options_.timeout_s > 0 && options_.timeout_s <= 60))
    throw UsageError(fmt::format("--prometheus-timeout-s {}: expected a number in (0, 60] seconds",
                                 options_.timeout_s));
  if (!options_.push_url.empty()) check_pushgateway_url(options_.push_url, "--prometheus-push");
  if (!options_.textfile.empty()) check_textfile(options_.textfile);
  if (!options_.warn)
    options_.warn = [](const std::string& line) {
      std::fprintf(stderr, "greentrain: warning: %s\n", line.c_str());
    };
  if (active()) thread_ = std::thread([this] { loop(); });
}

Publisher::~Publisher() { finish(); }

void Publisher::publish(const GroupingKey& key, std::vector<Family> families) {
  if (!active()) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    const std::string id = key.text();
    if (!groups_.count(id)) order_.push_back(id);
    groups_[id] = {key, std::move(families)};
    if (!options_.push_url.empty() &&
        std::find(to_push_.begin(), to_push_.end(), id) == to_push_.end())
      to_push_.push_back(id);
    file_dirty_ = !options_.textfile.empty();
  }
  cv_.notify_all();
}

void Publisher::finish() {
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    stopping_ = true;
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(options_.timeout_s));
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int Publisher::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

void Publisher::warn_once(const std::string& what, const std::string& why) {
  std::lock_guard lock(mu_);
  ++failures_;
  if (warned_) return;
  warned_ = true;
  options_.warn(
      fmt::format("{}: {}; the measurement goes on (later failures are not reported)", what, why));
}

std::string Publisher::file_text() const {
  std::vector<Family> all;
  for (const auto& id : order_) {
    const auto& g = groups_.at(id).families;
    all.insert(all.end(), g.begin(), g.end());
  }
  return render(all);
}

void Publisher::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || file_dirty_ || !to_push_.empty(); });
    if (!file_dirty_ && to_push_.empty()) return;  // stopping, nothing left
    const auto now = std::chrono::steady_clock::now();
    double timeout_s = options_.timeout_s;
    if (deadline_) {
      timeout_s = std::min(timeout_s, std::chrono::duration<double>(*deadline_ - now).count());
      if (timeout_s <= 0) {  // finish()'s time is up: what is left is dropped
        const size_t left = to_push_.size() + (file_dirty_ ? 1 : 0);
        to_push_.clear();
        file_dirty_ = false;
        lock.unlock();
        if (left)
          warn_once("Prometheus", fmt::format("{} update(s) not sent within --prometheus-timeout-s "
                                              "({} s) at the end",
                                              left, options_.timeout_s));
        return;
      }
    }
    std::string file_body, push_body, url;
    try {
      if (file_dirty_) file_body = file_text();
      if (!to_push_.empty()) {
        const Group& g = groups_.at(to_push_.front());
        push_body = render(g.families);
        url = group_url(options_.push_url, g.key);
      }
    } catch (const std::exception& e) {  // an invalid name: a bug, reported once
      to_push_.clear();
      file_dirty_ = false;
      lock.unlock();
      warn_once("Prometheus", e.what());
      lock.lock();
      continue;
    }
    const bool write_file = file_dirty_;
    file_dirty_ = false;
    if (!url.empty()) to_push_.pop_front();
    lock.unlock();
    if (write_file) {
      try {
        write_output_file(options_.textfile, file_body);
      } catch (const std::exception& e) {
        warn_once("Prometheus textfile " + options_.textfile, e.what());
      }
    }
    if (!url.empty())
      if (std::string why = put_metrics(url, push_body, timeout_s); !why.empty())
        warn_once("Prometheus push to " + url, why);
    lock.lock();
  }
}

}  // namespace gt::prometheus
