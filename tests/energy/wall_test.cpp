// Wall meters: the ipmitool parser on real output samples, the cmd: meter against scripts,
// the http: meter against a small HTTP server on 127.0.0.1 run by the test (Shelly and Tasmota
// shapes, HTTP errors, a missing JSON pointer), the file: logger CSV, manual entry, and the
// malformed --wall values.
#include "energy/wall.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/scoped_env.h"
#include "common/temp_dir.h"
#include "energy/session.h"

namespace gt::energy {
namespace {
using testing::ScopedEnv;
using testing::TempDir;
using testing::write_file;

// Real `ipmitool dcmi power reading` output (Dell iDRAC 9, Supermicro X11).
const char* kIpmiDell = R"(
    Instantaneous power reading:                   238 Watts
    Minimum during sampling period:                 84 Watts
    Maximum during sampling period:                532 Watts
    Average power reading over sample period:      236 Watts
    IPMI timestamp:                           Tue Mar 12 10:31:07 2024
    Sampling period:                          00000001 Seconds.
    Power reading state is:                   activated
)";
const char* kIpmiSupermicro = R"(
    Instantaneous power reading:   1034 Watts
    Minimum during sampling period:  12 Watts
    Maximum during sampling period:  1422 Watts
    Average power reading over sample period:   987 Watts
    IPMI timestamp:                           Thu Jan  1 00:00:00 1970
    Sampling period:                          00000005 Seconds.
    Power reading state is:                   activated
)";

TEST(Wall, ParseWatts) {
  EXPECT_DOUBLE_EQ(*parse_watts(kIpmiDell), 238.0);
  EXPECT_DOUBLE_EQ(*parse_watts(kIpmiSupermicro), 1034.0);
  EXPECT_DOUBLE_EQ(*parse_watts("123.5\n"), 123.5);
  EXPECT_DOUBLE_EQ(*parse_watts("power: 87 W"), 87.0);
  EXPECT_FALSE(parse_watts("no reading available\n"));
  EXPECT_FALSE(parse_watts(""));
}

TEST(Wall, ParseTimestamp) {
  // Reference values: Python datetime(2024,1,1,tzinfo=timezone.utc).timestamp() == 1704067200.
  EXPECT_DOUBLE_EQ(*parse_timestamp("1704067200"), 1704067200.0);
  EXPECT_DOUBLE_EQ(*parse_timestamp("1704067200.25"), 1704067200.25);
  EXPECT_DOUBLE_EQ(*parse_timestamp("2024-01-01T00:00:00Z"), 1704067200.0);
  EXPECT_DOUBLE_EQ(*parse_timestamp("2024-01-01 01:00:00.5+01:00"), 1704067200.5);
  EXPECT_DOUBLE_EQ(*parse_timestamp("\"2023-12-31T19:00:00-05:00\""), 1704067200.0);
  EXPECT_FALSE(parse_timestamp("timestamp"));
  EXPECT_FALSE(parse_timestamp("2024-13"));
}

TEST(Wall, IntegratePowerPiecewiseLinear) {
  std::vector<std::pair<double, double>> pts = {{0, 100}, {10, 200}, {20, 200}};
  EXPECT_NEAR(integrate_power(pts, 0, 20), 1500 + 2000, 1e-9);
  EXPECT_NEAR(integrate_power(pts, 5, 15), 0.5 * (150 + 200) * 5 + 1000, 1e-9);
  EXPECT_NEAR(integrate_power(pts, -5, 0), 500, 1e-9);  // held before the first point
  EXPECT_NEAR(integrate_power({}, 0, 1), 0, 1e-12);
}

TEST(Wall, MalformedSpecsAreUsageErrors) {
  for (const char* bad : {"bogus", "cmd:", "file:", "http:http://127.0.0.1/x", "http:x#apower"}) {
    try {
      make_wall_meter(bad, 100);
      FAIL() << bad;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--wall"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(make_wall_meter("", 100), nullptr);
}

Summary run_session(const std::string& wall, int ms, int interval_ms = 50) {
  MeterOptions o;
  o.gpus = "none";
  o.wall = wall;
  o.interval_ms = interval_ms;
  o.cpu_tdp_w = 10;
  Session s(o);
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return s.stop();
}

const ComponentEnergy* wall_of(const Summary& s) {
  for (const auto& c : s.components)
    if (c.component == gt::Component::wall) return &c;
  return nullptr;
}

TEST(Wall, CmdMeterRunsScriptEachInterval) {
  TempDir t;
  write_file(t / "ipmi.sh", std::string("#!/bin/sh\ncat <<'X'\n") + kIpmiDell + "X\n");
  Summary s = run_session("cmd:sh " + (t / "ipmi.sh"), 400);
  const auto* w = wall_of(s);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->source, gt::Source::measured);
  EXPECT_NEAR(w->avg_power_w, 238.0, 238.0 * 0.01);
  ASSERT_TRUE(s.wall_energy_j);
  EXPECT_NEAR(*s.wall_energy_j, 238.0 * s.duration_s, 238.0 * s.duration_s * 0.01);
  EXPECT_EQ(s.component_energy_j(gt::Component::wall), *s.wall_energy_j);
  EXPECT_LT(s.energy_j, *s.wall_energy_j);  // wall is not added to gpu+cpu+ram
}

TEST(Wall, FailingCommandGivesNoteNotZero) {
  Summary s = run_session("cmd:exit 3", 150);
  EXPECT_EQ(wall_of(s), nullptr);
  EXPECT_FALSE(s.wall_energy_j);
  bool noted = false;
  for (const auto& n : s.notes) noted |= n.find("wall cmd") == 0;
  EXPECT_TRUE(noted);
}

// A one-thread HTTP server on 127.0.0.1: answers every request with `status` and `body`.
class HttpServer {
 public:
  HttpServer(int status, std::string body) : status_(status), body_(std::move(body)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }
  int requests() const { return requests_; }
  std::string last_path() {
    std::lock_guard l(mu_);
    return last_path_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      char buf[4096];
      ssize_t n = recv(c, buf, sizeof buf - 1, 0);
      if (n > 0) {
        buf[n] = 0;
        std::istringstream req(buf);
        std::string method, path;
        req >> method >> path;
        {
          std::lock_guard l(mu_);
          last_path_ = path;
        }
      }
      ++requests_;
      std::string resp = fmt::format(
          "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
          "Connection: close\r\n\r\n{}",
          status_, body_.size(), body_);
      send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      close(c);
    }
  }
  int status_;
  std::string body_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::string last_path_;
  std::thread thread_;
};

