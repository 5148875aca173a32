// Prometheus test support (see gateway_fixture.h).
#include "gateway_fixture.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "common/subprocess.h"

namespace gt::testing {
namespace {

constexpr const char* kPushgateway = "/usr/bin/prometheus-pushgateway";

int bound_socket(int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    throw std::runtime_error("bind() failed");
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

size_t append(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// label="value" pairs of a sample line's braces (values without escaped quotes, as in tests).
std::map<std::string, std::string> parse_labels(const std::string& inside) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < inside.size()) {
    const auto eq = inside.find('=', i);
    if (eq == std::string::npos) break;
    const auto open = inside.find('"', eq);
    auto close = open + 1;
    while (close < inside.size() && inside[close] != '"') close += inside[close] == '\\' ? 2 : 1;
    out[inside.substr(i, eq - i)] = inside.substr(open + 1, close - open - 1);
    i = close + 1;
    if (i < inside.size() && inside[i] == ',') ++i;
  }
  return out;
}

struct Line {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Line> sample_lines(const std::string& text) {
  std::vector<Line> out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    Line l;
    const auto brace = line.find('{');
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    if (brace != std::string::npos && brace < space) {
      l.name = line.substr(0, brace);
      const auto end = line.rfind('}', space);
      l.labels = parse_labels(line.substr(brace + 1, end - brace - 1));
    } else {
      l.name = line.substr(0, space);
    }
    l.value = std::strtod(line.c_str() + space + 1, nullptr);
    out.push_back(std::move(l));
  }
  return out;
}

bool matches(const Line& l, const std::string& name,
             const std::map<std::string, std::string>& labels) {
  if (l.name != name) return false;
  for (const auto& [k, v] : labels) {
    auto it = l.labels.find(k);
    const std::string have = it == l.labels.end() ? "" : it->second;
    if (have != v) return false;
  }
  return true;
}

}  // namespace

int free_port() {
  int port = 0;
  close(bound_socket(port));
  return port;
}

std::string http_get(const std::string& url, std::string* error) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    if (error) *error = curl_easy_strerror(rc);
    return "";
  }
  if (error) error->clear();
  return body;
}

Pushgateway::Pushgateway() {
  if (!std::filesystem::exists(kPushgateway)) {
    ADD_FAILURE() << kPushgateway
                  << " is missing: install Debian's prometheus-pushgateway (scripts/install-deps)";
    return;
  }
  port_ = free_port();
  // In memory only: Debian's default persistence file would carry metrics from one test (and one
  // Pushgateway) to the next.
  pid_ = spawn_process({kPushgateway, "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                        "--persistence.file="},
                       dir_ / "pushgateway.log");
  std::string error;
  const bool up = wait_for(
      [&] {
        http_get(url() + "/-/ready", &error);
        return error.empty();
      },
      20);
  if (!up) ADD_FAILURE() << "the Pushgateway did not start: " << error;
}

Pushgateway::~Pushgateway() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  wait_process(pid_);
}

std::string Pushgateway::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string Pushgateway::scrape() const {
  std::string error;
  std::string body = http_get(url() + "/metrics", &error);
  EXPECT_EQ(error, "") << "scraping the Pushgateway";
  return body;
}

SilentServer::SilentServer() {
  listen_fd_ = bound_socket(port_);
  listen(listen_fd_, 16);
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        const int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd >= 0) accepted_.push_back(fd);  // held open, never answered
      }
    }
  });
}

SilentServer::~SilentServer() {
  stop_ = true;
  thread_.join();
  for (int fd : accepted_) close(fd);
  close(listen_fd_);
}

std::string SilentServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::optional<double> find_sample(const std::string& exposition, const std::string& name,
                                  const std::map<std::string, std::string>& labels) {
  for (const auto& l : sample_lines(exposition))
    if (matches(l, name, labels)) return l.value;
  return std::nullopt;
}

std::vector<std::map<std::string, std::string>> sample_labels(
    const std::string& exposition, const std::string& name,
    const std::map<std::string, std::string>& labels) {
  std::vector<std::map<std::string, std::string>> out;
  for (const auto& l : sample_lines(exposition))
    if (matches(l, name, labels)) out.push_back(l.labels);
  return out;
}

int promtool_check(const std::string& path, std::string& output) {
  if (!std::filesystem::exists("/usr/bin/promtool")) {
    output = "/usr/bin/promtool is missing: install Debian's prometheus (scripts/install-deps)";
    return -1;
  }
  ProcessOptions options;
  options.merge_stderr = true;
  auto r = run_shell("/usr/bin/promtool check metrics < '" + path + "'", options);
  output = r.out;
  return r.code;
}

}  // namespace gt::testing
