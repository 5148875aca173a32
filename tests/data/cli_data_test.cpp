// `greentrain data images`, `greentrain data prepare` and `greentrain train --data folder:` as
// child processes: a Fashion-MNIST tree is written, decoded once and reused; a bad image is one
// line and exit 1 (or skipped and counted in train's JSON with --bad-images skip); images of
// mixed sizes without --image-size are a usage error (exit 2); bad flags are refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "image_files.h"
#include "nlohmann/json.hpp"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct ChildRun {
  int code;
  std::string output;
};

ChildRun greentrain(const std::string& args) {
  gt::testing::ProcessOptions merged;
  merged.merge_stderr = true;
  const auto r = gt::testing::run_shell(gt::testing::greentrain_binary() + " " + args, merged);
  return {r.code, r.out};
}

int lines(const std::string& text) { return int(std::count(text.begin(), text.end(), '\n')); }

class CliData : public ::testing::Test {
 protected:
  std::string tree() const { return dir_ / "fäshion mnist"; }  // a space and UTF-8
  std::string quoted_tree() const { return "'" + tree() + "'"; }
  std::string cache() const { return dir_ / "cache"; }
  // A small PNG tree of Fashion-MNIST: 12 training, 2 validation and 4 test images per class.
  void make_tree(const std::string& extra = "") {
    const ChildRun r = greentrain("data images --from fashion-mnist --out " + quoted_tree() +
                                  " --format png --splits 12,2,4 " + extra);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("wrote 180 images of 10 classes"));
  }
  gt::testing::TempDir dir_{"greentrain-cli-data"};
};

TEST_F(CliData, ConvertsPreparesOnceAndTrains) {
  make_tree();
  EXPECT_TRUE(fs::exists(fs::path(tree()) / "train" / "T-shirt_top"));
  EXPECT_TRUE(fs::exists(fs::path(tree()) / "test" / "Ankle boot"));
  const std::string data = "--data 'folder:" + tree() + "' --cache-dir " + cache();
  const ChildRun first = greentrain("data prepare " + data);
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_THAT(first.output,
              HasSubstr("10 classes · 28x28x1 · train 120 · validation 20 · test 40"));
  EXPECT_THAT(first.output, HasSubstr("180 images decoded"));
  const ChildRun second = greentrain("data prepare " + data);
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("(reused)"));
  const std::string json = dir_ / "train.json";
  const ChildRun t = greentrain("train " + data +
                                " --model mlp:16 --epochs 2 --batch-size 16 --device cpu "
                                "--no-measure -q --json " +
                                json);
  ASSERT_EQ(t.code, 0) << t.output;
  const auto j = nlohmann::json::parse(gt::testing::read_file(json));
  EXPECT_EQ(j["train_rows"], 120);
  EXPECT_EQ(j["validation_rows"], 20);
  EXPECT_EQ(j["test_rows"], 40);
  EXPECT_EQ(j["skipped_images"], 0);
  EXPECT_EQ(j["data"], "folder");
  EXPECT_TRUE(j["test_accuracy"].is_number());
}

TEST_F(CliData, ABadImageIsOneLineOrSkippedAndCounted) {
  make_tree();
  const std::string bad = (fs::path(tree()) / "train" / "Bag" / "broken image.png").string();
  gt::testing::write_file(bad, "this is not a PNG");
  const std::string data = "--data 'folder:" + tree() + "' --cache-dir " + cache();
  const ChildRun fail = greentrain("data prepare " + data);
  EXPECT_EQ(fail.code, 1);
  EXPECT_EQ(fail.output, "greentrain: " + bad + ": not a JPEG or PNG image\n");
  EXPECT_THAT(gt::testing::file_names(cache()), ::testing::Each(::testing::EndsWith("-lock")));
  const std::string json = dir_ / "train.json";
  const ChildRun skip = greentrain("train " + data +
                                   " --bad-images skip --model mlp:8 --epochs 1 --device cpu "
                                   "--no-measure -q --json " +
                                   json);
  ASSERT_EQ(skip.code, 0) << skip.output;
  const auto j = nlohmann::json::parse(gt::testing::read_file(json));
  EXPECT_EQ(j["skipped_images"], 1);
  EXPECT_EQ(j["train_rows"], 120);
  // The metered train says once which image it skipped, before training.
  const ChildRun metered = greentrain("train " + data +
                                      " --bad-images skip --model mlp:8 --epochs 1 --device cpu "
                                      "-q --json " +
                                      json);
  ASSERT_EQ(metered.code, 0) << metered.output;
  EXPECT_THAT(metered.output, HasSubstr("greentrain: skipped " + bad + ": not a JPEG or PNG"));
  EXPECT_EQ(nlohmann::json::parse(gt::testing::read_file(json))["skipped_images"], 1);
}

TEST_F(CliData, MixedSizesNeedAnImageSize) {
  make_tree();
  gt::testing::write_image((fs::path(tree()) / "train" / "Bag" / "big.jpg").string(), 40, 32, 3, 1);
  const std::string data = "--data 'folder:" + tree() + "' --cache-dir " + cache();
  const ChildRun r = greentrain("data prepare " + data);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.output), 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("differ in size"));
  EXPECT_THAT(r.output, HasSubstr("--image-size"));
  const ChildRun sized = greentrain("data prepare " + data + " --image-size 20");
  ASSERT_EQ(sized.code, 0) << sized.output;
  EXPECT_THAT(sized.output, HasSubstr("20x20x3"));
}

TEST_F(CliData, BadFlagsAreRefused) {
  for (const std::string& args : std::vector<std::string>{
           "data images --from fashion-mnist --out " + quoted_tree() +
               " --format gif --per-class 1",
           "data images --from csv:x.csv --out " + quoted_tree() + " --per-class 1",
           "data images --from fashion-mnist --out " + quoted_tree() + " --splits 0.5,0.5",
           std::string("data prepare --data fashion-mnist"),
           "data prepare --data 'folder:" + tree() + "' --color cmyk",
           "data prepare --data 'folder:" + tree() + "' --bad-images ignore",
           "train --data 'folder:" + tree() + "' --image-size -3 --no-measure"}) {
    const ChildRun r = greentrain(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_EQ(lines(r.output), 1) << args << "\n" << r.output;
  }
  EXPECT_FALSE(fs::exists(tree()));
}

}  // namespace
