// Meters fed bad outside numbers. Each case is a missed sample, never a crash, a hang, a NaN, an
// infinity or a negative energy: a wall command printing 1e999, -250 or 1e308, one that never
// ends (`yes`) or answers after 20 s; a wall logger CSV with NaN watts and a 400-digit
// timestamp; RAPL energy_uj of "nan" and a counter drop with max_energy_range_uj 0; an NVML
// counter reset; smart-plug JSON of the wrong shape; /proc files with junk.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <sstream>
#include <thread>

#include "common/scoped_env.h"
#include "common/temp_dir.h"
#include "energy/estimate.h"
#include "energy/rapl.h"
#include "energy/session.h"
#include "energy/wall.h"

namespace gt::energy {
namespace {
using testing::ScopedEnv;
using testing::TempDir;
using testing::write_file;

struct Timed {
  Summary summary;
  double elapsed_s = 0;
};

// A session with only the given wall meter besides the CPU/RAM estimates, over `ms`.
Timed run_wall(const std::string& wall, int ms) {
  MeterOptions o;
  o.gpus = "none";
  o.wall = wall;
  o.interval_ms = 50;
  o.cpu_tdp_w = 10;
  const auto t0 = std::chrono::steady_clock::now();
  Session s(o);
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  Timed t{s.stop(), 0};
  t.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return t;
}

const ComponentEnergy* wall_of(const Summary& s) {
  for (const auto& c : s.components)
    if (c.component == gt::Component::wall) return &c;
  return nullptr;
}

void expect_no_wall_reading(const Summary& s) {
  EXPECT_EQ(wall_of(s), nullptr);
  EXPECT_FALSE(s.wall_energy_j);
  EXPECT_TRUE(std::isfinite(s.energy_j));
  EXPECT_GE(s.energy_j, 0);
}

TEST(MeterRobustness, WallCommandOverflowingNumberIsAMissedSample) {
  ScopedEnv no_rapl("GREENTRAIN_POWERCAP_ROOT", "/nonexistent");
  expect_no_wall_reading(run_wall("cmd:echo 1e999", 200).summary);
}

TEST(MeterRobustness, WallCommandNegativeOrAbsurdPowerIsAMissedSample) {
  ScopedEnv no_rapl("GREENTRAIN_POWERCAP_ROOT", "/nonexistent");
  expect_no_wall_reading(run_wall("cmd:echo -250", 200).summary);
  expect_no_wall_reading(run_wall("cmd:echo 1e308", 200).summary);
}

TEST(MeterRobustness, WallCommandThatNeverEndsIsKilled) {
  ScopedEnv no_rapl("GREENTRAIN_POWERCAP_ROOT", "/nonexistent");
  const Timed t = run_wall("cmd:yes 123", 300);
  expect_no_wall_reading(t.summary);
  EXPECT_LT(t.elapsed_s, 6.0);  // its output is capped and it is killed, not read for ever
}

TEST(MeterRobustness, SlowWallCommandNeitherStretchesTheWindowNorHangs) {
  ScopedEnv no_rapl("GREENTRAIN_POWERCAP_ROOT", "/nonexistent");
  const Timed t = run_wall("cmd:sleep 20; echo 100", 500);
  expect_no_wall_reading(t.summary);
  EXPECT_LT(t.summary.duration_s, 1.5);  // was 20.7 s: the first read blocked start()
  EXPECT_LT(t.elapsed_s, 6.0);           // the late command is killed after its 2 s budget
}

TEST(MeterRobustness, WallCommandsStillReadWhenHealthy) {
  ScopedEnv no_rapl("GREENTRAIN_POWERCAP_ROOT", "/nonexistent");
  const Timed t = run_wall("cmd:echo 200", 400);
  const auto* w = wall_of(t.summary);
  ASSERT_NE(w, nullptr);
  EXPECT_NEAR(w->avg_power_w, 200.0, 2.0);
}

TEST(MeterRobustness, WallLogWithNanAndHugeTimestampsKeepsTheGoodRows) {
  std::istringstream log(
      "timestamp,watts\n"
      "100,nan\n"
      "100,50\n" +
      std::string(400, '9') +
      ",70\n"
      "110,inf\n"
      "110,50\n"
      "115,-20\n"
      "\"120\",\"50\"\n");
  const auto pts = parse_wall_log(log, "log.csv");
  ASSERT_EQ(pts.size(), 3u);
  EXPECT_DOUBLE_EQ(integrate_power(pts, 100, 120), 1000.0);
  EXPECT_FALSE(parse_timestamp(std::string(400, '9')));
  EXPECT_FALSE(parse_timestamp("2024-01-01T00:00:00." + std::string(400, '9') + "Zjunk"));
  EXPECT_NEAR(*parse_timestamp("2024-01-01T00:00:00." + std::string(400, '5') + "Z"),
              1704067200.5555555, 1e-6);
}

TEST(MeterRobustness, WallLogMeterWithNanRowsGivesFiniteEnergy) {
  ScopedEnv no_rapl("GREENTRAIN_POWERCAP_ROOT", "/nonexistent");
  TempDir t;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string text = "timestamp,watts\n";
  for (int i = -5; i <= 10; ++i) text += std::to_string(now + i) + (i % 2 ? ",nan\n" : ",100\n");
  write_file(t / "log.csv", text);
  const Timed r = run_wall("file:" + (t / "log.csv"), 300);
  const auto* w = wall_of(r.summary);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(std::isfinite(w->energy_j));
  EXPECT_NEAR(w->avg_power_w, 100.0, 1.0);
}

TEST(MeterRobustness, SmartPlugJsonOfTheWrongShapeIsAMissedSample) {
  EXPECT_DOUBLE_EQ(*parse_json_watts(R"({"apower": 12.5})", "/apower"), 12.5);
  EXPECT_DOUBLE_EQ(*parse_json_watts(R"({"a": {"P": "40"}})", "/a/P"), 40.0);
  for (const char* body :
       {R"({"apower": "nan"})", R"({"apower": -3})", R"({"apower": 1e308})", R"({"apower": [1]})",
        R"([1, 2])", "not json", R"({"apower": "1e999"})", ""})
    EXPECT_FALSE(parse_json_watts(body, "/apower")) << body;
  EXPECT_FALSE(parse_json_watts(R"({"a": 1})", "/a/b/c"));
}

// A one-zone powercap tree whose energy_uj the test rewrites.
struct RaplZoneFile {
  TempDir t;
  std::string zone = t / "intel-rapl:0";
  RaplZoneFile(const std::string& uj, const std::string& max_uj) {
    write_file(zone + "/name", "package-0\n");
    write_file(zone + "/energy_uj", uj);
    write_file(zone + "/max_energy_range_uj", max_uj);
  }
};

TEST(MeterRobustness, RaplNanCounterIsAMissedSample) {
  RaplZoneFile z("1000000\n", "262143328850\n");
  ScopedEnv root("GREENTRAIN_POWERCAP_ROOT", z.t.str());
  RaplProbe p = probe_rapl();
  ASSERT_EQ(p.zones.size(), 1u);
  auto m = make_rapl_meter(p.zones[0]);
  m->begin();
  EXPECT_DOUBLE_EQ(*m->read().energy_j, 0.0);
  write_file(z.zone + "/energy_uj", "nan\n");
  EXPECT_FALSE(m->read().energy_j);
  write_file(z.zone + "/energy_uj", std::string(400, '9') + "\n");
  EXPECT_FALSE(m->read().energy_j);
  write_file(z.zone + "/energy_uj", "3000000\n");
  EXPECT_NEAR(*m->read().energy_j, 2.0, 1e-12);
}

TEST(MeterRobustness, RaplCounterDropWithoutRangeIsNotNegative) {
  RaplZoneFile z("900000000\n", "0\n");  // max_energy_range_uj 0: a wrap cannot be undone
  ScopedEnv root("GREENTRAIN_POWERCAP_ROOT", z.t.str());
  RaplProbe p = probe_rapl();
  auto m = make_rapl_meter(p.zones[0]);
  m->begin();
  m->read();
  write_file(z.zone + "/energy_uj", "3000000\n");  // dropped by 897 J
  EXPECT_DOUBLE_EQ(*m->read().energy_j, 0.0);      // was -897 J
  write_file(z.zone + "/energy_uj", "5000000\n");
  EXPECT_NEAR(*m->read().energy_j, 2.0, 1e-12);
}

TEST(MeterRobustness, NvmlCounterResetAndAbsurdPowerAreNotCounted) {
  Accumulator a;  // NVML-shaped readings: a counter in J and instant power
  Reading r;
  r.power_w = 100;
  r.energy_j = 1e6;
  a.add(0, r);
  r.energy_j = 1e6 + 100;
  a.add(1, r);
  r.energy_j = 11;  // the driver reloaded: the counter restarts near zero
  a.add(2, r);
  r.energy_j = 111;
  a.add(3, r);
  EXPECT_NEAR(a.energy_j(), 200.0, 1e-9);  // was -999 989 J
  r.energy_j = 111 + 1e300;                // a counter jump beyond any power
  r.power_w = 1e308;
  a.add(4, r);
  r.energy_j = std::nan("");
  r.power_w = std::nan("");
  a.add(5, r);
  EXPECT_NEAR(a.energy_j(), 200.0, 1e-9);
  EXPECT_NEAR(a.peak_power_w(), 100.0, 1e-9);

  Accumulator p;  // power only
  Reading q;
  q.power_w = 50;
  p.add(0, q);
  q.power_w = -1;
  p.add(1, q);
  q.power_w = 50;
  p.add(2, q);
  EXPECT_NEAR(p.energy_j(), 100.0, 1e-9);
}

TEST(MeterRobustness, ProcFilesWithJunkAreUnusable) {
  EXPECT_FALSE(parse_proc_stat("cpu nan 1 2 3 4\n"));
  EXPECT_FALSE(parse_proc_stat("cpu 1e999 1 2 3\n"));
  EXPECT_FALSE(parse_proc_stat("cpu -5 1 2 3\n"));
  EXPECT_TRUE(parse_proc_stat("cpu 10 0 5 100 5 0 0 0 0 0\n"));
  auto mem = [](const std::string& text) {
    return installed_ram_gb([text](const std::string&) { return FileRead{text, 0}; });
  };
  EXPECT_NEAR(*mem("MemTotal:       16384000 kB\n"), 15.625, 1e-9);
  EXPECT_FALSE(mem("MemTotal: nan kB\n"));
  EXPECT_FALSE(mem("MemTotal: -1 kB\n"));
  EXPECT_FALSE(mem("MemTotal: 1e300 kB\n"));
}

}  // namespace
}  // namespace gt::energy
