// Session: idle baseline and net energy, repeated start/stop, interruption flag, misuse errors,
// the JSON keys measure prints, the trace CSV, and the sampler's own CPU time.
#include "energy/session.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "common/error.h"
#include "common/scoped_env.h"
#include "common/temp_dir.h"
#include "energy/summary_table.h"
#include "fake_gpu_session.h"

namespace gt::energy {
namespace {
using testing::write_file;

// Every session test starts from one fake GPU drawing 150 W.
class SessionTest : public FakeGpuSessionTest {
 protected:
  SessionTest() { write_file(dir / "nvml.txt", "gpus=1\ngpu0.power_w=150\n"); }
};

TEST_F(SessionTest, IdleBaselineGivesNetEnergy) {
  Session s(options());
  s.measure_idle(0.2);
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Summary sum = s.stop();
  for (const auto& c : sum.components) {
    ASSERT_TRUE(c.idle_power_w) << c.component;
    ASSERT_TRUE(c.net_energy_j) << c.component;
    EXPECT_NEAR(*c.net_energy_j, c.energy_j - *c.idle_power_w * sum.duration_s, 1e-9);
  }
  // Constant fake GPU power and constant RAM watts: net energy of those is ~0.
  for (const auto& c : sum.components) {
    if (c.component != gt::Component::cpu) {
      EXPECT_NEAR(*c.net_energy_j, 0.0, 0.05 * c.energy_j) << c.component;
    }
  }
  ASSERT_TRUE(sum.net_energy_j);
  double net = 0;
  for (const auto& c : sum.components) net += *c.net_energy_j;
  EXPECT_NEAR(*sum.net_energy_j, net, 1e-9);
}

TEST_F(SessionTest, RepeatedWindowsAndMisuse) {
  Session s(options());
  EXPECT_THROW(s.stop(), Error);
  s.start();
  EXPECT_THROW(s.start(), Error);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Summary a = s.stop();
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  s.mark_interrupted();
  Summary b = s.stop();
  EXPECT_FALSE(a.interrupted);
  EXPECT_TRUE(b.interrupted);
  EXPECT_GT(b.duration_s, a.duration_s);
  EXPECT_NEAR(b.component_energy_j(gt::Component::gpu), 150 * b.duration_s,
              0.05 * 150 * b.duration_s);
  EXPECT_NEAR(b.energy_j,
              b.component_energy_j(gt::Component::gpu) + b.component_energy_j(gt::Component::cpu) +
                  b.component_energy_j(gt::Component::ram),
              1e-9);
  EXPECT_FALSE(b.net_energy_j);  // no idle baseline: no net energy, not a zero
}

TEST_F(SessionTest, IntervalBoundsAreUsageErrors) {
  MeterOptions o = options();
  o.interval_ms = 5;
  EXPECT_THROW(Session{o}, UsageError);
  o.interval_ms = 60001;
  EXPECT_THROW(Session{o}, UsageError);
}

TEST_F(SessionTest, JsonTraceAndTable) {
  Session s(options());
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  Summary sum = s.stop();
  auto j = sum.to_json();
  for (const char* key :
       {"duration_s", "energy_j", "gpu_energy_j", "cpu_energy_j", "ram_energy_j", "wall_energy_j",
        "net_energy_j", "avg_power_w", "components", "interrupted", "sampler_cpu_s"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j["wall_energy_j"].is_null());
  EXPECT_TRUE(j["net_energy_j"].is_null());
  EXPECT_EQ(j["components"][0]["component"], "gpu");
  EXPECT_EQ(j["components"][0]["source"], "measured");
  const std::string path = dir / "trace.csv";
  write_trace_csv(sum, path);
  std::ifstream in(path);
  std::string header, row;
  std::getline(in, header);
  EXPECT_EQ(header,
            "t_s,component,device,power_w,energy_j,sm_clock_mhz,temperature_c,utilization_pct,"
            "memory_used_mb");
  int rows = 0;
  while (std::getline(in, row)) ++rows;
  EXPECT_EQ(rows, static_cast<int>(sum.samples.size()));
  EXPECT_GT(rows, 6);
  EXPECT_THROW(write_trace_csv(sum, "/nonexistent/dir/t.csv"), Error);
  const std::string table = format_summary_table(sum);
  EXPECT_NE(table.find("nvml-energy-counter"), std::string::npos);
  EXPECT_NE(table.find("total (gpu+cpu+ram)"), std::string::npos);
}

TEST_F(SessionTest, SamplerOverheadIsSmall) {
  MeterOptions o = options();
  o.interval_ms = 10;
  Session s(o);
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Summary sum = s.stop();
  // 50 reads of three meters: a few per cent of one core at 10 ms (5.8 % measured in the checked
  // build beside a compile on a 2-core machine). A polling or busy sampler would take most of a
  // core; 10 % leaves room for a loaded machine and still catches one.
  EXPECT_GT(sum.sampler_cpu_s, 0.0);
  EXPECT_LT(sum.sampler_cpu_s / sum.duration_s, 0.10);
}

}  // namespace
}  // namespace gt::energy
