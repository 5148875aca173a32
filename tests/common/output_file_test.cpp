// Output files: written whole through a temporary beside the target; never replacing a symlink,
// a FIFO, a device or a directory; never the protected input database (any spelling of its
// path, or its -wal file); a missing directory is an error; an existing file keeps its mode.
#include "common/output_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/temp_dir.h"

namespace gt {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class OutputFile : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = tmp_.path(); }
  std::string error_of(const std::string& path, const std::vector<std::string>& protect = {}) {
    try {
      write_output_file(path, "new\n", protect);
    } catch (const gt::Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      return e.what();
    }
    ADD_FAILURE() << "no error for " << path;
    return "";
  }
  // Nothing but `expected` is left in the directory (no temporary).
  void expect_only(const std::vector<std::string>& expected) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    EXPECT_THAT(names, ::testing::UnorderedElementsAreArray(expected));
  }
  gt::testing::TempDir tmp_{"greentrain-output-file"};
  fs::path dir_;
};

TEST_F(OutputFile, WritesAndReplacesRegularFilesKeepingTheirMode) {
  const auto p = dir_ / "out.csv";
  write_output_file(p, "one\n");
  EXPECT_EQ(slurp(p), "one\n");
  chmod(p.c_str(), 0640);
  write_output_file(p, "two\n");
  EXPECT_EQ(slurp(p), "two\n");
  struct stat st {};
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  expect_only({"out.csv"});
}

TEST_F(OutputFile, RefusesTheDatabaseWhateverTheSpelling) {
  const auto db = dir_ / "r.db";
  std::ofstream(db) << "SQLite format 3";
  std::ofstream(dir_ / "r.db-wal") << "wal";
  EXPECT_THAT(error_of(db, {db}), HasSubstr("is the results database"));
  EXPECT_THAT(error_of((dir_ / "." / "r.db").string(), {db}), HasSubstr("refusing to overwrite"));
  fs::create_symlink(db, dir_ / "alias.db");
  EXPECT_THAT(error_of(dir_ / "alias.db", {db}), HasSubstr("results database"));
  EXPECT_THAT(error_of(dir_ / "r.db-wal", {db}), HasSubstr("results database"));
  EXPECT_EQ(slurp(db), "SQLite format 3");
  EXPECT_EQ(slurp(dir_ / "r.db-wal"), "wal");
}

TEST_F(OutputFile, RefusesSymlinksFifosDevicesAndDirectories) {
  std::ofstream(dir_ / "target") << "keep";
  fs::create_symlink(dir_ / "target", dir_ / "link");
  EXPECT_THAT(error_of(dir_ / "link"), HasSubstr("is a symbolic link; refusing to replace it"));
  EXPECT_TRUE(fs::is_symlink(dir_ / "link"));
  EXPECT_EQ(slurp(dir_ / "target"), "keep");
  ASSERT_EQ(mkfifo((dir_ / "fifo").c_str(), 0644), 0);
  EXPECT_THAT(error_of(dir_ / "fifo"), HasSubstr("is a FIFO"));
  EXPECT_TRUE(fs::is_fifo(dir_ / "fifo"));
  EXPECT_THAT(error_of("/dev/null"), HasSubstr("is a device"));
  fs::create_directory(dir_ / "sub");
  EXPECT_THAT(error_of(dir_ / "sub"), HasSubstr("is a directory"));
  expect_only({"target", "link", "fifo", "sub"});
}

TEST_F(OutputFile, MissingDirectoryIsAnError) {
  EXPECT_THAT(error_of("/nonexistent/dir/plan.toml"),
              HasSubstr("directory '/nonexistent/dir' does not exist"));
}

}  // namespace
}  // namespace gt
