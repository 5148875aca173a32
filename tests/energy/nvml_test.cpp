// NVML meter against the fake libnvidia-ml (fake_nvml.cpp): missing library, init errors, two
// GPUs with and without the energy counter, the instant-power field, GPU selection, errors.
#include "energy/nvml.h"

#include <gtest/gtest.h>

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

class NvmlTest : public ::testing::Test {
 protected:
  void script(const std::string& text) { write_file(dir / "nvml.txt", text); }
  // GPU 0 metered every 20 ms for `ms` milliseconds (every reading a full one with
  // gpu_counter_ms = 20).
  Summary meter_gpu0(int ms, int gpu_counter_ms = 2000) {
    MeterOptions o;
    o.gpus = "0";
    o.interval_ms = 20;
    o.gpu_counter_ms = gpu_counter_ms;
    Session s(o);
    s.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return s.stop();
  }
  TempDir dir;
  ScopedEnv lib{"GREENTRAIN_NVML_LIB", FAKE_NVML_PATH};
  ScopedEnv fake{"GREENTRAIN_FAKE_NVML", dir / "nvml.txt"};
  ScopedEnv no_rapl{"GREENTRAIN_POWERCAP_ROOT", dir / "no-powercap"};
};

TEST_F(NvmlTest, MissingLibraryIsExplainedNotThrown) {
  ScopedEnv missing("GREENTRAIN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1");
  NvmlProbe p = probe_nvml();
  EXPECT_EQ(p.library, nullptr);
  EXPECT_NE(p.missing_reason.find("could not be loaded"), std::string::npos) << p.missing_reason;
  EXPECT_NE(p.missing_reason.find("no NVIDIA driver"), std::string::npos);
  MeterOptions o;
  Session s(o);  // no GPUs requested explicitly: a machine without a driver still works
  EXPECT_EQ(s.environment()["gpus"].size(), 0u);
}

TEST_F(NvmlTest, InitErrorIsReported) {
  script("init_error=9\ngpus=1\n");
  NvmlProbe p = probe_nvml();
  EXPECT_EQ(p.library, nullptr);
  EXPECT_NE(p.missing_reason.find("nvmlInit failed: Driver Not Loaded"), std::string::npos)
      << p.missing_reason;
  MeterOptions o;
  o.gpus = "0";
  EXPECT_THROW(Session{o}, UsageError);
}

TEST_F(NvmlTest, ProbeListsGpusAndCapabilities) {
  script(
      "driver=550.54\ngpus=2\ngpu0.name=Fake H100\ngpu0.uuid=GPU-aaaa-1111\ngpu0.instant=1\n"
      "gpu0.power_limit_w=700\ngpu1.energy=0\n");
  NvmlProbe p = probe_nvml();
  ASSERT_NE(p.library, nullptr) << p.missing_reason;
  EXPECT_EQ(p.driver, "550.54");
  ASSERT_EQ(p.gpus.size(), 2u);
  EXPECT_EQ(p.gpus[0].name, "Fake H100");
  EXPECT_TRUE(p.gpus[0].energy_counter);
  EXPECT_TRUE(p.gpus[0].instant_power);
  EXPECT_DOUBLE_EQ(*p.gpus[0].power_limit_w, 700.0);
  EXPECT_FALSE(p.gpus[1].energy_counter);
  EXPECT_FALSE(p.gpus[1].instant_power);
}

TEST_F(NvmlTest, SelectByIndexUuidEnvAndErrors) {
  script("gpus=3\ngpu1.uuid=GPU-bbbb-2222\n");
  NvmlProbe p = probe_nvml();
  {
    ScopedEnv cvd("CUDA_VISIBLE_DEVICES", "2");
    EXPECT_EQ(select_gpus(p, "").size(), 1u);
    EXPECT_EQ(select_gpus(p, "")[0].index, 2);
    EXPECT_EQ(select_gpus(p, "all").size(), 3u);
  }
  {
    ScopedEnv cvd("CUDA_VISIBLE_DEVICES", "");
    EXPECT_TRUE(select_gpus(p, "").empty());
  }
  unsetenv("CUDA_VISIBLE_DEVICES");
  EXPECT_EQ(select_gpus(p, "").size(), 3u);
  auto two = select_gpus(p, "0,2");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].index, 2);
  auto by_uuid = select_gpus(p, "GPU-bbbb-2222");
  ASSERT_EQ(by_uuid.size(), 1u);
  EXPECT_EQ(by_uuid[0].index, 1);
  EXPECT_TRUE(select_gpus(p, "none").empty());
  try {
    select_gpus(p, "0,7");
    FAIL() << "expected a usage error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no GPU '7'"), std::string::npos) << e.what();
  }
}

