// Windows answered at the client's instants (run/windows.h), with the fake NVML (constant 200 W, a
// counter that advances in 100 ms steps): the query parser; a window answered late still covers
// exactly its instants and its GPU energy is the counter's difference there; bad instants are
// refused; inside a metered run a child's query gets the same figures as the phase its marks
// made, a child that never reads its replies does not hold the run up, and a metric written with
// the end of its epoch (one read, after the end's instant) stays with that epoch.
#include "run/windows.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/scoped_env.h"
#include "common/temp_dir.h"
#include "energy/edges.h"
#include "run/metered_run.h"

namespace gt::run {
namespace {
using gt::testing::read_file;
using gt::testing::ScopedEnv;
using gt::testing::TempDir;
using gt::testing::write_file;

TEST(WindowQuery, ParsesQueriesAndRefusesMalformedOnes) {
  std::string error, id;
  auto q = parse_window_query("window 123.4 epoch 10.5 11.25", error, &id);
  ASSERT_TRUE(q);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(q->id, "123.4");
  EXPECT_EQ(q->name, "epoch");
  EXPECT_DOUBLE_EQ(q->t0_s, 10.5);
  EXPECT_DOUBLE_EQ(q->t1_s, 11.25);
  EXPECT_FALSE(parse_window_query("phase epoch begin", error));  // not a query: a mark
  EXPECT_TRUE(error.empty());
  for (const char* bad : {"window", "window 1 epoch 1", "window 1 epoch 1 2 3", "window 1 1ep 1 2",
                          "window 1 epoch -1 2", "window 1 epoch 1 nan", "window a/b epoch 1 2",
                          "window 1 epoch 1e3 2"}) {
    id.clear();
    q = parse_window_query(bad, error, &id);
    ASSERT_TRUE(q) << bad;
    EXPECT_NE(error.find("expected 'window ID NAME T0 T1'"), std::string::npos) << bad;
  }
  parse_window_query("window q7 epoch x y", error, &id);
  EXPECT_EQ(id, "q7");  // a malformed query still names its id, so it can be refused
  EXPECT_TRUE(valid_query_id("123-4_x.y"));
  EXPECT_FALSE(valid_query_id(std::string(65, 'a')));
}

class WindowsTest : public ::testing::Test {
 protected:
  WindowsTest() { write_file(dir / "nvml.txt", "gpus=1\ngpu0.power_w=200\ngpu0.step_ms=100\n"); }
  energy::MeterOptions meters() {
    energy::MeterOptions o;
    o.interval_ms = 20;
    o.cpu_tdp_w = 40;
    o.ram_watts = 4;
    o.gpus = "0";
    o.gpu_edge_ms = 2;
    return o;
  }
  TempDir dir;
  ScopedEnv lib{"GREENTRAIN_NVML_LIB", FAKE_NVML_PATH};
  ScopedEnv fake{"GREENTRAIN_FAKE_NVML", dir / "nvml.txt"};
  ScopedEnv no_rapl{"GREENTRAIN_POWERCAP_ROOT", dir / "none"};
};

// A 0.25 s window asked for 0.4 s after its end, and one whose end is just now (the answer waits
// for the readings after it): each is its instants' duration, and the counter's difference.
TEST_F(WindowsTest, AnswersCoverTheClientsInstants) {
  energy::Session session(meters());
  session.start();
  WindowAnswers::Options o;
  o.intensity = carbon::resolve(carbon::CarbonOptions{});
  o.notes = [] { return std::vector<std::string>{"a note"}; };
  WindowAnswers answers(session, o);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  const double a = energy::steady_now_s();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  const double b = energy::steady_now_s();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(answers.check_instants(a, b, energy::steady_now_s()), "");
  const nlohmann::json late = answers.answer("late", a, b);
  EXPECT_EQ(late["name"], "late");
  EXPECT_NEAR(late["duration_s"].get<double>(), b - a, 1e-9);
  EXPECT_NEAR(late["t_s"].get<double>(), b - session.start_steady_s(), 1e-9);
  EXPECT_NEAR(late["gpu_energy_j"].get<double>(), 200 * (b - a), 200 * 0.01);
  EXPECT_EQ(late["notes"], nlohmann::json::array({"a note"}));
  EXPECT_NEAR(late["co2e_g"].get<double>(),
              carbon::co2e_g(late["energy_j"].get<double>(), o.intensity, 1.0), 1e-12);
  for (const auto& c : late["components"]) EXPECT_EQ(c["attribution"], "machine");

  const double c = energy::steady_now_s();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double d = energy::steady_now_s();
  const auto t = std::chrono::steady_clock::now();
  const nlohmann::json now = answers.answer("now", c, d);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  EXPECT_LT(waited, 1.0);
  EXPECT_NEAR(now["gpu_energy_j"].get<double>(), 200 * (d - c), 200 * 0.01);
  EXPECT_GT(now["uncertainty_j"].get<double>(), 0);
  EXPECT_EQ(now["notes"].size(), 1u) << now["notes"].dump();  // every reading arrived in time

  const double start = session.start_steady_s(), t_now = energy::steady_now_s();
  EXPECT_NE(answers.check_instants(start - 1, b, t_now).find("is not between the meter's start"),
            std::string::npos);
  EXPECT_NE(answers.check_instants(a, t_now + 5, t_now).find("is not between"), std::string::npos);
  EXPECT_NE(answers.check_instants(b, a, t_now).find("its end"), std::string::npos);
  session.stop();
}

class WindowsRunTest : public WindowsTest {
 protected:
  MeteredRunOptions options() {
    MeteredRunOptions o;
    o.meters = meters();
    o.carbon.country = "WLD";
    return o;
  }
  ChildSpec python(const std::string& program) {
    ChildSpec s;
    s.argv = {"/usr/bin/python3", "-c",
              "import os, time, json\n"
              "M = int(os.environ['GREENTRAIN_MARK_FD'])\n"
              "R = os.fdopen(int(os.environ['GREENTRAIN_REPLY_FD']))\n"
              "def mark(text): os.write(M, (text + '\\n').encode())\n" +
                  program};
    s.stdout_path = dir / "out.txt";
    s.stderr_path = dir / "err.txt";
    return s;
  }
};

const PhaseResult* find(const MeteredResult& r, const std::string& name, int occurrence = 1) {
  for (const auto& p : r.phases)
    if (p.name == name && p.occurrence == occurrence) return &p;
  return nullptr;
}

// The child marks a phase and asks for the same window: the answer it reads is the phase's
// figures (the same code over the same readings), per component; bad queries are refused.
TEST_F(WindowsRunTest, QueryAnswersAreThePhasesFigures) {
  MeteredRun m(options());
  // After 0.3 s, so the counter's period is known at both ends.
  MeteredResult r = m.run(python("time.sleep(0.3)\n"
                                 "a = time.monotonic(); mark(f'phase work begin {a:.9f}')\n"
                                 "x = 0\n"
                                 "while time.monotonic() < a + 0.4: x += 1\n"
                                 "b = time.monotonic(); mark(f'phase work end {b:.9f}')\n"
                                 "mark(f'window q1 work {a:.9f} {b:.9f}')\n"
                                 "mark('window q2 work 1.0 2.0')\n"
                                 "mark(f'window q3 work {b:.9f} {a:.9f}')\n"
                                 "mark('window q4 work 1 x')\n"
                                 "print(R.readline().strip()); print(R.readline().strip())\n"
                                 "print(R.readline().strip()); print(R.readline().strip())\n"),
                          {});
  ASSERT_EQ(r.exit_code, 0) << read_file(dir / "err.txt");
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();  // queries are not marks
  const PhaseResult* work = find(r, "work");
  ASSERT_TRUE(work);
  std::istringstream out(read_file(dir / "out.txt"));
  std::string line;
  std::getline(out, line);
  ASSERT_EQ(line.rfind("window q1 {", 0), 0u) << line;
  const auto j = nlohmann::json::parse(line.substr(10));
  EXPECT_EQ(j["name"], "work");
  EXPECT_NEAR(j["duration_s"].get<double>(), work->energy.duration_s, 1e-9);
  // The same code over the same readings, but the edge tracker may re-time a GPU counter edge
  // once it has seen later ones: the GPU figure agrees within the stated uncertainties.
  const double edges_j = j["uncertainty_j"].get<double>() + work->energy.uncertainty_j;
  EXPECT_GT(j["uncertainty_j"].get<double>(), 0);
  EXPECT_NEAR(j["energy_j"].get<double>(), work->energy.energy_j,
              1e-6 * work->energy.energy_j + edges_j);
  EXPECT_NEAR(j["co2e_g"].get<double>(), work->co2e_g,
              work->co2e_g * (1e-6 + edges_j / work->energy.energy_j));
  ASSERT_EQ(j["components"].size(), work->energy.components.size());
  for (size_t k = 0; k < work->energy.components.size(); ++k) {
    const auto& c = work->energy.components[k];
    EXPECT_EQ(j["components"][k]["component"], c.component);
    EXPECT_EQ(j["components"][k]["attribution"], c.attribution);  // the run's mode: auto
    EXPECT_NEAR(j["components"][k]["energy_j"].get<double>(), c.energy_j,
                1e-6 * c.energy_j + 1e-9 + (c.component == gt::Component::gpu ? edges_j : 0.0))
        << c.component;
  }
  EXPECT_NEAR(j["gpu_energy_j"].get<double>(), 200 * j["duration_s"].get<double>(), 200 * 0.02);
  std::getline(out, line);
  EXPECT_EQ(line.rfind("window q2 error window work: time 1.000000 is not between", 0), 0u) << line;
  std::getline(out, line);
  EXPECT_EQ(line.rfind("window q3 error window work: its end", 0), 0u) << line;
  std::getline(out, line);
  EXPECT_EQ(line.rfind("window q4 error expected 'window ID NAME T0 T1'", 0), 0u) << line;
}

// A child that asks and never reads: the replies fill the pipe and are dropped; the run ends when
// the child does.
TEST_F(WindowsRunTest, UnreadRepliesDoNotHoldTheRunUp) {
  MeteredRun m(options());
  const auto t = std::chrono::steady_clock::now();
  MeteredResult r = m.run(python("a = time.monotonic(); time.sleep(0.1); b = time.monotonic()\n"
                                 "for i in range(300): mark(f'window q{i} w {a:.9f} {b:.9f}')\n"
                                 "time.sleep(0.5)\n"),
                          {});
  const double whole = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  ASSERT_EQ(r.exit_code, 0) << read_file(dir / "err.txt");
  EXPECT_LT(whole, 5.0);
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
}

// `metric` then `phase epoch end T` in one write, read after T: the metric was written inside the
// epoch and stays with it (and the next epoch's metric with the next epoch).
TEST_F(WindowsRunTest, MetricWrittenWithTheEndStaysInItsEpoch) {
  MeteredRun m(options());
  MeteredResult r = m.run(
      python("mark(f'phase train begin {time.monotonic():.9f}')\n"
             "for k in range(2):\n"
             "    mark(f'phase epoch begin {time.monotonic():.9f}')\n"
             "    time.sleep(0.1); t = time.monotonic(); time.sleep(0.1)\n"
             "    os.write(M, f'metric acc={k + 0.5}\\nphase epoch end {t:.9f}\\n'.encode())\n"
             "mark(f'phase train end {time.monotonic():.9f}')\n"),
      {});
  ASSERT_EQ(r.exit_code, 0) << read_file(dir / "err.txt");
  for (int k = 1; k <= 2; ++k) {
    const PhaseResult* e = find(r, "epoch", k);
    ASSERT_TRUE(e);
    ASSERT_TRUE(e->metrics.count("acc")) << k;
    EXPECT_DOUBLE_EQ(e->metrics.at("acc"), k - 0.5);
  }
  ASSERT_TRUE(find(r, "train"));
  EXPECT_TRUE(find(r, "train")->metrics.empty());
}

}  // namespace
}  // namespace gt::run
