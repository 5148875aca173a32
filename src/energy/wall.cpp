// Wall meters (see wall.h).
#include "energy/wall.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/csv.h"
#include "common/error.h"
#include "common/numbers.h"

namespace gt::energy {

namespace {

constexpr double kMaxEpochSeconds = 95617584000.0;  // 5000-01-01T00:00:00Z

bool ieq_prefix(std::string_view text, size_t at, std::string_view word) {
  if (at + word.size() > text.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[at + i])) !=
        std::tolower(static_cast<unsigned char>(word[i])))
      return false;
  return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The decimal number that starts at `at` ([-+]digits[.digits][e±digits] or .digits), and where
// it ends. Empty when no number starts there or it is not a finite double.
std::optional<double> number_at(std::string_view text, size_t at, size_t* end) {
  size_t i = at;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  const size_t digits_from = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (i < text.size() && text[i] == '.' && i + 1 < text.size() && is_digit(text[i + 1])) {
    ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
  }
  if (i == digits_from) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    size_t j = i + 1;
    if (j < text.size() && (text[j] == '-' || text[j] == '+')) ++j;
    if (j < text.size() && is_digit(text[j])) {
      while (j < text.size() && is_digit(text[j])) ++j;
      i = j;
    }
  }
  if (end) *end = i;
  return parse_finite(text.substr(at, i - at));
}

// Two decimal digits at `at` (for the ISO 8601 parser); -1 when they are not there.
int two_digits(std::string_view s, size_t at) {
  if (at + 2 > s.size() || !is_digit(s[at]) || !is_digit(s[at + 1])) return -1;
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

}  // namespace

std::optional<double> parse_watts(const std::string& text) {
  // ipmitool: "Instantaneous power reading:   238 Watts"
  static constexpr std::string_view kIpmi = "instantaneous power reading:";
  for (size_t at = 0; at + kIpmi.size() <= text.size(); ++at) {
    if (!ieq_prefix(text, at, kIpmi)) continue;
    size_t i = at + kIpmi.size();
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t end = 0;
    auto v = number_at(text, i, &end);
    if (!v) break;
    while (end < text.size() && (text[end] == ' ' || text[end] == '\t')) ++end;
    if (ieq_prefix(text, end, "watts")) {
      if (!plausible_power_w(*v)) return std::nullopt;
      return v;
    }
    break;
  }
  // Otherwise the first number of the text.
  for (size_t at = 0; at < text.size(); ++at) {
    const char c = text[at];
    const bool starts =
        is_digit(c) || ((c == '-' || c == '+' || c == '.') && at + 1 < text.size() &&
                        (is_digit(text[at + 1]) || text[at + 1] == '.'));
    if (!starts) continue;
    size_t end = 0;
    auto v = number_at(text, at, &end);
    if (!v && end == 0 && !is_digit(c)) continue;           // a lone sign or dot, keep looking
    if (!v || !plausible_power_w(*v)) return std::nullopt;  // negative, huge or 1e999
    return v;
  }
  return std::nullopt;
}

std::optional<double> parse_timestamp(const std::string& raw) {
  std::string s = raw;
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == '"' || c == '\r'; }),
          s.end());
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (s.empty()) return std::nullopt;
  // Epoch seconds: digits with an optional fraction, up to the year 5000 (so a 400-digit
  // number is "not a timestamp", not an overflow).
  if (std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c) || c == '.'; })) {
    if (std::count(s.begin(), s.end(), '.') > 1 || s.front() == '.' || s.back() == '.')
      return std::nullopt;
    auto v = parse_finite(s);
    if (!v || *v > kMaxEpochSeconds) return std::nullopt;
    return v;
  }
  // ISO 8601: YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH[:]MM]
  const std::string_view v(s);
  if (v.size() < 19 || v[4] != '-' || v[7] != '-' || (v[10] != 'T' && v[10] != ' ') ||
      v[13] != ':' || v[16] != ':')
    return std::nullopt;
  const int y_hi = two_digits(v, 0), y_lo = two_digits(v, 2), mon = two_digits(v, 5),
            day = two_digits(v, 8), hh = two_digits(v, 11), mm = two_digits(v, 14),
            ss = two_digits(v, 17);
  if (y_hi < 0 || y_lo < 0 || mon < 1 || mon > 12 || day < 1 || day > 31 || hh < 0 || hh > 23 ||
      mm < 0 || mm > 59 || ss < 0 || ss > 60)
    return std::nullopt;
  size_t i = 19;
  double frac = 0, scale = 0.1;
  if (i < v.size() && v[i] == '.') {
    ++i;
    const size_t from = i;
    while (i < v.size() && is_digit(v[i])) {
      frac += (v[i] - '0') * scale;  // digits past the 15th change nothing, and cannot overflow
      scale /= 10;
      ++i;
    }
    if (i == from) return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y_hi * 100 + y_lo - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  if (i == v.size()) {
    tm.tm_isdst = -1;
    return static_cast<double>(std::mktime(&tm)) + frac;  // no zone: local time
  }
  double t = static_cast<double>(timegm(&tm)) + frac;
  if (v[i] == 'Z' && i + 1 == v.size()) return t;
  if (v[i] != '+' && v[i] != '-') return std::nullopt;
  const int sign = v[i] == '-' ? -1 : 1;
  const int zh = two_digits(v, i + 1);
  size_t j = i + 3;
  if (j < v.size() && v[j] == ':') ++j;
  const int zm = two_digits(v, j);
  if (zh < 0 || zh > 23 || zm < 0 || zm > 59 || j + 2 != v.size()) return std::nullopt;
  return t - sign * (zh * 3600 + zm * 60);
}

