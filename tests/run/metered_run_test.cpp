// The metered-run service end to end with the fake NVML (constant 200 W, a counter that
// advances in 100 ms steps) and scripted /bin/sh or Python children that write to
// $GREENTRAIN_MARK_FD: phase energies equal the counter's differences at the mark instants;
// metrics from the channel and from stdout; repeated, nested (sub-phases with their own
// metrics), overlapping and unbalanced phases; no phase lost at start-up in hundreds of runs;
// marks dated at the writer's instant; bursts of marks neither late nor blocking; CPU use
// outside the tree recorded; process-tree attribution (a CPU hog outside the run's tree does not
// raise its CPU energy, a busy child does); a busy idle baseline is flagged and net energy
// withheld; a grandchild does not outlive its run; a missing program is exit code 127; a bad
// carbon country fails before anything runs.
#include "run/metered_run.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include "common/error.h"
#include "common/scoped_env.h"
#include "common/temp_dir.h"
#include "run/marks.h"

namespace gt::run {
namespace {
using gt::testing::read_file;
using gt::testing::ScopedEnv;
using gt::testing::TempDir;
using gt::testing::write_file;

class MeteredRunTest : public ::testing::Test {
 protected:
  MeteredRunTest() { write_file(dir / "nvml.txt", "gpus=1\ngpu0.power_w=200\ngpu0.step_ms=100\n"); }
  MeteredRunOptions options() {
    MeteredRunOptions o;
    o.meters.interval_ms = 20;
    o.meters.cpu_tdp_w = 40;
    o.meters.ram_watts = 4;
    o.meters.gpus = "0";
    o.meters.gpu_edge_ms = 2;
    o.carbon.country = "WLD";
    return o;
  }
  ChildSpec shell(const std::string& script) {
    ChildSpec s;
    s.argv = {"/bin/sh", "-c", script};
    s.stdout_path = dir / "out.txt";
    s.stderr_path = dir / "err.txt";
    return s;
  }
  ChildSpec python(const std::string& program) {
    ChildSpec s = shell("");
    s.argv = {"/usr/bin/python3", "-c", program};
    return s;
  }
  // A shell script that sets M to the mark channel, then runs `body`.
  std::string write_marks_script(const std::string& body) {
    return "M=$GREENTRAIN_MARK_FD; " + body;
  }
  TempDir dir;
  ScopedEnv lib{"GREENTRAIN_NVML_LIB", FAKE_NVML_PATH};
  ScopedEnv fake{"GREENTRAIN_FAKE_NVML", dir / "nvml.txt"};
  ScopedEnv no_rapl{"GREENTRAIN_POWERCAP_ROOT", dir / "none"};
};

const PhaseResult* find(const MeteredResult& r, const std::string& name, int occurrence = 1) {
  for (const auto& p : r.phases)
    if (p.name == name && p.occurrence == occurrence) return &p;
  return nullptr;
}

TEST_F(MeteredRunTest, PhaseEnergyIsTheCounterDifferenceAtTheMarks) {
  MeteredRun m(options());
  MeteredResult r = m.run(
      shell("M=$GREENTRAIN_MARK_FD; sleep 0.2;"
            "echo 'phase setup begin' >&$M; sleep 0.3; echo 'phase setup end' >&$M;"
            "echo 'phase train begin' >&$M; sleep 0.6; echo 'phase train end' >&$M;"
            "echo 'metric loss=0.25' >&$M; sleep 0.1; echo 'greentrain-metric acc=0.9';"
            "echo 'greentrain-phase tail begin'; sleep 0.1; echo 'greentrain-phase tail end'"),
      {});
  ASSERT_EQ(r.exit_code, 0) << read_file(dir / "err.txt");
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
  const PhaseResult* setup = find(r, "setup");
  const PhaseResult* train = find(r, "train");
  ASSERT_TRUE(setup && train);
  EXPECT_NEAR(setup->energy.duration_s, 0.3, 0.1);
  EXPECT_NEAR(train->energy.duration_s, 0.6, 0.1);
  EXPECT_LT(setup->t_begin_s, train->t_begin_s);
  // The fake counter is exactly 200 W x time, advancing in 100 ms steps: edge interpolation
  // gives the energy between the mark instants to the polling resolution.
  for (const PhaseResult* p : {setup, train}) {
    const double gpu = p->energy.component_energy_j(gt::Component::gpu);
    EXPECT_NEAR(gpu, 200 * p->energy.duration_s, 200 * 0.02) << p->name;
    // RAM (an estimate) is attributed to the tree; the machine's figure is beside it.
    for (const auto& c : p->energy.components)
      if (c.component == gt::Component::ram) {
        EXPECT_EQ(c.attribution, gt::Scope::process);
        ASSERT_TRUE(c.machine_energy_j);
        EXPECT_NEAR(*c.machine_energy_j, 4 * p->energy.duration_s, 0.05) << p->name;
        EXPECT_LT(c.energy_j, *c.machine_energy_j);
      }
  }
  EXPECT_EQ(r.metrics.at("loss"), 0.25);
  EXPECT_EQ(r.metrics.at("acc"), 0.9);
  EXPECT_TRUE(find(r, "tail"));  // stdout marks, timestamped on arrival
  EXPECT_EQ(read_file(dir / "out.txt").find("greentrain-metric acc=0.9"), 0u);  // still copied
  const auto pm = r.phase_metrics();
  EXPECT_DOUBLE_EQ(pm.at("train_energy_j"), train->energy.energy_j);
  EXPECT_DOUBLE_EQ(pm.at("train_duration_s"), train->energy.duration_s);
  EXPECT_DOUBLE_EQ(pm.at("train_gpu_energy_j"),
                   train->energy.component_energy_j(gt::Component::gpu));
  EXPECT_FALSE(pm.count("train_net_energy_j"));  // no idle baseline
  const auto j = r.to_json(m.intensity(), m.pue());
  EXPECT_EQ(j["phases"].size(), 3u);
  EXPECT_EQ(j["phase_metrics"]["train_energy_j"], train->energy.energy_j);
  EXPECT_EQ(j["phases"][1]["name"], "train");
  EXPECT_GT(j["phases"][1]["uncertainty_j"].get<double>(), 0.0);
  EXPECT_EQ(j["metrics"]["loss"], 0.25);
  // The whole run contains its phases.
  EXPECT_GT(r.summary.energy_j, setup->energy.energy_j + train->energy.energy_j);
}

TEST_F(MeteredRunTest, ReservedMetricAndPhaseNamesFromEveryMarkSourceAreChecked) {
  MeteredRunOptions o = options();
  o.names = NameCheck(std::vector<KeptName>{{"precision", "a factor's name"}});
  MeteredRun m(o);
  MeteredResult r = m.run(
      shell("M=$GREENTRAIN_MARK_FD; echo 'metric energy_j=5' >&$M; echo 'metric precision=3' >&$M;"
            "echo 'phase gpu begin' >&$M; sleep 0.1; echo 'phase gpu end' >&$M;"
            "echo 'greentrain-metric precision=4'; echo 'greentrain-phase net begin';"
            "echo 'greentrain-phase net end'; echo 'metric acc=0.5' >&$M;"
            "echo 'phase train begin' >&$M; sleep 0.1; echo 'phase train end' >&$M"),
      {});
  ASSERT_EQ(r.exit_code, 0) << read_file(dir / "err.txt");
  EXPECT_EQ(r.metrics.at("workload_energy_j"), 5);  // never the measured energy_j
  EXPECT_EQ(r.metrics.at("acc"), 0.5);
  EXPECT_FALSE(r.metrics.count("precision"));
  EXPECT_FALSE(r.metrics.count("energy_j"));
  ASSERT_EQ(r.phases.size(), 1u);
  EXPECT_EQ(r.phases[0].name, "train");
  const auto pm = r.phase_metrics();
  EXPECT_FALSE(pm.count("gpu_energy_j"));
  EXPECT_FALSE(pm.count("net_energy_j"));
  // One note per refused name, whichever source brought it, none for the accepted ones.
  int precision = 0, gpu = 0, net = 0;
  for (const auto& n : r.notes) {
    precision += n.find("ignored metric 'precision': the name is a factor's name") == 0;
    gpu += n.find("ignored phase 'gpu'") == 0;
    net += n.find("ignored phase 'net'") == 0;
  }
  EXPECT_EQ(precision, 1);
  EXPECT_EQ(gpu, 1);
  EXPECT_EQ(net, 1);
}

TEST_F(MeteredRunTest, RepeatedNestedAndUnbalancedMarksAreNotesNotCrashes) {
  MeteredRun m(options());
  MeteredResult r = m.run(
      shell("M=$GREENTRAIN_MARK_FD; for i in 1 2 3; do echo 'phase epoch begin' >&$M; sleep 0.1;"
            "echo 'phase epoch end' >&$M; done;"
            "echo 'phase a begin' >&$M; echo 'phase b begin' >&$M; echo 'phase b end' >&$M;"
            "echo 'phase a end' >&$M; echo 'phase x begin' >&$M; echo 'phase y begin' >&$M;"
            "echo 'phase x end' >&$M; echo 'phase y end' >&$M;"
            "echo 'phase c end' >&$M; echo 'phase 9x begin' >&$M;"
            "echo 'metric x=nan' >&$M; echo 'phase open begin' >&$M"),
      {});
  ASSERT_EQ(r.exit_code, 0);
  for (int k = 1; k <= 3; ++k) EXPECT_TRUE(find(r, "epoch", k)) << k;
  ASSERT_TRUE(find(r, "a"));
  ASSERT_TRUE(find(r, "b"));  // nested: a sub-phase of a
  EXPECT_EQ(find(r, "b")->parent, "a");
  EXPECT_EQ(find(r, "b")->path(), "a/b");
  EXPECT_TRUE(find(r, "x"));
  EXPECT_FALSE(find(r, "y"));  // began inside x but outlived it
  EXPECT_FALSE(find(r, "open"));
  std::string all;
  for (const auto& n : r.notes) all += n + "\n";
  EXPECT_NE(all.find("'y' (begun inside it) was still open"), std::string::npos) << all;
  EXPECT_NE(all.find("cannot nest"), std::string::npos) << all;
  EXPECT_NE(all.find("phase 'c' ended"), std::string::npos) << all;
  EXPECT_NE(all.find("'phase 9x begin'"), std::string::npos) << all;
  EXPECT_NE(all.find("'metric x=nan'"), std::string::npos) << all;
  EXPECT_NE(all.find("phase 'open' began"), std::string::npos) << all;
  const auto pm = r.phase_metrics();
  double sum = 0;
  for (int k = 1; k <= 3; ++k) sum += find(r, "epoch", k)->energy.energy_j;
  EXPECT_NEAR(pm.at("epoch_energy_j"), sum, 1e-9);
  const auto j = r.to_json(m.intensity(), m.pue());
  ASSERT_TRUE(j["phase_metrics"]["epoch_energy_j"].is_array());
  EXPECT_EQ(j["phase_metrics"]["epoch_energy_j"].size(), 3u);
  EXPECT_TRUE(j["phase_metrics"]["a_energy_j"].is_number());
}

// The built-in trainer's sequence, written the instant the child starts, hundreds of times, with
// counter reads as slow as a real GPU's: the window is open before the child exists, so no
// phase is ever lost.
TEST_F(MeteredRunTest, NoPhaseIsLostAtStartup) {
  write_file(dir / "nvml.txt", "gpus=1\ngpu0.power_w=200\ngpu0.step_ms=5\ngpu0.read_ms=4\n");
  MeteredRunOptions o = options();
  o.meters.gpu_edge_ms = 1;
  MeteredRun m(o);
  const std::string script = write_marks_script(
      "for p in setup train eval; do printf 'phase %s begin\\n' $p >&$M;"
      "printf 'phase %s end\\n' $p >&$M; done");
  int lost = 0;
  const int runs = 200;
  for (int i = 0; i < runs; ++i) {
    MeteredResult r = m.run(shell(script), {});
    ASSERT_EQ(r.exit_code, 0) << read_file(dir / "err.txt");
    int found = 0;
    for (const char* p : {"setup", "train", "eval"}) found += find(r, p) != nullptr;
    lost += 3 - found;
    for (const auto& n : r.notes)  // phases this short are flagged, but never unbalanced
      EXPECT_EQ(n.find("phase '"), std::string::npos) << "run " << i << ": " << n;
  }
  EXPECT_EQ(lost, 0) << lost << " phases lost in " << runs << " runs";
}

// A mark carries its writer's instant: two marks written together, 0.4 s after the first
// instant they name, still give a 0.4 s phase.
TEST_F(MeteredRunTest, MarksAreDatedWhenWrittenNotWhenRead) {
  MeteredRun m(options());
  MeteredResult r = m.run(
      python("import os, time\n"
             "fd = int(os.environ['GREENTRAIN_MARK_FD'])\n"
             "a = time.monotonic(); time.sleep(0.4); b = time.monotonic()\n"
             "os.write(fd, f'phase late begin {a:.6f}\\nphase late end {b:.6f}\\n'.encode())\n"
             "os.write(fd, b'phase bogus begin 1.0\\nphase bogus end 2.0\\n')\n"),
      {});
  ASSERT_EQ(r.exit_code, 0) << read_file(dir / "err.txt");
  const PhaseResult* late = find(r, "late");
  ASSERT_TRUE(late);
  EXPECT_NEAR(late->energy.duration_s, 0.4, 0.01);
  EXPECT_NEAR(late->energy.component_energy_j(gt::Component::gpu), 200 * 0.4, 200 * 0.02);
  // Instants from before the window are not this run's: dated when read, with a note.
  ASSERT_TRUE(find(r, "bogus"));
  EXPECT_LT(find(r, "bogus")->energy.duration_s, 0.05);
  std::string all;
  for (const auto& n : r.notes) all += n + "\n";
  EXPECT_NE(all.find("2 marks carried a time that is not on this machine's monotonic clock"),
            std::string::npos)
      << all;
}

// A burst of marks neither delays the marks after it nor blocks the workload: 600 marks then a
// 1 s phase keep the phase at 1 s; 20 000 begin/end pairs are written in well under a second of
// the child's time, and the phases past the cap are counted in one note.
TEST_F(MeteredRunTest, BurstsOfMarksAreNeitherLateNorBlocking) {
  MeteredRun m(options());
  MeteredResult r = m.run(python("import os, time\n"
                                 "fd = int(os.environ['GREENTRAIN_MARK_FD'])\n"
                                 "for i in range(300): os.write(fd, b'phase step begin\\n'); "
                                 "os.write(fd, b'phase step end\\n')\n"
                                 "os.write(fd, b'phase long begin\\n'); time.sleep(1.0); "
                                 "os.write(fd, b'phase long end\\n')\n"),
                          {});
  ASSERT_EQ(r.exit_code, 0) << read_file(dir / "err.txt");
  ASSERT_TRUE(find(r, "long"));
  EXPECT_NEAR(find(r, "long")->energy.duration_s, 1.0, 0.05);
  EXPECT_LT(r.summary.duration_s, 2.5);
  EXPECT_TRUE(find(r, "step", 300));

  const auto t0 = std::chrono::steady_clock::now();
  MeteredResult many = m.run(python("import os, time\n"
                                    "fd = int(os.environ['GREENTRAIN_MARK_FD'])\n"
                                    "t = time.monotonic()\n"
                                    "for i in range(20000): os.write(fd, b'phase step begin\\n'); "
                                    "os.write(fd, b'phase step end\\n')\n"
                                    "print(time.monotonic() - t)\n"),
                             {});
  const double whole_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(many.exit_code, 0) << read_file(dir / "err.txt");
  EXPECT_LT(std::stod(read_file(dir / "out.txt")), 2.0);  // the writer never waited long
  EXPECT_LT(whole_s, 20.0);
  EXPECT_EQ(many.phases.size(), PhaseBook::kMaxOccurrences);
  std::string all;
  for (const auto& n : many.notes) all += n + "\n";
  EXPECT_NE(all.find("10000 phase occurrences after the first 10000"), std::string::npos) << all;
}

// Per-epoch windows inside the training window: sub-phases with their own metrics, and the
// epochs' energy summed under the leaf name.
TEST_F(MeteredRunTest, EpochWindowsInsideTrainAreSubPhasesWithMetrics) {
  MeteredRun m(options());
  MeteredResult r = m.run(shell("M=$GREENTRAIN_MARK_FD; echo 'phase train begin' >&$M;"
                                "for a in 0.5 0.7 0.9; do echo 'phase epoch begin' >&$M; sleep 0.2;"
                                "echo \"metric val_accuracy=$a\" >&$M; echo 'phase epoch end' >&$M;"
                                "done; echo 'phase train end' >&$M"),
                          {});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
  const PhaseResult* train = find(r, "train");
  ASSERT_TRUE(train);
  double sum = 0;
  for (int k = 1; k <= 3; ++k) {
    const PhaseResult* e = find(r, "epoch", k);
    ASSERT_TRUE(e) << k;
    EXPECT_EQ(e->path(), "train/epoch");
    EXPECT_DOUBLE_EQ(e->metrics.at("val_accuracy"), 0.3 + 0.2 * k);
    EXPECT_NEAR(e->energy.duration_s, 0.2, 0.08);
    sum += e->energy.energy_j;
  }
  // At most the train window's; equal when the marks were read together. Each window's energy
  // is interpolated between the meters' samples on its own, so the sum may exceed the train
  // window's by interpolation error (up to 7e-8 of it measured; 1e-6 allowed).
  EXPECT_LE(sum, train->energy.energy_j * (1 + 1e-6))
      << "epochs " << fmt::format("{:.17g}", sum) << " J, train "
      << fmt::format("{:.17g}", train->energy.energy_j) << " J";
  EXPECT_NEAR(r.phase_metrics().at("epoch_energy_j"), sum, 1e-9);
  EXPECT_EQ(r.metrics.at("val_accuracy"), 0.9);  // the run keeps the last value
  const auto j = r.to_json(m.intensity(), m.pue());
  EXPECT_EQ(j["phases"][0]["parent"], "train");
  EXPECT_EQ(j["phases"][0]["metrics"]["val_accuracy"], 0.5);
}

// A workload that repeats its training R times inside one train window (to outlast the counter's
// resolution) says so with train_repetitions=R: the run's train figures are per repetition, the
// phase itself keeps what was measured.
TEST_F(MeteredRunTest, APhaseRepeatedRTimesIsReportedPerRepetition) {
  MeteredRun m(options());
  MeteredResult r =
      m.run(shell("M=$GREENTRAIN_MARK_FD; echo 'phase train begin' >&$M; sleep 0.4;"
                  "echo 'phase train end' >&$M; echo 'metric train_repetitions=4' >&$M"),
            {});
  ASSERT_EQ(r.exit_code, 0);
  const PhaseResult* train = find(r, "train");
  ASSERT_TRUE(train);
  EXPECT_EQ(r.repetitions("train"), 4);
  const auto pm = r.phase_metrics();
  EXPECT_DOUBLE_EQ(pm.at("train_energy_j"), train->energy.energy_j / 4);
  EXPECT_DOUBLE_EQ(pm.at("train_duration_s"), train->energy.duration_s / 4);
  EXPECT_DOUBLE_EQ(pm.at("train_uncertainty_j"), train->energy.uncertainty_j / 4);
  const auto j = r.to_json(m.intensity(), m.pue());
  EXPECT_DOUBLE_EQ(j["phase_metrics"]["train_energy_j"].get<double>(), train->energy.energy_j / 4);
  EXPECT_EQ(j["phase_metrics"]["train_repetitions"], 4);
  EXPECT_DOUBLE_EQ(j["phases"][0]["energy_j"].get<double>(), train->energy.energy_j);
}

// Other work on the machine during a run is measured: a fake /proc whose machine-wide busy time
// runs at 75 % of its capacity while the run's own tree uses almost none.
TEST_F(MeteredRunTest, CpuUseOutsideTheTreeIsRecorded) {
  const std::string proc = dir / "proc";
  std::filesystem::create_directories(proc);
  write_file(proc + "/meminfo", "MemTotal:       8388608 kB\n");
  write_file(proc + "/stat", "cpu 0 0 0 0 0 0 0 0\n");
  ScopedEnv root("GREENTRAIN_PROC_ROOT", proc);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (long t = 1; !stop; ++t) {
      write_file(proc + "/stat.tmp", fmt::format("cpu {} 0 0 {} 0 0 0 0\n", 75 * t, 25 * t));
      std::filesystem::rename(proc + "/stat.tmp", proc + "/stat");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  MeteredRun m(options());
  MeteredResult r = m.run(shell("sleep 0.5"), {});
  stop = true;
  writer.join();
  ASSERT_TRUE(r.outside_cpu_share);
  EXPECT_NEAR(*r.outside_cpu_share, 0.75, 0.05);
  EXPECT_NEAR(r.to_json(m.intensity(), m.pue())["outside_cpu_share"].get<double>(), 0.75, 0.05);
}

double attributed_cpu_j(const MeteredResult& r) {
  for (const auto& c : r.summary.components)
    if (c.component == gt::Component::cpu) {
      EXPECT_EQ(c.attribution, gt::Scope::process);
      EXPECT_TRUE(c.machine_energy_j);
      return c.energy_j;
    }
  ADD_FAILURE() << "no cpu component";
  return 0;
}

TEST_F(MeteredRunTest, CpuHogOutsideTheTreeDoesNotRaiseTheRunsCpuEnergy) {
  MeteredRun m(options());
  const double quiet = attributed_cpu_j(m.run(shell("sleep 0.6"), {}));
  std::atomic<bool> stop{false};
  std::thread hog([&] {
    volatile double x = 0;
    while (!stop) x = x + 1;
  });
  const MeteredResult busy = m.run(shell("sleep 0.6"), {});
  stop = true;
  hog.join();
  const double with_hog = attributed_cpu_j(busy);
  // sleep uses (almost) no CPU: a few ticks at most, whatever else the machine does.
  const double tick_j = 40.0 * 0.05 / m.session().facts().logical_cpus;
  EXPECT_LE(with_hog, quiet + tick_j);
  EXPECT_LE(with_hog, tick_j);
  // A child that burns CPU itself is charged for it: TDP x its CPU-seconds / logical CPUs.
  const MeteredResult burner =
      m.run(shell("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"), {});
  ASSERT_EQ(burner.exit_code, 0);
  EXPECT_GT(burner.child.cpu_s, 0.1);
  EXPECT_NEAR(attributed_cpu_j(burner),
              40.0 * burner.child.cpu_s / m.session().facts().logical_cpus, 1e-6);
}

TEST_F(MeteredRunTest, BusyIdleBaselineIsFlaggedAndNetWithheld) {
  // A fake /proc whose stat advances half busy, half idle while the baseline runs.
  const std::string proc = dir / "proc";
  std::filesystem::create_directories(proc);
  write_file(proc + "/meminfo", "MemTotal:       8388608 kB\n");
  write_file(proc + "/stat", "cpu 0 0 0 0 0 0 0 0\n");
  ScopedEnv root("GREENTRAIN_PROC_ROOT", proc);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (long t = 1; !stop; ++t) {
      write_file(proc + "/stat.tmp", fmt::format("cpu {} 0 0 {} 0 0 0 0\n", 50 * t, 50 * t));
      std::filesystem::rename(proc + "/stat.tmp", proc + "/stat");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  MeteredRunOptions o = options();
  o.attribution = "machine";
  MeteredRun m(o);
  std::string warning;
  ASSERT_TRUE(m.measure_idle(0.3, {}, &warning));
  stop = true;
  writer.join();
  EXPECT_NE(warning.find("50 % busy"), std::string::npos) << warning;
  MeteredResult r = m.run(shell("M=$GREENTRAIN_MARK_FD; echo 'phase p begin' >&$M; sleep 0.2;"
                                "echo 'phase p end' >&$M"),
                          {});
  EXPECT_TRUE(r.idle_busy);
  EXPECT_FALSE(r.summary.net_energy_j);
  for (const auto& c : r.summary.components) EXPECT_FALSE(c.net_energy_j) << c.component;
  ASSERT_TRUE(find(r, "p"));
  EXPECT_FALSE(find(r, "p")->energy.net_energy_j);
  std::string all;
  for (const auto& n : r.notes) all += n;
  EXPECT_NE(all.find("net energy not reported"), std::string::npos) << all;
  EXPECT_EQ(r.to_json(m.intensity(), m.pue())["idle"]["busy"], true);
}

TEST_F(MeteredRunTest, NothingOutlivesTheRunAndMissingProgramsAre127) {
  MeteredRun m(options());
  const std::string pidfile = dir / "pid";
  MeteredResult r = m.run(shell("sleep 30 & echo $! > " + pidfile + "; exit 3"), {});
  EXPECT_EQ(r.exit_code, 3);
  const pid_t grandchild = static_cast<pid_t>(std::stol(read_file(pidfile)));
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = kill(grandchild, 0) != 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived its run";
  ChildSpec missing;
  missing.argv = {"/nonexistent/program"};
  missing.stdout_path = dir / "o";
  missing.stderr_path = dir / "e";
  MeteredResult r2 = m.run(missing, {});
  EXPECT_FALSE(r2.child.started);
  EXPECT_EQ(r2.exit_code, 127);
}

TEST_F(MeteredRunTest, StopSignalReachesTheWholeGroup) {
  MeteredRun m(options());
  const auto t0 = std::chrono::steady_clock::now();
  MeteredResult r = m.run(shell("sleep 30 & sleep 30; wait"),
                          [&](int, double elapsed) { return elapsed > 0.3 ? SIGTERM : 0; });
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_TRUE(r.interrupted);
  EXPECT_TRUE(r.summary.interrupted);
}

TEST_F(MeteredRunTest, UsageErrorsComeBeforeAnyWork) {
  MeteredRunOptions o = options();
  o.carbon.country = "XYZ";
  EXPECT_THROW(MeteredRun{o}, UsageError);
  o = options();
  o.attribution = "everything";
  EXPECT_THROW(MeteredRun{o}, UsageError);
  o = options();
  o.meters.gpus = "7";
  EXPECT_THROW(MeteredRun{o}, UsageError);
}

}  // namespace
}  // namespace gt::run
