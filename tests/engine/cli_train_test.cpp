// `greentrain train` as a child process (as the experiment runner calls it): --json with the
// keys of contract 3 and exit 0; bad flags and inputs exit 2 (usage) or 1 (data) with one line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../common/process_temp_dir.h"
#include "nlohmann/json.hpp"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct ChildRun {
  int code;
  std::string output;
};

// $GREENTRAIN_BINARY, else the greentrain next to this test (both live in the build folder).
std::string binary() {
  if (const char* bin = std::getenv("GREENTRAIN_BINARY"); bin && fs::exists(bin)) return bin;
  const fs::path next = fs::read_symlink("/proc/self/exe").parent_path() / "greentrain";
  return fs::exists(next) ? next.string() : "";
}

ChildRun run_child(const std::string& args) {
  const std::string bin = binary();
  if (bin.empty()) return {-1, "no greentrain binary"};
  const std::string cmd = bin + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string tiny_csv() {
  const auto p = gt::testing_support::process_temp_dir() / "cli-train.csv";
  std::ofstream out(p);
  out << "a,b,label\n";
  for (int i = 0; i < 60; ++i) out << (i % 2 ? 1.0 : -1.0) + 0.01 * i << "," << i % 7 << "," << i % 2 << "\n";
  return p.string();
}

TEST(CliTrain, WritesJsonWithoutMeasuring) {
  if (binary().empty()) GTEST_SKIP() << "no greentrain binary";
  const auto json = (gt::testing_support::process_temp_dir() / "cli-train.json").string();
  fs::remove(json);
  const ChildRun r = run_child("train --data csv:" + tiny_csv() + " --model mlp:8 --batch-size 8 --epochs 3"
                    " --precision bf16 --device cpu --validation 0.25 --no-measure --json " + json);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("epoch 3/3"));
  EXPECT_THAT(r.output, HasSubstr("test accuracy n/a"));  // no test file
  std::ifstream in(json);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["precision"], "bf16");
  EXPECT_EQ(j["batch_size"], 8);
  EXPECT_EQ(j["epochs_detail"].size(), 3u);
  EXPECT_TRUE(j["test_accuracy"].is_null());
  EXPECT_TRUE(j["val_accuracy"].is_number());
  EXPECT_FALSE(j.contains("energy"));
}

TEST(CliTrain, ErrorsAreOneLineWithExitCodes) {
  if (binary().empty()) GTEST_SKIP() << "no greentrain binary";
  const std::string data = " --data csv:" + tiny_csv() + " --device cpu --no-measure -q";
  struct Case {
    std::string args;
    int code;
    std::string text;
  } cases[] = {
      {"--batch-size 0", 2, "--batch-size 0 must be at least 1"},
      {"--batch-size 1000", 2, "larger than the training set"},
      {"--model cnn:3", 2, "unknown model spec 'cnn:3'"},
      {"--precision fp8", 2, "unknown precision 'fp8'"},
      {"--optimizer rmsprop", 2, "--optimizer 'rmsprop'"},
  };
  for (const auto& c : cases) {
    const ChildRun r = run_child("train" + data + " " + c.args);
    EXPECT_EQ(r.code, c.code) << c.args << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.text)) << c.args;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  const ChildRun missing = run_child("train --data mnist:/nonexistent --no-measure -q");
  EXPECT_EQ(missing.code, 1) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("/nonexistent"));
}

}  // namespace