std::optional<double> parse_json_watts(const std::string& body, const std::string& pointer) {
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  try {
    const nlohmann::json::json_pointer ptr(pointer);
    if (!j.contains(ptr)) return std::nullopt;
    const auto& v = j.at(ptr);
    std::optional<double> w;
    if (v.is_number()) w = v.get<double>();
    if (v.is_string()) w = parse_finite(v.get<std::string>());
    if (w && plausible_power_w(*w)) return w;
  } catch (const nlohmann::json::exception&) {
    // a pointer into the wrong shape of answer
  }
  return std::nullopt;
}

std::vector<std::pair<double, double>> parse_wall_log(std::istream& in, const std::string& source) {
  std::vector<std::pair<double, double>> pts;
  csv::Reader reader(in, source);
  csv::Record rec;
  try {
    while (reader.next(rec)) {
      if (rec.fields.size() < 2) continue;
      auto t = parse_timestamp(rec.fields[0]);
      auto w = parse_finite(rec.fields[1]);
      if (!t || !w || !plausible_power_w(*w)) continue;  // the header or a malformed row
      pts.emplace_back(*t, *w);
    }
  } catch (const gt::Error&) {
    // a row still being written (an open quote at the end): use the rows before it
  }
  std::sort(pts.begin(), pts.end());
  return pts;
}

double integrate_power(const std::vector<std::pair<double, double>>& pts, double t0, double t1) {
  if (pts.empty() || t1 <= t0) return 0;
  auto power_at = [&](double t) {
    if (t <= pts.front().first) return pts.front().second;
    if (t >= pts.back().first) return pts.back().second;
    auto it = std::lower_bound(pts.begin(), pts.end(), t,
                               [](const auto& p, double v) { return p.first < v; });
    const auto& b = *it;
    const auto& a = *(it - 1);
    if (b.first == a.first) return b.second;
    return a.second + (b.second - a.second) * (t - a.first) / (b.first - a.first);
  };
  std::vector<double> ts{t0};
  for (const auto& p : pts)
    if (p.first > t0 && p.first < t1) ts.push_back(p.first);
  ts.push_back(t1);
  double e = 0;
  for (size_t i = 1; i < ts.size(); ++i)
    e += 0.5 * (power_at(ts[i - 1]) + power_at(ts[i])) * (ts[i] - ts[i - 1]);
  return e;
}

namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Runs the command through /bin/sh in its own process group, its output through a pipe. A
// command that outlives its deadline or prints more than kMaxCommandOutput bytes is killed with
// everything it started, and the sample is missed: a reading never hangs greentrain or fills
// its memory.
class CmdWallMeter : public Meter {
 public:
  CmdWallMeter(std::string command, int interval_ms)
      : command_(std::move(command)), timeout_ms_(std::clamp(2 * interval_ms, 2000, 10000)) {}
  ~CmdWallMeter() override { abandon(); }
  Component component() const override { return Component::wall; }
  std::string device() const override { return "cmd"; }
  Source source() const override { return Source::measured; }
  std::string model() const override { return "wall meter, command: " + command_; }
  bool slow() const override { return true; }
  void begin() override {
    latest_.reset();
    window_started_ = false;
  }
  Reading read() override {
    if (child_ < 0) launch();
    Reading r = collect();
    if (r.power_w) latest_ = r;
    return r;
  }
  // The window's edges never wait for the command: the first starts it (its answer is the
  // sampler's first reading), the last reuses the latest answer, or collects the first one
  // when the window was shorter than one interval.
  Reading read_boundary() override {
    if (!window_started_) {
      window_started_ = true;
      if (child_ < 0) launch();
      return {};
    }
    if (latest_) return *latest_;
    return child_ >= 0 ? read() : Reading{};
  }
  nlohmann::json environment() const override {
    return {{"command", command_}, {"timeout_ms", timeout_ms_}};
  }