TEST_F(NvmlTest, TwoGpusCounterAndIntegrationAgreeWithPower) {
  script(
      "gpus=2\ngpu0.power_w=200\ngpu0.energy_start_mj=5000000\ngpu0.instant=1\n"
      "gpu1.power_w=80\ngpu1.energy=0\n");
  unsetenv("CUDA_VISIBLE_DEVICES");
  MeterOptions o;
  o.interval_ms = 20;
  Session s(o);
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  Summary sum = s.stop();
  ASSERT_GE(sum.components.size(), 2u);
  const ComponentEnergy* g0 = nullptr;
  const ComponentEnergy* g1 = nullptr;
  for (const auto& c : sum.components) {
    if (c.component == gt::Component::gpu && c.device == "0") g0 = &c;
    if (c.component == gt::Component::gpu && c.device == "1") g1 = &c;
  }
  ASSERT_TRUE(g0 && g1);
  // The counter, its window boundaries interpolated on its update edges (here every read).
  EXPECT_EQ(g0->model, "nvml-energy-counter (edge-interpolated boundaries)");
  EXPECT_EQ(g0->source, gt::Source::measured);
  EXPECT_EQ(g1->model, "nvml-power-usage-integrated");
  // Constant power: energy = P × duration (counter has 1 mJ resolution, sampling jitter small).
  EXPECT_NEAR(g0->energy_j, 200 * sum.duration_s, 0.03 * 200 * sum.duration_s);
  EXPECT_NEAR(g1->energy_j, 80 * sum.duration_s, 0.01 * 80 * sum.duration_s);
  EXPECT_NEAR(g0->peak_power_w, 200, 2.0);  // peak >= average, which jitters slightly
  EXPECT_NEAR(sum.component_energy_j(gt::Component::gpu), g0->energy_j + g1->energy_j, 1e-9);
  bool noted = false;
  for (const auto& n : sum.notes) noted |= n.find("GPU 1: no NVML energy counter") == 0;
  EXPECT_TRUE(noted);
  // GPU extras (read about once a second) travel with the samples.
  bool extras = false;
  for (const auto& smp : sum.samples)
    if (smp.component == gt::Component::gpu)
      extras = extras || (smp.sm_clock_mhz == 1410.0 && smp.temperature_c == 55.0 &&
                          smp.utilization_pct == 97.0 && smp.memory_used_mb == 1024.0);
  EXPECT_TRUE(extras);
  auto env = s.environment();
  ASSERT_EQ(env["gpus"].size(), 2u);
  EXPECT_EQ(env["gpus"][0]["uuid"], "GPU-fake-0");
  EXPECT_EQ(env["gpus"][0]["power_limit_w"], 700.0);
}

TEST_F(NvmlTest, InstantPowerFieldIsPreferredOverPowerUsage) {
  script("gpus=1\ngpu0.power_w=200\ngpu0.instant=1\ngpu0.instant_w=250\ngpu0.energy=0\n");
  Summary sum = meter_gpu0(100);
  ASSERT_FALSE(sum.components.empty());
  EXPECT_EQ(sum.components[0].model, "nvml-instant-power-integrated");
  EXPECT_NEAR(sum.components[0].avg_power_w, 250, 1.0);
}

TEST_F(NvmlTest, FailingPowerReadsGiveANoteNotZero) {
  script("gpus=1\ngpu0.energy=0\ngpu0.power_error=999\n");
  Summary sum = meter_gpu0(60);
  for (const auto& c : sum.components) EXPECT_NE(c.component, gt::Component::gpu);
  bool noted = false;
  for (const auto& n : sum.notes)
    noted |= n.find("gpu 0") == 0 && n.find("no reading") != std::string::npos;
  EXPECT_TRUE(noted);
  EXPECT_TRUE(sum.to_json()["gpu_energy_j"].is_null());
}

// The energy counter costs milliseconds of CPU per call on real GPUs (bench/sampler): the meter
// reads it about once a second and at every window boundary, instant power at every tick.
TEST_F(NvmlTest, CounterIsReadOncePerSecondAndAtBoundaries) {
  script("gpus=1\ngpu0.power_w=200\ngpu0.instant=1\ngpu0.instant_w=250\n");
  NvmlProbe p = probe_nvml();
  ASSERT_NE(p.library, nullptr) << p.missing_reason;
  auto meter = make_nvml_meter(p, p.gpus[0], 100, 1000);  // a full read every 10th tick
  int with_counter = 0, with_power = 0, with_clock = 0;
  for (int tick = 0; tick < 25; ++tick) {
    Reading r = meter->read();
    with_counter += r.energy_j.has_value();
    with_power += r.power_w.has_value();
    with_clock += r.sm_clock_mhz.has_value();
  }
  EXPECT_EQ(with_counter, 3);  // ticks 0, 10, 20
  EXPECT_EQ(with_clock, 3);
  EXPECT_EQ(with_power, 25);
  Reading last = meter->read_boundary();
  EXPECT_TRUE(last.energy_j.has_value());
  EXPECT_TRUE(last.power_w.has_value());
}

