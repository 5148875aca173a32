// The settings a GPU ran under, end to end through the binary: the fake NVML library reports a
// 700 W power limit for an experiment's first two blocks and a 450 W cap (throttling with
// sw_power_cap) for the third, and the limits, clocks and throttle reasons reach the database,
// the runs table's context columns, the CodeCarbon export (runs and phases), `analyze
// --block-by`, and the report, which warns that the runs it compares ran under different limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace {

using gt::testing::read_file;
using gt::testing::write_file;

// One CSV file as rows of column → cell (RFC 4180 quoting).
std::vector<std::map<std::string, std::string>> parse_csv(const std::string& text,
                                                          std::vector<std::string>* header) {
  std::vector<std::vector<std::string>> records(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' && quoted && i + 1 < text.size() && text[i + 1] == '"') {
      records.back().back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      records.back().emplace_back();
    } else if (c == '\n' && !quoted) {
      records.emplace_back(1);
    } else {
      records.back().back() += c;
    }
  }
  if (records.back().size() == 1 && records.back()[0].empty()) records.pop_back();
  *header = records.at(0);
  std::vector<std::map<std::string, std::string>> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < header->size() && c < records[r].size(); ++c)
      row[(*header)[c]] = records[r][c];
    rows.push_back(std::move(row));
  }
  return rows;
}

