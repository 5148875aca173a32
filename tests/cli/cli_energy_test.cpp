// End-to-end tests of `greentrain measure`, `devices` and `carbon` through the real binary
// (GREENTRAIN_BINARY): `measure -- sleep 0.5` within 5 % with estimated CPU/RAM, no GPU and
// CO2e; exit codes (CMD's own, 127 when it cannot start, 2 on usage errors); SIGTERM/SIGINT
// forwarded with the summary still written and marked interrupted; the fake NVML GPU in
// `devices`; `carbon --list` and conversions.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace {

using Result = gt::testing::ProcessResult;
using gt::testing::read_file;

class CliTest : public ::testing::Test {
 public:
  CliTest() {
    // A machine with no GPU driver and no RAPL, as on CI, whatever this machine has.
    setenv("GREENTRAIN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
    setenv("GREENTRAIN_POWERCAP_ROOT", (dir_ / "no-powercap").c_str(), 1);
  }
  std::string path(const std::string& name) const { return dir_ / name; }
  void write(const std::string& p, const std::string& text) const {
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p) << text;
  }

  // Runs greentrain with `args`; `after_start` (if set) gets the pid while it runs.
  Result run(const std::vector<std::string>& args,
             const std::function<void(pid_t)>& after_start = nullptr) {
    std::vector<std::string> argv{gt::testing::greentrain_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    gt::testing::ProcessOptions options;
    options.after_start = after_start;
    return gt::testing::run_process(argv, options);
  }

 private:
  gt::testing::TempDir dir_{"gt-cli"};
};

TEST_F(CliTest, MeasureSleepIsTimedAndEstimated) {
  Result r =
      run({"measure", "--json", path("m.json"), "--trace", path("t.csv"), "--", "sleep", "0.5"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(read_file(path("m.json")));
  // The window holds the command: never shorter than its sleep, longer by the start of a
  // process (27 ms seen in the checked build on a loaded machine; 250 ms allowed).
  EXPECT_GE(j["duration_s"].get<double>(), 0.5 - 0.005);
  EXPECT_LT(j["duration_s"].get<double>(), 0.5 + 0.25);
  EXPECT_TRUE(j["gpu_energy_j"].is_null());
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["interrupted"], false);
  bool cpu = false, ram = false;
  for (const auto& c : j["components"]) {
    EXPECT_NE(c["component"], "gpu");
    if (c["component"] == "cpu") cpu = c["source"] == "estimated";
    if (c["component"] == "ram") ram = c["source"] == "estimated";
  }
  EXPECT_TRUE(cpu);
  EXPECT_TRUE(ram);
  const double e = j["energy_j"].get<double>();
  EXPECT_GT(e, 0);
  // CO2e = kWh × World 481 g/kWh × PUE 1.
  EXPECT_NEAR(j["co2e_g"].get<double>(), e / 3.6e6 * 481.0, 1e-12);
  EXPECT_EQ(j["carbon"]["intensity_g_per_kwh"], 481.0);
  EXPECT_NE(r.err.find("total (gpu+cpu+ram)"), std::string::npos);
  EXPECT_NE(r.err.find("CO2e"), std::string::npos);
  EXPECT_TRUE(read_file(path("t.csv")).rfind("t_s,component,device,power_w,energy_j", 0) == 0);
}

TEST_F(CliTest, MeasurePassesExitCodeAndOutput) {
  Result r = run({"measure", "--country", "FRA", "--", "sh", "-c", "echo hello; exit 3"});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.out, "hello\n");  // the child's stdout stays clean; the table goes to stderr
  EXPECT_NE(r.err.find("France (FRA)"), std::string::npos);
}

TEST_F(CliTest, MeasureNonexistentCommandExits127WithOneLineAndNoTable) {
  for (const std::string command : {"/nonexistent", "nonexistent_cmd_of_greentrain"}) {
    Result r = run({"measure", "--json", path("never.json"), "--", command});
    EXPECT_EQ(r.code, 127);
    EXPECT_NE(r.err.find("cannot execute '" + command + "': No such file or directory"),
              std::string::npos)
        << r.err;
    size_t mentions = 0;  // one line says why; no second error, no energy table
    for (size_t at = r.err.find(command); at != std::string::npos; at = r.err.find(command, at + 1))
      ++mentions;
    EXPECT_EQ(mentions, 1u) << r.err;
    EXPECT_EQ(r.err.find("total (gpu+cpu+ram)"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("CO2e"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("never.json")));
  }
}

TEST_F(CliTest, MeasurePrintsTheMetricsTheChildReported) {
  const std::string g = gt::testing::greentrain_binary();
  Result r = run({"measure", "--", "sh", "-c",
                  g + " mark --metric val_loss=0.25; echo greentrain-metric test_accuracy=0.8731"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("metrics: test_accuracy=0.8731, val_loss=0.25\n"), std::string::npos)
      << r.err;
}

TEST_F(CliTest, MeasureUsageErrorsExit2WithOneLine) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"measure"},
                                             {"measure", "--interval-ms", "5", "--", "true"},
                                             {"measure", "--country", "XYZ", "--", "true"},
                                             {"measure", "--wall", "bogus", "--", "true"},
                                             {"measure", "--idle", "ten", "--", "true"},
                                             {"measure", "--pue", "0.5", "--", "true"}}) {
    Result r = run(args);
    EXPECT_EQ(r.code, 2) << args[1] << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("greentrain: ", 0), 0u) << r.err;
  }
  Result r = run({"measure", "--country", "XYZ", "--", "true"});
  EXPECT_NE(r.err.find("closest"), std::string::npos) << r.err;
}

