// End-to-end repros of bad inputs through the real binary (GREENTRAIN_BINARY), each a one-line
// error with nothing lost: outputs aimed at the results database (export --csv, analyze -o,
// report --md, through a symlink too), at a symlink or a FIFO, into a missing directory
// (experiment init); NaN, infinite or junk values of every numeric option ("not a number"); a
// damaged factor-names row in the database; an experiment whose wall-meter log holds NaN rows
// still stores every run; `measure --json` with non-ASCII or invalid marks and with its stdout
// closed early (`| head -1`) still writes its JSON; `meter --serve` bounds a request line and
// escapes what its errors quote.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

using Result = gt::testing::ProcessResult;

class CliRobustness : public ::testing::Test {
 protected:
  CliRobustness() {
    setenv("GREENTRAIN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
    setenv("GREENTRAIN_POWERCAP_ROOT", (dir_ / "no-powercap").c_str(), 1);
  }

  // Runs greentrain with `args` in the test's folder.
  Result run(const std::vector<std::string>& args) {
    std::vector<std::string> argv{gt::testing::greentrain_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    gt::testing::ProcessOptions options;
    options.working_dir = dir_.string();
    return gt::testing::run_process(argv, options);
  }

  // A one-line error: exit code `code`, stderr one "greentrain: ..." line containing `what`.
  void expect_error(const Result& r, int code, const std::string& what) {
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_THAT(r.err, HasSubstr(what));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }

  // An experiment of 4 command runs in r.db, its wall meter a logger CSV where every other row
  // is NaN (once a NOT NULL failure that lost each run).
  void make_db() {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::ofstream log(dir_ / "log.csv");
    log << "timestamp,watts\n";
    for (int i = -600; i <= 600; i += 5)
      log << static_cast<long long>(now) + i << "," << (i % 10 ? "nan" : "100") << "\n";
    log.close();
    std::ofstream(dir_ / "p.toml") << "name = \"r\"\n[workload]\nkind = \"command\"\n"
                                      "command = \"echo greentrain-metric acc=0.{x}\"\n"
                                      "[factors]\nx = [1, 2]\n[design]\nrepeats = 2\n"
                                      "warmup_runs = 0\n[meters]\nwall = \"file:log.csv\"\n";
    const Result r = run({"experiment", "run", "p.toml", "--db", "r.db"});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    ASSERT_THAT(r.out + r.err, HasSubstr("4 ok, 0 failed"));
  }
  std::string runs_csv() { return run({"export", "--db", "r.db", "--csv", "-"}).out; }

  gt::testing::TempDir scratch_{"gt-robust"};
  const fs::path& dir_ = scratch_.path();
};

TEST_F(CliRobustness, OutputsNeverReplaceTheDatabase) {
  make_db();
  const std::string before = runs_csv();
  ASSERT_EQ(std::count(before.begin(), before.end(), '\n'), 5) << before;
  // Every run has a finite wall energy from the log's good rows.
  std::istringstream lines(before);
  std::string line;
  std::vector<std::vector<std::string>> rows;
  while (std::getline(lines, line)) {
    rows.emplace_back();
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) rows.back().push_back(cell);
  }
  const auto col = std::find(rows[0].begin(), rows[0].end(), "wall_energy_j") - rows[0].begin();
  ASSERT_LT(col, static_cast<long>(rows[0].size()));
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_GT(rows[i].size(), static_cast<size_t>(col));
    const double wall = std::strtod(rows[i][col].c_str(), nullptr);
    EXPECT_TRUE(std::isfinite(wall) && wall > 0) << before;
  }
  expect_error(run({"export", "--db", "r.db", "--csv", "r.db"}), 1, "is the results database");
  expect_error(run({"analyze", "--db", "r.db", "-o", "r.db"}), 1, "is the results database");
  expect_error(run({"report", "--db", "r.db", "--md", "r.db"}), 1, "is the results database");
  expect_error(run({"report", "--db", "r.db", "--md", "./r.db-wal"}), 1, "results database");
  fs::create_symlink(dir_ / "r.db", dir_ / "alias.md");
  expect_error(run({"report", "--db", "r.db", "--md", "alias.md"}), 1, "is the results database");
  EXPECT_EQ(runs_csv(), before);
}