 private:
  void launch() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    const char* argv[] = {"/bin/sh", "-c", command_.c_str(), nullptr};
    const pid_t pid = fork();
    if (pid < 0) {
      close(fds[0]);
      close(fds[1]);
      return;
    }
    if (pid == 0) {  // child: only async-signal-safe calls until exec
      setpgid(0, 0);
      signal(SIGPIPE, SIG_DFL);  // greentrain ignores it; the command gets the usual default
      dup2(fds[1], STDOUT_FILENO);
      const int null = open("/dev/null", O_RDONLY);
      if (null >= 0) dup2(null, STDIN_FILENO);
      execv("/bin/sh", const_cast<char* const*>(argv));
      _exit(127);
    }
    setpgid(pid, pid);
    close(fds[1]);
    child_ = pid;
    fd_ = fds[0];
    out_.clear();
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  }

  // Waits (until the deadline) for the running command, then reaps it.
  Reading collect() {
    Reading r;
    if (child_ < 0) return r;
    bool eof = false, overflow = false, exited = false;
    auto left_ms = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ -
                                                                   std::chrono::steady_clock::now())
          .count();
    };
    char buf[4096];
    while (!eof && !overflow && left_ms() > 0) {
      pollfd p{fd_, POLLIN, 0};
      const int n = poll(&p, 1, static_cast<int>(left_ms()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      const ssize_t got = ::read(fd_, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        eof = true;
      } else {
        out_.append(buf, static_cast<size_t>(got));
        overflow = out_.size() > kMaxCommandOutput;
      }
    }
    // Output closed: wait for the shell's exit without reaping it yet, so its process group
    // cannot be reused before the kill below.
    while (eof && !exited && left_ms() > 0) {
      siginfo_t si{};
      if (waitid(P_PID, static_cast<id_t>(child_), &si, WEXITED | WNOHANG | WNOWAIT) != 0) break;
      if (si.si_pid == child_) {
        exited = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    int status = 0;
    kill(-child_, SIGKILL);  // whatever it left running, or all of it when late
    while (waitpid(child_, &status, 0) < 0 && errno == EINTR) {
    }
    close(fd_);
    child_ = fd_ = -1;
    if (exited && !overflow && WIFEXITED(status) && WEXITSTATUS(status) == 0)
      r.power_w = parse_watts(out_);
    out_.clear();
    return r;
  }

  void abandon() {
    if (child_ < 0) return;
    kill(-child_, SIGKILL);
    int status = 0;
    while (waitpid(child_, &status, 0) < 0 && errno == EINTR) {
    }
    close(fd_);
    child_ = fd_ = -1;
  }

  static constexpr size_t kMaxCommandOutput = 64 * 1024;
  std::string command_;
  int timeout_ms_;
  pid_t child_ = -1;
  int fd_ = -1;
  std::string out_;
  std::chrono::steady_clock::time_point deadline_;
  std::optional<Reading> latest_;
  bool window_started_ = false;
};

// Keeps at most kMaxHttpBody bytes: a larger answer is not a plug's status (returning less
// than given makes libcurl stop with an error, a missed sample).
constexpr size_t kMaxHttpBody = 1 << 20;
size_t curl_append(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * n > kMaxHttpBody) return 0;
  body->append(data, size * n);
  return size * n;
}

class HttpWallMeter : public Meter {
 public:
  HttpWallMeter(std::string url, std::string pointer, int interval_ms)
      : url_(std::move(url)),
        pointer_(std::move(pointer)),
        timeout_ms_(std::clamp(interval_ms, 200, 5000)),
        curl_(curl_easy_init()) {}
  ~HttpWallMeter() override { curl_easy_cleanup(curl_); }
  Component component() const override { return Component::wall; }
  std::string device() const override { return "http"; }
  Source source() const override { return Source::measured; }
  std::string model() const override { return fmt::format("smart plug {}#{}", url_, pointer_); }
  bool slow() const override { return true; }
  Reading read() override {
    Reading r;
    if (!curl_) return r;
    std::string body;
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, curl_append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_FAILONERROR, 1L);
    if (curl_easy_perform(curl_) != CURLE_OK) return r;
    r.power_w = parse_json_watts(body, pointer_);  // a malformed answer is a missed sample
    return r;
  }
  nlohmann::json environment() const override { return {{"url", url_}, {"pointer", pointer_}}; }

 private:
  std::string url_, pointer_;
  int timeout_ms_;
  CURL* curl_;
};

