// The Prometheus options of the verbs, through the real binary and a real Pushgateway: a
// `measure` run's whole-run and per-phase figures arrive as the JSON states them (and the
// textfile holds the same and passes promtool); a phase is on the gateway while the run still
// goes on; every run of a small experiment arrives with its experiment, configuration and run
// labels and the figures the database recorded; each window of `meter --serve` arrives as it
// ends; and a gateway that is down or never answers costs one warning and at most the timeout.
// The GPU is the fake NVML library at a constant 200 W.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "gateway_fixture.h"

namespace {

using gt::testing::find_sample;
using gt::testing::ProcessResult;
using gt::testing::read_file;
using gt::testing::sample_labels;
using gt::testing::write_file;

class PrometheusCli : public ::testing::Test {
 protected:
  PrometheusCli() {
    write_file(dir / "nvml.txt",
               "gpus=1\ngpu0.power_w=200\ngpu0.power_limit_w=450\ngpu0.throttle=4\n");
    setenv("GREENTRAIN_NVML_LIB", FAKE_NVML_PATH, 1);
    setenv("GREENTRAIN_FAKE_NVML", (dir / "nvml.txt").c_str(), 1);
    setenv("GREENTRAIN_POWERCAP_ROOT", (dir / "no-powercap").c_str(), 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    gt_ = gt::testing::greentrain_binary();
    // A workload in two phases (train, then eval), marked from the shell.
    write_file(dir / "work.sh", "#!/bin/sh\n\"" + gt_ + "\" mark train begin\nsleep ${1:-0.3}\n\"" +
                                    gt_ + "\" mark train end\n\"" + gt_ +
                                    "\" mark eval begin\nsleep 0.1\n\"" + gt_ +
                                    "\" mark eval end\nsleep ${2:-0}\n");
    std::filesystem::permissions(dir / "work.sh", std::filesystem::perms::owner_all);
  }
  ProcessResult gt(std::vector<std::string> args) {
    args.insert(args.begin(), gt_);
    return gt::testing::run_process(args);
  }
  std::vector<std::string> measure_args(const std::string& push) {
    return {"measure", "--interval-ms", "20",           "--cpu-tdp",         "40", "--ram-watts",
            "4",       "--json",        dir / "m.json", "--prometheus-push", push};
  }
  gt::testing::TempDir dir{"gt-prom-cli"};
  std::string gt_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

const nlohmann::json& phase_of(const nlohmann::json& j, const std::string& name) {
  for (const auto& p : j["phases"])
    if (p["name"] == name) return p;
  throw std::runtime_error("no phase " + name);
}

double component(const nlohmann::json& window, const std::string& c) {
  double sum = 0;
  for (const auto& x : window["components"])
    if (x["component"] == c) sum += x["energy_j"].get<double>();
  return sum;
}

TEST_F(PrometheusCli, MeasurePushesTheRunAndItsPhasesAsItsJsonStatesThem) {
  gt::testing::Pushgateway gw;
  ASSERT_TRUE(gw.started());
  auto args = measure_args(gw.url());
  args.insert(args.end(), {"--prometheus-textfile", dir / "m.prom", "--", dir / "work.sh"});
  const auto r = gt(args);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(read_file(dir / "m.json"));
  const std::string text = gw.scrape();
  const auto runs = sample_labels(text, "greentrain_duration_seconds_total", {{"phase", ""}});
  ASSERT_EQ(runs.size(), 1u) << text;
  const std::string run = runs[0].at("run");
  const std::string host = runs[0].at("host");
  EXPECT_FALSE(host.empty());
  EXPECT_EQ(runs[0].at("job"), "greentrain");
  auto value = [&](const std::string& source, const std::string& name,
                   std::map<std::string, std::string> labels) {
    labels["run"] = run;
    return find_sample(source, name, labels);
  };
  for (const std::string& source : {text, read_file(dir / "m.prom")}) {
    // The whole run.
    EXPECT_DOUBLE_EQ(
        *value(source, "greentrain_energy_joules_total", {{"phase", ""}, {"component", "gpu"}}),
        j["gpu_energy_j"].get<double>());
    EXPECT_DOUBLE_EQ(
        *value(source, "greentrain_energy_joules_total", {{"phase", ""}, {"component", "cpu"}}),
        j["cpu_energy_j"].get<double>());
    EXPECT_DOUBLE_EQ(*value(source, "greentrain_co2e_grams_total", {{"phase", ""}}),
                     j["co2e_g"].get<double>());
    EXPECT_DOUBLE_EQ(*value(source, "greentrain_duration_seconds_total", {{"phase", ""}}),
                     j["duration_s"].get<double>());
    EXPECT_NEAR(*value(source, "greentrain_power_watts", {{"phase", ""}, {"component", "gpu"}}),
                200, 10);
    EXPECT_EQ(*value(source, "greentrain_gpu_power_limit_watts", {{"device", "0"}}), 450);
    // Each phase, as the JSON records it.
    for (const char* name : {"train", "eval"}) {
      const auto& p = phase_of(j, name);
      EXPECT_DOUBLE_EQ(
          *value(source, "greentrain_energy_joules_total", {{"phase", name}, {"component", "gpu"}}),
          component(p, "gpu"))
          << name;
      EXPECT_DOUBLE_EQ(*value(source, "greentrain_duration_seconds_total", {{"phase", name}}),
                       p["duration_s"].get<double>());
      EXPECT_DOUBLE_EQ(*value(source, "greentrain_co2e_grams_total", {{"phase", name}}),
                       p["co2e_g"].get<double>());
      EXPECT_EQ(*value(source, "greentrain_phase_occurrences_total", {{"phase", name}}), 1);
    }
  }
  std::string lint;
  EXPECT_EQ(gt::testing::promtool_check(dir / "m.prom", lint), 0) << lint;
  // The run's GPU settings are in its JSON too.
  EXPECT_EQ(j["gpu_settings"][0]["power_limit_w"], 450.0);
  EXPECT_EQ(j["gpu_settings"][0]["throttle_reasons"], nlohmann::json({"sw_power_cap"}));
}

TEST_F(PrometheusCli, APhaseIsOnTheGatewayWhileTheRunGoesOn) {
  gt::testing::Pushgateway gw;
  ASSERT_TRUE(gw.started());
  auto args = measure_args(gw.url());
  args.insert(args.begin(), gt_);
  args.insert(args.end(), {"--", dir / "work.sh", "0.2", "3"});  // 3 s after the phases
  const pid_t pid = gt::testing::spawn_process(args, dir / "log.txt");
  std::optional<double> train;
  const bool seen = gt::testing::wait_for(
      [&] {
        train = find_sample(gw.scrape(), "greentrain_energy_joules_total",
                            {{"phase", "train"}, {"component", "gpu"}});
        return train.has_value();
      },
      10);
  const bool running = !std::filesystem::exists(dir / "m.json");
  const auto done = gt::testing::wait_process(pid);
  ASSERT_TRUE(seen) << read_file(dir / "log.txt");
  EXPECT_TRUE(running) << "the phase arrived only when the run ended";
  EXPECT_EQ(done.code, 0) << read_file(dir / "log.txt");
  // At least 0.2 s at 200 W, as the finished run states it (the same readings, taken later);
  // the final push then carries the phase exactly as the JSON states it.
  const auto j = nlohmann::json::parse(read_file(dir / "m.json"));
  const double final_j = component(phase_of(j, "train"), "gpu");
  EXPECT_GE(*train, 39);
  EXPECT_NEAR(*train, final_j, 0.05 * final_j);
  EXPECT_DOUBLE_EQ(*find_sample(gw.scrape(), "greentrain_energy_joules_total",
                                {{"phase", "train"}, {"component", "gpu"}}),
                   final_j);
}

TEST_F(PrometheusCli, EveryRunOfAnExperimentArrivesWithItsLabels) {
  gt::testing::Pushgateway gw;
  ASSERT_TRUE(gw.started());
  write_file(dir / "plan.toml",
             "name = \"promexp\"\n[workload]\nkind = \"command\"\n"
             "command = \"" +
                 dir / "work.sh" +
                 " 0.1 {precision}\"\n"
                 "[factors]\nprecision = [\"0\", \"0.05\"]\n"
                 "[design]\nrepeats = 2\nwarmup_runs = 0\nseed = 1\n"
                 "[meters]\ninterval_ms = 20\ncpu_tdp_w = 40\nram_watts = 4\n");
  const auto r = gt({"experiment", "run", dir / "plan.toml", "--db", dir / "e.db",
                     "--prometheus-push", gw.url(), "--prometheus-textfile", dir / "e.prom"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const auto csv = gt({"export", "--db", dir / "e.db"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  const std::string text = gw.scrape();
  std::string lint;
  EXPECT_EQ(gt::testing::promtool_check(dir / "e.prom", lint), 0) << lint;
  // The export: run_id, ..., precision, duration_s, energy_j, gpu_energy_j, ..., co2e_g, ...
  std::vector<std::string> lines;
  for (size_t pos = 0, nl; (nl = csv.out.find('\n', pos)) != std::string::npos; pos = nl + 1)
    lines.push_back(csv.out.substr(pos, nl - pos));
  ASSERT_EQ(lines.size(), 5u) << csv.out;     // 2 configurations x 2 repeats
  auto cells = [](const std::string& line) {  // RFC 4180: a quoted cell may hold commas
    std::vector<std::string> out(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        out.emplace_back();
      } else {
        out.back() += c;
      }
    }
    return out;
  };
  const auto header = cells(lines[0]);
  auto col = [&](const std::vector<std::string>& row, const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    return row.at(static_cast<size_t>(it - header.begin()));
  };
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto row = cells(lines[i]);
    const std::map<std::string, std::string> run = {
        {"experiment", "promexp"},
        {"run", col(row, "run_id")},
        {"configuration", "precision=" + col(row, "precision")},
        {"host", col(row, "host")}};
    auto labels = [&](std::map<std::string, std::string> more) {
      more.insert(run.begin(), run.end());
      return more;
    };
    for (const std::string& source : {text, read_file(dir / "e.prom")}) {
      EXPECT_DOUBLE_EQ(*find_sample(source, "greentrain_energy_joules_total",
                                    labels({{"phase", ""}, {"component", "gpu"}})),
                       std::stod(col(row, "gpu_energy_j")));
      EXPECT_DOUBLE_EQ(*find_sample(source, "greentrain_co2e_grams_total", labels({{"phase", ""}})),
                       std::stod(col(row, "co2e_g")));
      EXPECT_DOUBLE_EQ(
          *find_sample(source, "greentrain_duration_seconds_total", labels({{"phase", "train"}})),
          std::stod(col(row, "train_duration_s")));
    }
  }
}

TEST_F(PrometheusCli, MeterServePushesEachWindowAsItEnds) {
  gt::testing::Pushgateway gw;
  ASSERT_TRUE(gw.started());
  const auto r = gt::testing::run_shell(
      "{ printf 'begin fit\\n'; sleep 0.3; printf 'end fit\\n'; sleep 0.2; printf 'quit\\n'; } | "
      "'" +
      gt_ + "' meter --serve --interval-ms 20 --cpu-tdp 40 --ram-watts 4 --prometheus-push " +
      gw.url());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto ok = r.out.find("ok {\"co2e_g\"");
  ASSERT_NE(ok, std::string::npos) << r.out;
  const auto reply = nlohmann::json::parse(r.out.substr(ok + 3, r.out.find('\n', ok) - ok - 3));
  const std::string text = gw.scrape();
  EXPECT_DOUBLE_EQ(*find_sample(text, "greentrain_energy_joules_total",
                                {{"phase", "fit"}, {"component", "gpu"}}),
                   component(reply, "gpu"));
  EXPECT_DOUBLE_EQ(*find_sample(text, "greentrain_duration_seconds_total", {{"phase", "fit"}}),
                   reply["duration_s"].get<double>());
}

TEST_F(PrometheusCli, AGatewayThatIsDownCostsOneWarning) {
  const std::string url = "http://127.0.0.1:" + std::to_string(gt::testing::free_port());
  auto args = measure_args(url);
  args.insert(args.end(), {"--prometheus-timeout-s", "1", "--", dir / "work.sh", "0.1"});
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = gt(args);
  const double elapsed = seconds_since(t0);
  ASSERT_EQ(r.code, 0) << r.err;
  size_t warnings = 0;
  for (size_t p = 0; (p = r.err.find("warning: Prometheus push", p)) != std::string::npos; ++p)
    ++warnings;
  EXPECT_EQ(warnings, 1u) << r.err;
  const auto j = nlohmann::json::parse(read_file(dir / "m.json"));
  EXPECT_LT(elapsed - j["duration_s"].get<double>(), 1.0) << r.err;
}

TEST_F(PrometheusCli, AGatewayThatNeverAnswersCostsAtMostTheTimeout) {
  gt::testing::SilentServer silent;
  auto args = measure_args(silent.url());
  args.insert(args.end(), {"--prometheus-timeout-s", "0.5", "--", dir / "work.sh", "0.1"});
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = gt(args);
  const double elapsed = seconds_since(t0);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: Prometheus push"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(read_file(dir / "m.json"));
  // The command's own time, greentrain's start-up and summary, and at most 0.5 s of pushing.
  EXPECT_LT(elapsed - j["duration_s"].get<double>(), 0.5 + 0.5) << r.err;
}

TEST_F(PrometheusCli, BadDestinationsAreUsageErrorsBeforeTheCommandRuns) {
  auto r = gt({"measure", "--prometheus-push", "gateway:9091", "--", "touch", dir / "ran"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--prometheus-push gateway:9091: not a URL"), std::string::npos) << r.err;
  r = gt({"measure", "--prometheus-textfile", dir / "missing/x.prom", "--", "touch", dir / "ran"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  r = gt({"measure", "--prometheus-timeout-s", "0", "--", "touch", dir / "ran"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "ran"));
  r = gt({"train", "--no-measure", "--prometheus-push", "http://127.0.0.1:1"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("drop --no-measure"), std::string::npos) << r.err;
}

}  // namespace