class GpuSettingsCli : public ::testing::Test {
 protected:
  GpuSettingsCli() {
    setenv("GREENTRAIN_NVML_LIB", FAKE_NVML_PATH, 1);
    setenv("GREENTRAIN_FAKE_NVML", (dir / "nvml.txt").c_str(), 1);
    setenv("GREENTRAIN_POWERCAP_ROOT", (dir / "no-powercap").c_str(), 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    gt_ = gt::testing::greentrain_binary();
    write_file(dir / "work.sh",
               "#!/bin/sh\n\"" + gt_ + "\" mark train begin\nsleep 0.05\n\"" + gt_ +
                   "\" mark train end\necho greentrain-metric test_accuracy=0.9\n");
    std::filesystem::permissions(dir / "work.sh", std::filesystem::perms::owner_all);
  }
  gt::testing::ProcessResult gt(std::vector<std::string> args) {
    args.insert(args.begin(), gt_);
    return gt::testing::run_process(args);
  }
  void plan(int repeats, const std::string& factor = "precision") {
    write_file(dir / "plan.toml",
               "name = \"caps\"\n[workload]\nkind = \"command\"\ncommand = \"" + dir / "work.sh" +
                   " {" + factor + "}\"\n[factors]\n" + factor +
                   " = [\"fp32\", \"fp16\"]\n[design]\nrepeats = " + std::to_string(repeats) +
                   "\nwarmup_runs = 0\nseed = 1\n[carbon]\ncountry = \"DEU\"\n"
                   "[meters]\ninterval_ms = 20\ncpu_tdp_w = 40\nram_watts = 4\n");
  }
  gt::testing::TempDir dir{"gt-gpu-settings"};
  std::string gt_;
};

TEST_F(GpuSettingsCli, LimitsClocksAndThrottlingReachExportAnalysisAndReport) {
  write_file(dir / "nvml.txt", "gpus=1\ngpu0.name=Fake H100\ngpu0.power_w=300\n");
  plan(2);
  auto r = gt({"experiment", "run", dir / "plan.toml", "--db", dir / "e.db"});
  ASSERT_EQ(r.code, 0) << r.err;
  // The administrator caps the board at 450 W; the grown plan's third block runs under it.
  write_file(dir / "nvml.txt",
             "gpus=1\ngpu0.name=Fake H100\ngpu0.power_w=300\ngpu0.power_limit_w=450\n"
             "gpu0.throttle=4\n");
  plan(3);
  r = gt({"experiment", "run", dir / "plan.toml", "--db", dir / "e.db"});
  ASSERT_EQ(r.code, 0) << r.err;

  // The runs table: one row per run, its context columns after the measured ones.
  r = gt({"export", "--db", dir / "e.db"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> header;
  auto rows = parse_csv(r.out, &header);
  ASSERT_EQ(rows.size(), 6u) << r.out;
  for (const auto& row : rows) {
    const bool capped = row.at("block") == "3";
    EXPECT_EQ(row.at("gpu_power_limit_w"), capped ? "450" : "700") << row.at("run_id");
    EXPECT_EQ(row.at("gpu_throttle_reasons"), capped ? "sw_power_cap" : "none");
    EXPECT_EQ(row.at("gpu_default_power_limit_w"), "700");
    EXPECT_EQ(row.at("gpu_max_sm_clock_mhz"), "1980");
    EXPECT_EQ(row.at("gpu_persistence_mode"), "on");
    EXPECT_EQ(row.at("gpu_model"), "Fake H100");
    EXPECT_EQ(row.at("gpu_count"), "1");
    EXPECT_EQ(row.at("country"), "DEU");
    EXPECT_FALSE(row.at("host").empty());
    EXPECT_FALSE(row.at("cpu_model").empty() && row.at("cpu_count").empty());
    EXPECT_EQ(row.at("started_at").size(), 20u) << row.at("started_at");  // ...T..:..:..Z
  }
  EXPECT_EQ(std::count(header.begin(), header.end(), "gpu_power_limit_w"), 1);

  // CodeCarbon's file: its columns, the runs' hardware and grid.
  r = gt({"export", "--db", dir / "e.db", "--format", "codecarbon"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto cc = parse_csv(r.out, &header);
  ASSERT_EQ(cc.size(), 6u);
  EXPECT_EQ(header.front(), "timestamp");
  EXPECT_EQ(header.back(), "wue");
  EXPECT_EQ(cc[0].at("gpu_model"), "1 x Fake H100");
  EXPECT_EQ(cc[0].at("country_name"), "Germany");
  EXPECT_EQ(cc[0].at("project_name"), "caps");
  EXPECT_EQ(cc[0].at("experiment_id"), "precision=" + rows[0].at("precision"));
  EXPECT_NEAR(std::stod(cc[0].at("energy_consumed")), std::stod(rows[0].at("energy_j")) / 3.6e6,
              1e-12);
  r = gt({"export", "--db", dir / "e.db", "--format", "codecarbon", "--phases"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto tasks = parse_csv(r.out, &header);
  ASSERT_EQ(tasks.size(), 6u);
  EXPECT_EQ(header.front(), "task_name");
  EXPECT_EQ(tasks[0].at("task_name"), "train");
  r = gt({"export", "--db", dir / "e.db", "--phases"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--phases: only with --format codecarbon"), std::string::npos) << r.err;

  // The limit as a blocking factor.
  r = gt({"analyze", "--db", dir / "e.db", "--block-by", "gpu_power_limit_w", "--format", "json",
          "--metric", "energy_j"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["blocking"]["by"], "gpu_power_limit_w");
  EXPECT_EQ(j["blocking"]["metrics"]["energy_j"]["levels"], nlohmann::json({"700", "450"}));
  r = gt({"analyze", "--db", dir / "e.db", "--block-by", "gpu_fan_speed"});
  EXPECT_EQ(r.code, 2);

  // The report warns: the runs it compares ran under two limits.
  r = gt({"report", "--db", dir / "e.db", "--md", dir / "r.md"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string md = read_file(dir / "r.md");
  EXPECT_NE(md.find("Runs under different GPU settings"), std::string::npos) << md;
  EXPECT_NE(md.find("gpu_power_limit_w 450 (runs "), std::string::npos) << md;
  EXPECT_NE(md.find("### GPU power limits and clocks"), std::string::npos);
}

TEST_F(GpuSettingsCli, AFactorCannotTakeAContextColumnsName) {
  write_file(dir / "nvml.txt", "gpus=0\n");
  plan(2, "host");
  const auto r = gt({"experiment", "run", dir / "plan.toml", "--db", dir / "e.db"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("a column of the runs table that says what the run ran on"),
            std::string::npos)
      << r.err;
}

}  // namespace