class ManualWallMeter : public Meter {
 public:
  explicit ManualWallMeter(ManualIo io) : io_(io) {}
  Component component() const override { return Component::wall; }
  std::string device() const override { return "manual"; }
  Source source() const override { return Source::measured; }
  std::string model() const override {
    return start_kwh_ ? "wall meter kWh readings typed by hand"
                      : "wall meter average watts typed by hand";
  }
  bool can_measure_idle() const override { return false; }
  Reading read() override { return {}; }
  void begin() override {
    start_kwh_ =
        ask("wall meter: type its kWh reading now (or press Enter to give the average watts at the "
            "end): ");
  }
  std::optional<double> end(double duration_s) override {
    if (start_kwh_) {
      auto end_kwh = ask("wall meter: type its kWh reading now: ");
      if (!end_kwh || *end_kwh < *start_kwh_) return std::nullopt;  // a typo, not a negative
      return (*end_kwh - *start_kwh_) * 3.6e6;
    }
    auto watts = ask("wall meter: type the average watts it showed during the run: ");
    if (!watts || !plausible_power_w(*watts)) return std::nullopt;
    return *watts * duration_s;
  }

 private:
  std::optional<double> ask(const std::string& prompt) {
    std::ostream& out = io_.out ? *io_.out : std::cerr;
    std::ifstream tty;
    std::istream* in = io_.in;
    if (!in) {
      tty.open("/dev/tty");
      in = tty.is_open() ? static_cast<std::istream*>(&tty) : &std::cin;
    }
    out << prompt << std::flush;
    std::string line;
    if (!std::getline(*in, line)) return std::nullopt;
    auto v = parse_finite(line);
    if (!v || *v < 0) {
      out << "wall meter: '" << line.substr(0, 40)
          << "' is not a non-negative number; no wall reading for this run\n";
      return std::nullopt;
    }
    return v;
  }
  ManualIo io_;
  std::optional<double> start_kwh_;
};

class FileWallMeter : public Meter {
 public:
  explicit FileWallMeter(std::string path) : path_(std::move(path)) {}
  Component component() const override { return Component::wall; }
  std::string device() const override { return "file"; }
  Source source() const override { return Source::measured; }
  std::string model() const override { return "wall meter log " + path_; }
  Reading read() override { return {}; }
  void begin() override { t0_ = unix_now(); }
  std::optional<double> end(double duration_s) override {
    std::ifstream in(path_);
    if (!in) return std::nullopt;
    auto pts = parse_wall_log(in, path_);
    if (pts.empty() || pts.back().first < t0_ || pts.front().first > t0_ + duration_s)
      return std::nullopt;  // the log does not cover the window
    return integrate_power(pts, t0_, t0_ + duration_s);
  }
  nlohmann::json environment() const override { return {{"file", path_}}; }

 private:
  std::string path_;
  double t0_ = 0;
};

}  // namespace

std::unique_ptr<Meter> make_wall_meter(const std::string& spec, int interval_ms, ManualIo io) {
  if (spec.empty()) return nullptr;
  if (spec == "manual") return std::make_unique<ManualWallMeter>(io);
  if (spec.rfind("cmd:", 0) == 0) {
    if (spec.size() == 4)
      throw UsageError("--wall cmd: needs a command, e.g. cmd:'ipmitool dcmi power reading'");
    return std::make_unique<CmdWallMeter>(spec.substr(4), interval_ms);
  }
  if (spec.rfind("file:", 0) == 0) {
    if (spec.size() == 5) throw UsageError("--wall file: needs a CSV path (timestamp,watts)");
    return std::make_unique<FileWallMeter>(spec.substr(5));
  }
  if (spec.rfind("http:", 0) == 0 || spec.rfind("https://", 0) == 0) {
    std::string rest = spec.rfind("https://", 0) == 0 ? spec : spec.substr(5);
    if (rest.rfind("//", 0) == 0) rest = "http:" + rest;  // http://host/... given whole
    const auto hash = rest.rfind('#');
    if (hash == std::string::npos || hash + 1 >= rest.size() || rest[hash + 1] != '/')
      throw UsageError(
          fmt::format("--wall {}: expected http:<url>#<json-pointer>, e.g. "
                      "http:http://192.168.1.50/rpc/Switch.GetStatus?id=0#/apower",
                      spec));
    try {
      nlohmann::json::json_pointer check(rest.substr(hash + 1));
    } catch (const nlohmann::json::exception&) {
      throw UsageError(fmt::format("--wall {}: '{}' is not a JSON pointer (e.g. /apower)", spec,
                                   rest.substr(hash + 1)));
    }
    return std::make_unique<HttpWallMeter>(rest.substr(0, hash), rest.substr(hash + 1),
                                           interval_ms);
  }
  throw UsageError(fmt::format(
      "--wall {}: unknown wall meter; expected cmd:<command>, http:<url>#<json-pointer>, manual "
      "or file:<csv>",
      spec));
}

}  // namespace gt::energy