void signal_test(CliTest* t, int sig, const std::string& json) {
  auto t0 = std::chrono::steady_clock::now();
  // The child marks that it runs (so greentrain's handlers are in place, however slow its
  // start-up on a loaded machine), then becomes `sleep`; only then is the signal sent.
  const std::string marker = json + ".started";
  std::filesystem::remove(marker);
  Result r =
      t->run({"measure", "--json", json, "--", "sh", "-c", "touch '" + marker + "'; exec sleep 30"},
             [sig, marker](pid_t pid) {
               for (int i = 0; i < 400 && !std::filesystem::exists(marker); ++i)
                 std::this_thread::sleep_for(std::chrono::milliseconds(25));
               std::this_thread::sleep_for(std::chrono::milliseconds(200));
               kill(pid, sig);
             });
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 20.0);                  // the child (sleep 30) was stopped, not waited for
  EXPECT_EQ(r.code, 128 + sig) << r.err;  // sleep died of the forwarded signal
  auto j = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(j["interrupted"], true);
  EXPECT_GT(j["duration_s"].get<double>(), 0.1);  // metered until the signal, 0.2 s after start
  EXPECT_NE(r.err.find("(interrupted)"), std::string::npos);
}

TEST_F(CliTest, SigtermIsForwardedAndSummaryWritten) {
  signal_test(this, SIGTERM, path("term.json"));
}

TEST_F(CliTest, SigintIsForwardedAndSummaryWritten) { signal_test(this, SIGINT, path("int.json")); }

TEST_F(CliTest, IdleBaselineReportsNet) {
  // A quiet machine (a /proc/stat that does not move), whole-machine attribution: every
  // component has its idle power and the run has a net energy.
  write(path("proc/stat"), "cpu 100 0 100 800 0 0 0 0\n");
  write(path("proc/meminfo"), "MemTotal:       8388608 kB\n");
  setenv("GREENTRAIN_PROC_ROOT", path("proc").c_str(), 1);
  Result r = run({"measure", "--idle", "300ms", "--attribution", "machine", "--json",
                  path("i.json"), "--", "sleep", "0.2"});
  unsetenv("GREENTRAIN_PROC_ROOT");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(read_file(path("i.json")));
  EXPECT_TRUE(j["net_energy_j"].is_number());
  EXPECT_EQ(j["idle"]["busy"], false);
  for (const auto& c : j["components"]) {
    EXPECT_TRUE(c["idle_power_w"].is_number());
    EXPECT_EQ(c["attribution"], "machine");
  }
}