// The settings a window ran under: limits, clocks and persistence read when it begins, the
// union of the throttle reasons of its readings (idle first, then power-capped).
TEST_F(NvmlTest, SettingsAndThrottleReasonsOfAWindow) {
  script(
      "gpus=1\ngpu0.name=Fake H100\ngpu0.power_limit_w=450\ngpu0.default_limit_w=700\n"
      "gpu0.min_limit_w=200\ngpu0.max_limit_w=700\ngpu0.app_sm_mhz=1410\ngpu0.app_mem_mhz=2619\n"
      "gpu0.max_sm_mhz=1980\ngpu0.max_mem_mhz=2619\ngpu0.persistence=0\ngpu0.throttle=1\n"
      "gpu0.throttle_after_ms=150\ngpu0.throttle_late=4\n");
  MeterOptions o;
  o.gpus = "0";
  o.interval_ms = 20;
  o.gpu_counter_ms = 20;  // every reading is a full one
  Session s(o);
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Summary sum = s.stop();
  ASSERT_EQ(sum.gpu_settings.size(), 1u);
  const GpuSettings& g = sum.gpu_settings[0];
  EXPECT_EQ(g.device, "0");
  EXPECT_EQ(g.uuid, "GPU-fake-0");
  EXPECT_EQ(g.name, "Fake H100");
  EXPECT_EQ(g.power_limit_w, 450.0);
  EXPECT_EQ(g.default_power_limit_w, 700.0);
  EXPECT_EQ(g.min_power_limit_w, 200.0);
  EXPECT_EQ(g.max_power_limit_w, 700.0);
  EXPECT_EQ(g.app_sm_clock_mhz, 1410.0);
  EXPECT_EQ(g.app_memory_clock_mhz, 2619.0);
  EXPECT_EQ(g.max_sm_clock_mhz, 1980.0);
  EXPECT_EQ(g.max_memory_clock_mhz, 2619.0);
  EXPECT_EQ(g.persistence_mode, false);
  EXPECT_EQ(g.throttle_reasons, 5u);  // gpu_idle, then sw_power_cap
  EXPECT_EQ(g.field("throttle_reasons"), "gpu_idle sw_power_cap");
  EXPECT_EQ(g.field("power_limit_w"), "450");
  EXPECT_EQ(g.field("persistence_mode"), "off");
  const auto j = sum.to_json()["gpu_settings"];
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["power_limit_w"], 450.0);
  EXPECT_EQ(j[0]["max_sm_clock_mhz"], 1980.0);
  EXPECT_EQ(j[0]["throttle_reasons"], nlohmann::json({"gpu_idle", "sw_power_cap"}));
  // A new window starts with no reason seen: the power cap alone now.
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(s.stop().gpu_settings.at(0).throttle_reasons, 4u);
}

// A board that reports none of the settings: every value unknown (null), never zero.
TEST_F(NvmlTest, UnreadableSettingsAreUnknownNotZero) {
  script("gpus=1\ngpu0.settings_error=3\n");
  Summary sum = meter_gpu0(60);
  ASSERT_EQ(sum.gpu_settings.size(), 1u);
  const GpuSettings& g = sum.gpu_settings[0];
  EXPECT_EQ(g.power_limit_w, 700.0);  // the enforced limit is still readable
  EXPECT_FALSE(g.default_power_limit_w || g.min_power_limit_w || g.max_power_limit_w);
  EXPECT_FALSE(g.app_sm_clock_mhz || g.max_memory_clock_mhz || g.persistence_mode);
  EXPECT_FALSE(g.throttle_reasons);
  EXPECT_EQ(g.field("throttle_reasons"), "");
  EXPECT_TRUE(sum.to_json()["gpu_settings"][0]["throttle_reasons"].is_null());
}

// A driver without SM figures for the application and maximum clocks: the graphics clock's.
TEST_F(NvmlTest, SmClocksFallBackToTheGraphicsClock) {
  script("gpus=1\ngpu0.no_sm_clock=1\ngpu0.app_sm_mhz=1500\ngpu0.max_sm_mhz=1900\n");
  const Summary sum = meter_gpu0(0);
  ASSERT_EQ(sum.gpu_settings.size(), 1u);
  EXPECT_EQ(sum.gpu_settings[0].app_sm_clock_mhz, 1500.0);
  EXPECT_EQ(sum.gpu_settings[0].max_sm_clock_mhz, 1900.0);
}

TEST(GpuSettingsText, ThrottleReasonNames) {
  EXPECT_EQ(throttle_reason_text(std::nullopt), "");
  EXPECT_EQ(throttle_reason_text(0), "none");
  EXPECT_EQ(throttle_reason_text(0x1 | 0x8 | 0x40), "gpu_idle hw_slowdown hw_thermal_slowdown");
  EXPECT_EQ(throttle_reason_text(0x100 | 0x200), "display_clock_setting 0x200");
  EXPECT_TRUE(is_limit_or_clock("power_limit_w"));
  EXPECT_TRUE(is_limit_or_clock("max_memory_clock_mhz"));
  EXPECT_FALSE(is_limit_or_clock("throttle_reasons"));
  EXPECT_FALSE(is_limit_or_clock("host"));
}

}  // namespace
}  // namespace gt::energy