TEST(Wall, HttpShellyPlug) {
  HttpServer server(200,
                    R"({"id":0,"source":"init","output":true,"apower":142.5,"voltage":230.1})");
  Summary s = run_session("http:" + server.url("/rpc/Switch.GetStatus?id=0") + "#/apower", 400);
  const auto* w = wall_of(s);
  ASSERT_TRUE(w) << (s.notes.empty() ? "" : s.notes[0]);
  EXPECT_NEAR(w->avg_power_w, 142.5, 142.5 * 0.01);
  EXPECT_NE(w->model.find("#/apower"), std::string::npos);
  EXPECT_GE(server.requests(), 4);
  EXPECT_EQ(server.last_path(), "/rpc/Switch.GetStatus?id=0");
}

TEST(Wall, HttpTasmotaNestedPointerWithoutPrefix) {
  HttpServer server(200, R"({"StatusSNS":{"Time":"2024-01-01T00:00:00","ENERGY":{"Power":"61"}}})");
  // The whole URL after --wall (it starts with http:) works too; string numbers are accepted.
  Summary s = run_session(server.url("/cm?cmnd=Status%208") + "#/StatusSNS/ENERGY/Power", 300);
  const auto* w = wall_of(s);
  ASSERT_TRUE(w);
  EXPECT_NEAR(w->avg_power_w, 61.0, 0.61);
}

TEST(Wall, HttpErrorsAndMissingPointerGiveNoReading) {
  HttpServer failing(500, "{}");
  Summary s = run_session("http:" + failing.url("/x") + "#/apower", 150);
  EXPECT_EQ(wall_of(s), nullptr);
  HttpServer wrong(200, R"({"power":1})");
  Summary s2 = run_session("http:" + wrong.url("/x") + "#/apower", 150);
  EXPECT_EQ(wall_of(s2), nullptr);
  bool noted = false;
  for (const auto& n : s2.notes) noted |= n.find("no reading") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(Wall, FileLoggerIsIntegratedOverTheWindow) {
  TempDir t;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string csv = "timestamp,watts\n";
  for (int i = -5; i <= 10; ++i) csv += fmt::format("{:.3f},{}\n", now + i * 0.1, 300);
  write_file(t / "log.csv", csv);
  Summary s = run_session("file:" + (t / "log.csv"), 300);
  const auto* w = wall_of(s);
  ASSERT_TRUE(w);
  EXPECT_NEAR(w->energy_j, 300 * s.duration_s, 1e-6 * 300);
  Summary missing = run_session("file:" + (t / "absent.csv"), 50);
  EXPECT_EQ(wall_of(missing), nullptr);
}

TEST(Wall, ManualKwhReadings) {
  std::istringstream in("1234.5\n1234.75\n");
  std::ostringstream out;
  auto m = make_wall_meter("manual", 100, {&in, &out});
  m->begin();
  auto e = m->end(10.0);
  ASSERT_TRUE(e);
  EXPECT_NEAR(*e, 0.25 * 3.6e6, 1e-6);
  EXPECT_NE(out.str().find("kWh reading"), std::string::npos);
  EXPECT_FALSE(m->can_measure_idle());
}

TEST(Wall, ManualAverageWatts) {
  std::istringstream in("\n250\n");
  std::ostringstream out;
  auto m = make_wall_meter("manual", 100, {&in, &out});
  m->begin();
  auto e = m->end(4.0);
  ASSERT_TRUE(e);
  EXPECT_NEAR(*e, 1000.0, 1e-9);
  EXPECT_NE(out.str().find("average watts"), std::string::npos);
  std::istringstream bad("\nabc\n");
  auto m2 = make_wall_meter("manual", 100, {&bad, &out});
  m2->begin();
  EXPECT_FALSE(m2->end(4.0));
}

}  // namespace
}  // namespace gt::energy
