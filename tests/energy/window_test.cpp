// Snapshots and windows: the energy between two snapshots equals the fake NVML counter's
// difference at those instants; with a counter that advances in 100 ms steps, the edge
// interpolation recovers sub-step windows that plain reads get wrong by up to a step; the pure
// interpolation against hand-computed values (also before the first true edge, once the period
// is known) and a whole session's boundaries; the tracker sleeps between known edges and still
// times them; net energy with an idle baseline; misuse.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "common/error.h"
#include "common/scoped_env.h"
#include "common/temp_dir.h"
#include "energy/edges.h"
#include "energy/session.h"
#include "fake_gpu_session.h"

namespace gt::energy {
namespace {
using testing::write_file;

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

TEST(EdgeInterpolation, LinearBetweenEdgesWithTimingUncertainty) {
  // first read, then edges at 1.0 s (10 J) and 1.1 s (30 J): 200 W over that step.
  std::vector<CounterEdge> e = {{0.95, 0.001, 10}, {1.0, 0.002, 10}, {1.1, 0.004, 30}};
  EXPECT_FALSE(interpolate_edges(e, 0.97));  // before the first true edge: unknown
  EXPECT_FALSE(interpolate_edges(e, 1.2));   // after the last edge: unknown yet
  auto v = interpolate_edges(e, 1.025);
  ASSERT_TRUE(v);
  EXPECT_NEAR(v->energy_j, 15.0, 1e-9);
  // u = P * hypot((1-f) * 2 ms, f * 4 ms), f = 0.25
  EXPECT_NEAR(v->uncertainty_j, 200 * std::hypot(0.75 * 0.002, 0.25 * 0.004), 1e-9);
}

TEST(EdgeInterpolation, BeforeTheFirstTrueEdgeWithAKnownPeriod) {
  // First read 10 J at 0.95 s; edges at 1.02 s (40 J) and 1.12 s (70 J): the 10 J held since an
  // unseen edge one period (0.1 s) before 1.02 s, so at 0.97 s half of that step has passed.
  std::vector<CounterEdge> e = {{0.95, 0.001, 10}, {1.02, 0.002, 40}, {1.12, 0.002, 70}};
  EXPECT_FALSE(interpolate_edges(e, 0.97));  // no period: unknown
  auto v = interpolate_edges(e, 0.97, 0.1, 0.004);
  ASSERT_TRUE(v);
  EXPECT_NEAR(v->energy_j, 25.0, 1e-9);
  // The unseen edge's timing: its neighbour's half gap plus half the spread of the steps.
  EXPECT_NEAR(v->uncertainty_j, 300 * std::hypot(0.5 * 0.004, 0.5 * 0.002), 1e-9);
  // Before where that edge is placed (the period jitters): the first read's value.
  auto early = interpolate_edges(e, 0.96, 0.05);
  ASSERT_TRUE(early);
  EXPECT_NEAR(early->energy_j, 10.0, 1e-9);
  // Before the first read but after that edge's estimate: interpolated; before both: unknown.
  EXPECT_NEAR(interpolate_edges(e, 0.94, 0.1)->energy_j, 16.0, 1e-9);
  EXPECT_FALSE(interpolate_edges(e, 0.90, 0.1));
  // Between true edges the period changes nothing.
  EXPECT_NEAR(interpolate_edges(e, 1.07, 0.1)->energy_j, 55.0, 1e-9);
}

// An update seen only across a 60 ms polling gap (a read that blocked) is re-timed from its
// well-timed neighbours one period away, inside its gap, with a smaller uncertainty; edges timed
// closely, and an edge whose neighbour lies two periods away (a missed update), are kept.
TEST(EdgeInterpolation, WideGapEdgesAreRetimedFromThePeriod) {
  // True updates every 100 ms at 1.000, 1.100, ..., 1.500 s; polls every 5 ms except around
  // 1.300 s, where the change is first seen 55 ms after the last old-value read.
  std::vector<CounterEdge> e = {{0.950, 0.001, 0}};
  for (int k = 0; k < 6; ++k) e.push_back({1.0 + 0.1 * k + 0.0005, 0.0025, 10.0 * (k + 1)});
  e[4] = {1.300 + 0.0275 - 0.004, 0.0275, 40.0};  // observed middle 23.5 ms late
  const auto r = retime_wide_edges(e, 0.1, 0.001, 0.0075);
  EXPECT_NEAR(r[4].t_s, 1.300, 0.003);
  EXPECT_LT(r[4].half_gap_s, 0.005);
  EXPECT_GE(r[4].t_s, e[4].t_s - e[4].half_gap_s);  // inside the observed gap
  for (size_t k : {0, 1, 2, 3, 5, 6}) EXPECT_EQ(r[k].t_s, e[k].t_s) << k;
  // The window's energy at the re-timed edge: interpolation now sees the update where it was.
  EXPECT_NEAR(interpolate_edges(r, 1.3)->energy_j, 40.0, 0.5);
  EXPECT_GT(std::abs(interpolate_edges(e, 1.3)->energy_j - 40.0), 1.5);

  // With a missed update beside it (neighbours 200 ms away) nothing predicts the edge.
  std::vector<CounterEdge> m = {
      {0.95, 0.001, 0}, {1.0, 0.0025, 10}, {1.25, 0.03, 30}, {1.4, 0.0025, 40}, {1.5, 0.0025, 50}};
  EXPECT_EQ(retime_wide_edges(m, 0.1, 0.001, 0.0075)[2].t_s, 1.25);
}

// A counter that steps by 30 J every 100 ms from its creation (300 W), counting its reads.
class SteppingCounter : public Meter {
 public:
  Component component() const override { return Component::gpu; }
  std::string device() const override { return "0"; }
  Source source() const override { return Source::measured; }
  std::string model() const override { return "stepping test counter"; }
  Reading read() override { return {}; }
  std::optional<double> read_energy_counter() override {
    ++reads;
    return 30.0 * std::floor((steady_now_s() - t0) / 0.1);
  }
  bool counter_steps() const override { return true; }
  const double t0 = steady_now_s();
  std::atomic<int64_t> reads{0};
};

TEST(EdgeTracker, SleepsBetweenKnownEdgesAndStillTimesThem) {
  SteppingCounter counter;
  EdgeTracker tracker(&counter, 2);
  tracker.start();
  sleep_s(1.05);
  tracker.stop();
  const auto edges = tracker.edges();
  ASSERT_GE(edges.size(), 9u);
  // Each edge is timed within its bracket and well inside the 100 ms step; most are bracketed
  // within 20 ms (a loaded machine may wake the tracker late now and then, never often).
  size_t prompt = 0;
  for (size_t k = 1; k < edges.size(); ++k) {
    const double truth = counter.t0 + 0.1 * std::round((edges[k].t_s - counter.t0) / 0.1);
    EXPECT_NEAR(edges[k].t_s, truth, edges[k].half_gap_s + 0.002) << "edge " << k;
    EXPECT_LT(edges[k].half_gap_s, 0.05) << "edge " << k << " was found late";
    prompt += edges[k].half_gap_s < 0.02 ? 1 : 0;
    if (k >= 2) {
      EXPECT_NEAR(edges[k].energy_j - edges[k - 1].energy_j, 30.0, 1e-9) << "edge " << k;
    }
  }
  EXPECT_GE(prompt, (edges.size() - 1) * 8 / 10) << "edges bracketed within 20 ms";
  // Polling every 2 ms throughout would read about 500 times; it sleeps between known edges.
  EXPECT_EQ(tracker.reads(), counter.reads.load());
  EXPECT_LT(tracker.reads(), 250);
}

using WindowTest = FakeGpuSessionTest;

TEST_F(WindowTest, WindowIsTheCounterDifferenceAtTheSnapshots) {
  write_file(dir / "nvml.txt", "gpus=1\ngpu0.power_w=200\n");
  Session s(options());
  EXPECT_THROW(s.snapshot(), Error);
  s.start();
  sleep_s(0.05);
  Snapshot a = s.snapshot();
  sleep_s(0.3);
  Snapshot b = s.snapshot();
  sleep_s(0.05);
  Summary sum = s.stop();
  WindowEnergy w = s.window(a, b);
  EXPECT_NEAR(w.duration_s, b.t_s - a.t_s, 1e-12);
  EXPECT_NEAR(w.duration_s, 0.3, 0.1);
  ASSERT_EQ(w.components.size(), s.meters().size());
  EXPECT_EQ(w.components[0].component, gt::Component::gpu);
  // A continuous counter at 200 W: the window's GPU energy is 200 W times its duration, to the
  // few milliseconds between the snapshot's clock and its NVML read.
  EXPECT_NEAR(w.component_energy_j(gt::Component::gpu), 200 * w.duration_s, 200 * 0.01);
  EXPECT_NEAR(w.component_energy_j(gt::Component::ram), 4 * w.duration_s, 4 * 0.03);
  EXPECT_LT(w.energy_j, sum.energy_j);
  EXPECT_NEAR(w.energy_j,
              w.component_energy_j(gt::Component::gpu) + w.component_energy_j(gt::Component::cpu) +
                  w.component_energy_j(gt::Component::ram),
              1e-9);
  EXPECT_FALSE(w.net_energy_j);
  EXPECT_EQ(w.to_json()["components"][0]["attribution"], "machine");
  // Snapshots are cumulative and ordered.
  for (size_t k = 0; k < a.energy_j.size(); ++k) EXPECT_LE(a.energy_j[k], b.energy_j[k]);
}

TEST_F(WindowTest, EdgeInterpolationResolvesSubStepWindows) {
  // A counter that advances every 100 ms at 300 W; windows of 150 ms start at arbitrary
  // phases of the step. Plain reads see 0.1 s or 0.2 s of energy (30 or 60 J); edge
  // interpolation sees ~45 J.
  write_file(dir / "nvml.txt", "gpus=1\ngpu0.power_w=300\ngpu0.step_ms=100\n");
  MeterOptions o = options();
  o.gpu_edge_ms = 2;
  Session s(o);
  s.start();
  sleep_s(0.25);
  std::vector<std::pair<Snapshot, Snapshot>> windows;
  for (int i = 0; i < 4; ++i) {
    sleep_s(0.037 * (i + 1));
    Snapshot a = s.snapshot();
    sleep_s(0.15);
    windows.push_back({a, s.snapshot()});
  }
  s.stop();
  for (const auto& [a, b] : windows) {
    WindowEnergy w = s.window(a, b);
    const auto& gpu = w.components[0];
    ASSERT_TRUE(gpu.uncertainty_j);
    EXPECT_NE(gpu.model.find("edge-interpolated"), std::string::npos);
    // Polling every 2 ms (slower under load): allow 10 ms of timing error per boundary.
    EXPECT_NEAR(gpu.energy_j, 300 * w.duration_s, 300 * 0.02) << "window at " << a.t_s;
    EXPECT_GT(*gpu.uncertainty_j, 0.0);
    EXPECT_LT(*gpu.uncertainty_j, 300 * 0.02);
  }
  // Without edge tracking the same windows are off by up to a step.
  o.gpu_edge_ms = 0;
  Session plain(o);
  plain.start();
  sleep_s(0.25);
  double worst = 0;
  for (int i = 0; i < 4; ++i) {
    sleep_s(0.037 * (i + 1));
    Snapshot a = plain.snapshot();
    sleep_s(0.15);
    Snapshot b = plain.snapshot();
    WindowEnergy w = plain.window(a, b);
    worst = std::max(worst, std::abs(w.components[0].energy_j - 300 * w.duration_s));
  }
  plain.stop();
  EXPECT_GT(worst, 300 * 0.03);  // the step error is there to be fixed
}

TEST_F(WindowTest, WholeSessionIsInterpolatedOnTheEdges) {
  // Sessions of 0.25 s over a counter that steps every 100 ms at 300 W, started at different
  // phases of the step: plain first and last reads see two or three steps (60 or 90 J); the
  // boundaries interpolated on the edges see ~75 J.
  write_file(dir / "nvml.txt", "gpus=1\ngpu0.power_w=300\ngpu0.step_ms=100\n");
  MeterOptions o = options();
  o.gpu_edge_ms = 2;
  double worst_plain = 0;
  for (int i = 0; i < 4; ++i) {
    sleep_s(0.023 * (i + 1));
    o.gpu_edge_ms = 2;
    Session s(o);
    s.start();
    sleep_s(0.25);
    const Summary sum = s.stop();
    ASSERT_EQ(sum.components[0].component, gt::Component::gpu);
    const auto& gpu = sum.components[0];
    EXPECT_NE(gpu.model.find("edge-interpolated"), std::string::npos) << gpu.model;
    // Polling every 2 ms (slower under load): allow 10 ms of timing error per boundary.
    EXPECT_NEAR(gpu.energy_j, 300 * sum.duration_s, 300 * 0.02) << "session " << i;
    ASSERT_TRUE(gpu.uncertainty_j);
    EXPECT_LT(*gpu.uncertainty_j, 300 * 0.02);
    o.gpu_edge_ms = 0;
    Session plain(o);
    plain.start();
    sleep_s(0.25);
    const Summary p = plain.stop();
    worst_plain = std::max(worst_plain, std::abs(p.components[0].energy_j - 300 * p.duration_s));
  }
  EXPECT_GT(worst_plain, 300 * 0.03);  // the step error is there to be fixed
}

TEST_F(WindowTest, NetEnergyWithIdleBaselineAndInterruptibleIdle) {
  write_file(dir / "nvml.txt", "gpus=1\ngpu0.power_w=120\n");
  Session s(options());
  ASSERT_TRUE(s.measure_idle(0.2));
  EXPECT_TRUE(s.idle_cpu_busy());
  s.start();
  Snapshot a = s.snapshot();
  sleep_s(0.2);
  Snapshot b = s.snapshot();
  s.stop();
  WindowEnergy w = s.window(a, b);
  ASSERT_TRUE(w.net_energy_j);
  for (const auto& c : w.components) {
    ASSERT_TRUE(c.net_energy_j) << c.component;
    EXPECT_NEAR(*c.net_energy_j, c.energy_j - *c.idle_power_w * w.duration_s, 1e-9);
  }
  // A 60 s baseline asked to stop returns within a fraction of a second.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(s.measure_idle(
      60, [&] { return std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(100); }));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
}

}  // namespace
}  // namespace gt::energy
