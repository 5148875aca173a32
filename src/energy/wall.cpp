// Wall meters (see wall.h).
#include "energy/wall.h"

#include <curl/curl.h>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include "common/error.h"

namespace gt::energy {

std::optional<double> parse_watts(const std::string& text) {
  static const std::regex ipmi(R"(Instantaneous power reading:\s*([0-9]+(\.[0-9]+)?)\s*Watts)",
                               std::regex::icase);
  static const std::regex number(R"([-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)");
  std::smatch m;
  if (std::regex_search(text, m, ipmi)) return std::stod(m[1]);
  if (std::regex_search(text, m, number)) return std::stod(m[0]);
  return std::nullopt;
}

std::optional<double> parse_timestamp(const std::string& raw) {
  std::string s = raw;
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == '"' || c == '\r'; }),
          s.end());
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  static const std::regex epoch(R"(^[0-9]+(\.[0-9]+)?$)");
  if (std::regex_match(s, epoch)) return std::stod(s);
  static const std::regex iso(
      R"(^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$)");
  std::smatch m;
  if (!std::regex_match(s, m, iso)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  double frac = m[7].matched ? std::stod("0" + m[7].str()) : 0.0;
  if (!m[8].matched) {
    tm.tm_isdst = -1;
    return static_cast<double>(std::mktime(&tm)) + frac;  // no zone: local time
  }
  double t = static_cast<double>(timegm(&tm)) + frac;
  const std::string zone = m[8];
  if (zone != "Z") {
    const int sign = zone[0] == '-' ? -1 : 1;
    std::string digits = zone.substr(1);
    digits.erase(std::remove(digits.begin(), digits.end(), ':'), digits.end());
    t -= sign * (std::stoi(digits.substr(0, 2)) * 3600 + std::stoi(digits.substr(2, 2)) * 60);
  }
  return t;
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

class CmdWallMeter : public Meter {
 public:
  explicit CmdWallMeter(std::string command) : command_(std::move(command)) {}
  std::string component() const override { return "wall"; }
  std::string device() const override { return "cmd"; }
  std::string source() const override { return "measured"; }
  std::string model() const override { return "wall meter, command: " + command_; }
  bool slow() const override { return true; }
  Reading read() override {
    Reading r;
    FILE* p = popen(command_.c_str(), "r");
    if (!p) return r;
    std::string out;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    if (status != 0) return r;
    r.power_w = parse_watts(out);
    return r;
  }
  nlohmann::json environment() const override { return {{"command", command_}}; }

 private:
  std::string command_;
};

size_t curl_append(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
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
  std::string component() const override { return "wall"; }
  std::string device() const override { return "http"; }
  std::string source() const override { return "measured"; }
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
    try {
      const auto j = nlohmann::json::parse(body);
      const auto& v = j.at(nlohmann::json::json_pointer(pointer_));
      if (v.is_number()) r.power_w = v.get<double>();
      if (v.is_string()) r.power_w = std::stod(v.get<std::string>());
    } catch (...) {
      // a malformed answer is a missed sample, like a timeout
    }
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
  std::string component() const override { return "wall"; }
  std::string device() const override { return "manual"; }
  std::string source() const override { return "measured"; }
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
      if (!end_kwh) return std::nullopt;
      return (*end_kwh - *start_kwh_) * 3.6e6;
    }
    auto watts = ask("wall meter: type the average watts it showed during the run: ");
    if (!watts) return std::nullopt;
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
    try {
      size_t used = 0;
      double v = std::stod(line, &used);
      return v;
    } catch (...) {
      return std::nullopt;
    }
  }
  ManualIo io_;
  std::optional<double> start_kwh_;
};

class FileWallMeter : public Meter {
 public:
  explicit FileWallMeter(std::string path) : path_(std::move(path)) {}
  std::string component() const override { return "wall"; }
  std::string device() const override { return "file"; }
  std::string source() const override { return "measured"; }
  std::string model() const override { return "wall meter log " + path_; }
  Reading read() override { return {}; }
  void begin() override { t0_ = unix_now(); }
  std::optional<double> end(double duration_s) override {
    std::ifstream in(path_);
    if (!in) return std::nullopt;
    std::vector<std::pair<double, double>> pts;
    std::string line;
    while (std::getline(in, line)) {
      auto comma = line.find(',');
      if (comma == std::string::npos) continue;
      auto t = parse_timestamp(line.substr(0, comma));
      if (!t) continue;  // the header or a malformed row
      try {
        pts.emplace_back(*t, std::stod(line.substr(comma + 1)));
      } catch (...) {
      }
    }
    std::sort(pts.begin(), pts.end());
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
    return std::make_unique<CmdWallMeter>(spec.substr(4));
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
    return std::make_unique<HttpWallMeter>(rest.substr(0, hash), rest.substr(hash + 1),
                                           interval_ms);
  }
  throw UsageError(fmt::format(
      "--wall {}: unknown wall meter; expected cmd:<command>, http:<url>#<json-pointer>, manual "
      "or file:<csv>",
      spec));
}

}  // namespace gt::energy
