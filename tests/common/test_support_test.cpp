// The shared test helpers themselves: TempDir creates a private folder and removes it with its
// contents; the file helpers round-trip and fail loudly; run_process reports exit codes,
// signals, separate or merged output and 127 for a missing executable; spawn/wait; ScopedEnv
// restores what was there.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "common/locations.h"
#include "common/scoped_env.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace gt::testing {
namespace {

TEST(TempDir, IsPrivateAndRemovedWithItsContents) {
  std::filesystem::path kept;
  {
    TempDir a("gt-support"), b("gt-support");
    EXPECT_NE(a.path(), b.path());
    EXPECT_TRUE(std::filesystem::is_directory(a.path()));
    write_file(a / "sub/dir/file.txt", "hello\n");
    EXPECT_EQ(read_file(a / "sub/dir/file.txt"), "hello\n");
    kept = a.path();
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

TEST(TempDir, ReadingAMissingFileThrows) {
  TempDir d;
  EXPECT_THROW(read_file(d / "absent"), std::runtime_error);
}

TEST(Subprocess, ReportsExitCodeAndSeparateStreams) {
  const ProcessResult r = run_shell("echo out; echo err >&2; exit 3");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(Subprocess, MergesStreamsWhenAsked) {
  ProcessOptions o;
  o.merge_stderr = true;
  const ProcessResult r = run_shell("echo a; echo b >&2", o);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "a\nb\n");
  EXPECT_EQ(r.err, "");
}

TEST(Subprocess, ReportsTheKillingSignal) {
  ProcessOptions o;
  o.after_start = [](pid_t pid) { kill(pid, SIGTERM); };
  const ProcessResult r = run_process({"sleep", "30"}, o);
  EXPECT_EQ(r.code, -1);
  EXPECT_EQ(r.signal, SIGTERM);
}

TEST(Subprocess, RunsInTheGivenWorkingDirectory) {
  TempDir d;
  ProcessOptions o;
  o.working_dir = d.str();
  const ProcessResult r = run_process({"pwd", "-P"}, o);
  EXPECT_EQ(r.out, std::filesystem::canonical(d.path()).string() + "\n");
  o.working_dir = d / "absent";
  EXPECT_EQ(run_process({"pwd"}, o).code, 126);
}

TEST(Subprocess, MissingExecutableExits127) {
  EXPECT_EQ(run_process({"/nonexistent/program"}).code, 127);
}

TEST(Subprocess, SpawnWritesItsLogAndIsReaped) {
  TempDir d;
  const pid_t pid =
      spawn_process({"/bin/sh", "-c", "echo to-log; echo err-log >&2; exit 4"}, d / "log.txt");
  EXPECT_EQ(wait_process(pid).code, 4);
  EXPECT_EQ(read_file(d / "log.txt"), "to-log\nerr-log\n");
}

TEST(ScopedEnv, RestoresThePreviousValueOrAbsence) {
  unsetenv("GT_SUPPORT_TEST_VAR");
  {
    ScopedEnv a("GT_SUPPORT_TEST_VAR", "one");
    EXPECT_STREQ(std::getenv("GT_SUPPORT_TEST_VAR"), "one");
    {
      ScopedEnv b("GT_SUPPORT_TEST_VAR", "two");
      EXPECT_STREQ(std::getenv("GT_SUPPORT_TEST_VAR"), "two");
    }
    EXPECT_STREQ(std::getenv("GT_SUPPORT_TEST_VAR"), "one");
  }
  EXPECT_EQ(std::getenv("GT_SUPPORT_TEST_VAR"), nullptr);
}

TEST(Locations, FindTheSourceTreeAndTheBinary) {
  EXPECT_TRUE(std::filesystem::exists(source_dir() / "tests/common/locations.h"));
  ScopedEnv missing("GREENTRAIN_BINARY", "/nonexistent/greentrain");
  EXPECT_THROW(greentrain_binary(), std::runtime_error);
}

}  // namespace
}  // namespace gt::testing