TEST_F(CliRobustness, ReportRefusesSymlinksAndFifos) {
  make_db();
  std::ofstream(dir_ / "elsewhere.md") << "keep";
  fs::create_symlink(dir_ / "elsewhere.md", dir_ / "link.md");
  expect_error(run({"report", "--db", "r.db", "--md", "link.md"}), 1,
               "link.md: is a symbolic link; refusing to replace it");
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.md"));
  EXPECT_EQ(gt::testing::read_file(dir_ / "elsewhere.md"), "keep");
  ASSERT_EQ(mkfifo((dir_ / "f.md").c_str(), 0644), 0);
  expect_error(run({"report", "--db", "r.db", "--md", "f.md"}), 1, "f.md: is a FIFO");
  EXPECT_TRUE(fs::is_fifo(dir_ / "f.md"));
  const Result ok = run({"report", "--db", "r.db", "--md", "report.md"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_TRUE(fs::is_regular_file(dir_ / "report.md"));
}

TEST_F(CliRobustness, ExperimentInitIntoAMissingDirectoryFails) {
  expect_error(run({"experiment", "init", "/nonexistent/dir/plan.toml"}), 1,
               "directory '/nonexistent/dir' does not exist");
  const Result ok = run({"experiment", "init", "plan.toml"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_TRUE(fs::is_regular_file(dir_ / "plan.toml"));
}

TEST_F(CliRobustness, NonFiniteOptionValuesAreUsageErrors) {
  expect_error(run({"carbon", "--kwh", "nan"}), 2, "--kwh: 'nan' is not a number");
  expect_error(run({"carbon", "--kwh", "-1"}), 2,
               "--kwh: '-1' is out of range: expected a number >= 0");
  expect_error(run({"carbon", "--kwh", "1", "--intensity", "inf"}), 2, "--intensity: 'inf'");
  expect_error(run({"carbon", "--kwh", "1", "--pue", "nan"}), 2, "--pue: 'nan'");
  expect_error(run({"measure", "--cpu-tdp", "nan", "--", "true"}), 2, "--cpu-tdp: 'nan'");
  std::ofstream(dir_ / "d.csv") << "a,label\n1,0\n2,1\n3,0\n4,1\n";
  expect_error(run({"train", "--data", "csv:d.csv", "--model", "mlp:4", "--optimizer", "sgd",
                    "--momentum", "nan", "--no-measure", "--device", "cpu"}),
               2, "--momentum: 'nan' is not a number");
}

TEST_F(CliRobustness, EveryNumericOptionSaysNotANumber) {
  std::ofstream(dir_ / "p.toml") << "name = \"p\"\n[workload]\nkind = \"command\"\n"
                                    "command = \"true {x}\"\n[factors]\nx = [1, 2]\n";
  const std::vector<std::vector<std::string>> commands = {
      {"measure", "--interval-ms", "@", "--", "true"},
      {"measure", "--gpu-edge-ms", "@", "--", "true"},
      {"measure", "--idle", "@", "--", "true"},
      {"train", "--lr", "@", "--no-measure"},
      {"train", "--batch-size", "@", "--no-measure"},
      {"train", "--epochs", "@", "--no-measure"},
      {"train", "--validation", "@", "--no-measure"},
      {"train", "--seed", "@", "--no-measure"},
      {"stats", "sample-size", "--cv", "@", "--effect-pct", "5"},
      {"stats", "sample-size", "--cv", "0.1", "--effect-pct", "@"},
      {"stats", "sample-size", "--cv", "0.1", "--effect-pct", "5", "--power", "@"},
      {"analyze", "--db", "r.db", "--alpha", "@"},
      {"experiment", "run", "p.toml", "--until-ci", "@"},
      {"experiment", "run", "p.toml", "--max-repeats", "@"},
      {"experiment", "submit", "p.toml", "--slurm", "--dry-run", "--tasks", "@"},
      {"experiment", "submit", "p.toml", "--slurm", "--dry-run", "--throttle", "@"},
      {"experiment", "submit", "p.toml", "--slurm", "--dry-run", "--cpus-per-task", "@"}};
  for (auto args : commands) {
    const auto at = std::find(args.begin(), args.end(), "@");
    const std::string option = *(at - 1);
    for (const char* bad : {"nan", "inf", "-inf", "abc", "1x"}) {
      *at = bad;
      const Result r = run(args);
      EXPECT_EQ(r.code, 2) << option << " " << bad;
      EXPECT_THAT(r.err, HasSubstr(option + ": '" + bad + "' is not a number")) << r.err;
    }
  }
  expect_error(run({"train", "--batch-size", "1.5", "--no-measure"}), 2,
               "--batch-size: '1.5' is not a whole number");
  expect_error(run({"experiment", "run", "p.toml", "--max-repeats", "1"}), 2,
               "--max-repeats: '1' is out of range: expected a whole number in 2 .. 100000");
  EXPECT_FALSE(fs::exists(dir_ / "greentrain.db"));
}

TEST_F(CliRobustness, MeasureJsonSurvivesNonAsciiMarksAndAClosedStdout) {
  // A mark line with 'é' where its note is cut (byte 80), and one with bytes that are no
  // UTF-8: the JSON is written, valid, and the exit code is the workload's.
  const std::string script =
      "printf 'phase %073d\\303\\251 begin\\nbad \\377\\376\\n' 0 >&$GREENTRAIN_MARK_FD";
  const Result r = run({"measure", "--json", "m.json", "--", "bash", "-c", script});
  EXPECT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(gt::testing::read_file(dir_ / "m.json"));
  EXPECT_EQ(j["exit_code"], 0);
  bool quoted = false;
  for (const auto& note : j["notes"])
    quoted |= note.get<std::string>().find("ignored mark 'phase 0000") == 0;
  EXPECT_TRUE(quoted) << j["notes"].dump();

  // `measure ... | head -1`: greentrain outlives its reader, writes its JSON, and the workload
  // (`yes`, which never ends by itself) meets the broken pipe as it would without greentrain.
  gt::testing::ProcessOptions in_dir;
  in_dir.working_dir = dir_.string();
  const Result piped =
      gt::testing::run_shell("{ timeout 30 " + gt::testing::greentrain_binary() +
                                 " measure --json yes.json -- yes; echo $? > rc; } | head -1",
                             in_dir);
  EXPECT_EQ(piped.out, "y\n");
  EXPECT_EQ(gt::testing::read_file(dir_ / "rc"), "141\n");  // 128 + SIGPIPE, from `yes`
  const auto y = nlohmann::json::parse(gt::testing::read_file(dir_ / "yes.json"));
  EXPECT_EQ(y["exit_code"], 141);
}

TEST_F(CliRobustness, MeterServeBoundsAndEscapesWhatItReads) {
  // A 20 MB request line without a newline, a NUL and invalid bytes, then a good request: one
  // error for each bad line, the good one answered, and memory as without the long line.
  gt::testing::ProcessOptions in_dir;
  in_dir.working_dir = dir_.string();
  auto serve = [&](const std::string& input) {
    return gt::testing::run_shell("{ " + input + "; } | /usr/bin/time -f rss_kb=%M " +
                                      gt::testing::greentrain_binary() + " meter --serve",
                                  in_dir);
  };
  const Result plain = serve("printf 'begin a\\nquit\\n'");
  const Result hostile = serve(
      "head -c 20000000 /dev/zero | tr '\\0' x; printf '\\nbogus \\0\\033 \\377\\n"
      "begin a\\nquit\\n'");
  ASSERT_EQ(hostile.code, 0) << hostile.err;
  std::istringstream replies(hostile.out);
  std::vector<std::string> lines;
  for (std::string l; std::getline(replies, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 4u) << hostile.out.substr(0, 400);
  EXPECT_EQ(lines[1].find("error request of 257 bytes or more"), 0u) << lines[1];
  EXPECT_EQ(lines[2].find(R"(error unknown request "bogus \u0000\u001b )"), 0u) << lines[2];
  EXPECT_TRUE(nlohmann::json::accept(
      lines[2].substr(lines[2].find('"'), lines[2].find(": expected") - lines[2].find('"'))));
  EXPECT_EQ(lines[3].find("ok {\"name\":\"a\""), 0u) << lines[3];
  auto rss_kb = [](const std::string& err) {
    return std::stol(err.substr(err.rfind("rss_kb=") + 7));
  };
  EXPECT_LT(rss_kb(hostile.err), rss_kb(plain.err) + 8000) << hostile.err << plain.err;
}

TEST_F(CliRobustness, DamagedFactorNamesRowIsAOneLineError) {
  make_db();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "r.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE experiments SET factor_names = '[1]'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  expect_error(run({"export", "--db", "r.db", "--csv", "-"}), 1,
               "a factor name in the database is 1 instead of a string");
}

}  // namespace