TEST_F(CliTest, DevicesExplainsMissingMeters) {
  Result r = run({"devices", "--json", path("d.json")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("NVIDIA GPUs (NVML)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no NVIDIA driver"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RAPL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tdp-linear"), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(read_file(path("d.json")));
  EXPECT_TRUE(j["gpus"].empty());
}

TEST_F(CliTest, DevicesListsFakeGpu) {
  std::ofstream(path("nvml.txt")) << "gpus=1\ngpu0.name=Fake H100\ngpu0.uuid=GPU-1234\n";
  setenv("GREENTRAIN_NVML_LIB", FAKE_NVML_PATH, 1);
  setenv("GREENTRAIN_FAKE_NVML", path("nvml.txt").c_str(), 1);
  unsetenv("CUDA_VISIBLE_DEVICES");
  Result r = run({"devices"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Fake H100 GPU-1234"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nvml-energy-counter"), std::string::npos) << r.out;
  Result bad = run({"devices", "--gpus", "3"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("no GPU '3'"), std::string::npos) << bad.err;
  std::ofstream(path("nvml.txt")) << "gpus=1\ngpu0.power_w=120\n";
  Result m = run({"measure", "--json", path("g.json"), "--", "sleep", "0.3"});
  ASSERT_EQ(m.code, 0) << m.err;
  auto j = nlohmann::json::parse(read_file(path("g.json")));
  EXPECT_NEAR(j["gpu_energy_j"].get<double>(), 120 * j["duration_s"].get<double>(),
              0.05 * 120 * j["duration_s"].get<double>());
}

TEST_F(CliTest, CarbonListAndConvert) {
  Result r = run({"carbon", "--list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("FRA   France"), std::string::npos);
  EXPECT_NE(r.out.find("gcp:europe-west1"), std::string::npos);
  EXPECT_NE(r.out.find("azure:westeurope"), std::string::npos);
  EXPECT_NE(r.out.find("CC BY 4.0"), std::string::npos);
  Result c = run({"carbon", "--kwh", "2", "--country", "FRA", "--pue", "1.5"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("-> 168 g CO2e"), std::string::npos) << c.out;  // 2 × 1.5 × 56
  Result bad = run({"carbon", "--region", "gcp:mars-1"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("closest"), std::string::npos);
}

TEST_F(CliTest, HelpWorksForEveryVerb) {
  for (const char* verb : {"measure", "devices", "carbon"}) {
    Result r = run({verb, "--help"});
    EXPECT_EQ(r.code, 0) << verb;
    EXPECT_NE(r.out.find("--"), std::string::npos);
  }
  EXPECT_NE(run({"measure", "--help"}).out.find("--interval-ms"), std::string::npos);
}

// ---- metered runs: marks, phases, process groups, interrupts ----

using gt::testing::wait_for;

TEST_F(CliTest, MarkOutsideAMeteredRunExits2) {
  unsetenv("GREENTRAIN_MARK_FD");
  for (const auto& args : std::vector<std::vector<std::string>>{{"mark", "train", "begin"},
                                                                {"mark", "--metric", "loss=0.5"}}) {
    Result r = run(args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("not inside a metered run"), std::string::npos) << r.err;
  }
  Result bad = run({"mark", "train", "start"});
  EXPECT_EQ(bad.code, 2);
}

TEST_F(CliTest, MeasureRecordsPhasesMarkedByAShellScript) {
  const std::string g = gt::testing::greentrain_binary();
  const std::string script = g + " mark setup begin; sleep 0.2; " + g + " mark setup end; " + g +
                             " mark train begin; sleep 0.4; " + g + " mark train end; " + g +
                             " mark --metric loss=0.125; echo greentrain-metric acc=0.875";
  Result r = run({"measure", "--json", path("p.json"), "--", "sh", "-c", script});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(read_file(path("p.json")));
  ASSERT_EQ(j["phases"].size(), 2u) << j.dump();
  EXPECT_EQ(j["phases"][1]["name"], "train");
  // Between the arrivals of two `greentrain mark` processes: the sleep plus one start-up.
  EXPECT_GT(j["phases"][1]["duration_s"].get<double>(), 0.39);
  EXPECT_LT(j["phases"][1]["duration_s"].get<double>(), 3.0);
  EXPECT_TRUE(j["phase_metrics"]["train_energy_j"].is_number());
  EXPECT_TRUE(j["phase_metrics"]["setup_duration_s"].is_number());
  EXPECT_EQ(j["metrics"]["loss"], 0.125);
  EXPECT_EQ(j["metrics"]["acc"], 0.875);  // stdout is not a terminal here: it is scanned
  EXPECT_EQ(r.out, "greentrain-metric acc=0.875\n");
  EXPECT_NE(r.err.find("phase"), std::string::npos);
  for (const auto& c : j["components"]) EXPECT_TRUE(c.contains("attribution")) << c.dump();
}

TEST_F(CliTest, MeasurePrintsTheSessionNotes) {
  // A GPU without an energy counter makes a note; printing the notes once read freed memory.
  std::ofstream(path("nvml.txt")) << "gpus=1\ngpu0.power_w=100\ngpu0.energy=0\n";
  setenv("GREENTRAIN_NVML_LIB", FAKE_NVML_PATH, 1);
  setenv("GREENTRAIN_FAKE_NVML", path("nvml.txt").c_str(), 1);
  Result r = run({"measure", "--", "true"});
  setenv("GREENTRAIN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
  unsetenv("GREENTRAIN_FAKE_NVML");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("greentrain: GPU 0: no NVML energy counter"), std::string::npos) << r.err;
}

TEST_F(CliTest, TrainWithAnUnknownCountryFailsBeforeTrainingAndWritesNothing) {
  Result r = run({"train", "--country", "XYZ", "--json", path("t.json"), "--data",
                  "csv:/nonexistent.csv", "--epochs", "1"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--country XYZ"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("training"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(path("t.json")));
  Result d = run({"train", "--json", path("nodir/t.json"), "--data", "csv:/nonexistent.csv"});
  EXPECT_EQ(d.code, 2) << d.err;
  EXPECT_NE(d.err.find("does not exist"), std::string::npos) << d.err;
}

TEST_F(CliTest, KillingMeasureKillsEverythingTheCommandStarted) {
  const std::string pidfile = path("grandchild.pid");
  pid_t grandchild = 0;
  Result r = run(
      {"measure", "--", "sh", "-c", "sleep 60 & echo $! > " + pidfile + "; wait"},
      [&](pid_t greentrain) {
        ASSERT_TRUE(wait_for(
            [&] { return std::filesystem::exists(pidfile) && !read_file(pidfile).empty(); }, 10));
        grandchild = static_cast<pid_t>(std::stol(read_file(pidfile)));
        kill(greentrain, SIGKILL);
      });
  EXPECT_EQ(r.signal, SIGKILL);  // greentrain itself was killed
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(wait_for([&] { return kill(grandchild, 0) != 0; }, 5))
      << "sleep " << grandchild << " outlived greentrain";
}

TEST_F(CliTest, KillingAnExperimentLeavesNoRunFolder) {
  const std::string tmp = path("tmp");
  std::filesystem::create_directories(tmp);
  std::ofstream(path("plan.toml")) << "name = \"kill\"\n[workload]\nkind = \"command\"\n"
                                      "command = \"sleep 60\"\n[benchmark]\nx = 1\n[factors]\n"
                                      "x = [1]\n[design]\nrepeats = 2\nidle_baseline_s = 0\n";
  auto run_folders = [&] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(tmp))
      n += e.path().filename().string().rfind("greentrain-run-", 0) == 0;
    return n;
  };
  setenv("TMPDIR", tmp.c_str(), 1);
  Result r = run({"experiment", "run", path("plan.toml"), "--db", path("k.db")}, [&](pid_t g) {
    ASSERT_TRUE(wait_for([&] { return run_folders() > 0; }, 20));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the run is under way
    kill(g, SIGKILL);
  });
  unsetenv("TMPDIR");
  EXPECT_EQ(r.signal, SIGKILL) << r.err;
  EXPECT_TRUE(wait_for([&] { return run_folders() == 0; }, 5)) << "a run folder was left";
}

// True once process `pid` catches `sig` (its handler is installed): /proc/<pid>/status SigCgt.
bool catches(pid_t pid, int sig) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("SigCgt:", 0) == 0) {
      const unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
      return (mask >> (sig - 1)) & 1ULL;
    }
  return false;
}

TEST_F(CliTest, CtrlCDuringTheIdleBaselineStopsPromptly) {
  auto t0 = std::chrono::steady_clock::now();
  Result r = run({"measure", "--idle", "60s", "--", "true"}, [&](pid_t g) {
    ASSERT_TRUE(wait_for([&] { return catches(g, SIGINT); }, 20));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // inside the baseline
    kill(g, SIGINT);
  });
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 20.0);
  EXPECT_EQ(r.code, 128 + SIGINT) << r.err;
  EXPECT_NE(r.err.find("interrupted during the idle baseline"), std::string::npos) << r.err;
}

}  // namespace
