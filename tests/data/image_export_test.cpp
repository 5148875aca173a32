// The IDX → image folder converter (data/image_export.h): a PNG tree read back is the IDX bytes
// (train and valid from the training file in order, test from the test file), JPEG and RGB trees
// decode close to the source, a one-tree layout, --splits parsing, safe folder names, and
// refusals that leave nothing behind (an existing non-empty --out, too few images).
#include "data/image_export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "common/temp_dir.h"
#include "data/image_dataset.h"
#include "data/loader.h"
#include "image_files.h"

namespace gt::data {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// An MNIST-style folder: `rows` training and `test_rows` test images of 6 x 5 grey pixels,
// label = row % 10; the pixels of row r are pattern(6, 5, 1, r) (test rows: r + 1000).
std::string write_idx_dir(const fs::path& dir, int rows, int test_rows) {
  auto idx = [](char dims, const std::vector<uint32_t>& sizes, const std::vector<uint8_t>& data) {
    std::string b = {0, 0, 8, dims};
    for (uint32_t s : sizes)
      for (int k = 24; k >= 0; k -= 8) b += char((s >> k) & 0xff);
    return b + std::string(data.begin(), data.end());
  };
  for (const auto& [stem, n] : {std::pair<std::string, int>{"train", rows}, {"t10k", test_rows}}) {
    std::vector<uint8_t> pixels, labels;
    for (int r = 0; r < n; ++r) {
      const auto p = gt::testing::pattern(6, 5, 1, r + (stem == "t10k" ? 1000 : 0));
      pixels.insert(pixels.end(), p.begin(), p.end());
      labels.push_back(uint8_t(r % 10));
    }
    gt::testing::write_file(dir / (stem + "-images-idx3-ubyte"),
                            idx(3, {uint32_t(n), 5, 6}, pixels));
    gt::testing::write_file(dir / (stem + "-labels-idx1-ubyte"), idx(1, {uint32_t(n)}, labels));
  }
  return "mnist:" + dir.string();
}

class ImageExportTest : public ::testing::Test {
 protected:
  ImageExportOptions options() {
    ImageExportOptions o;
    o.from = write_idx_dir(dir_.path() / "idx", 100, 50);
    o.out = (dir_.path() / "tree").string();
    return o;
  }
  ImageFolderData load(const std::string& dir, ImageOptions o = {}) {
    o.cache_dir = (dir_.path() / "cache").string();
    return load_image_folder(dir, 0.0, o);
  }
  // The concatenated pixels of the rows of class c that a split takes, in file order.
  static std::vector<uint8_t> expected(int c, int first, int count, int seed_offset) {
    std::vector<uint8_t> out;
    for (int k = first; k < first + count; ++k) {
      const auto p = gt::testing::pattern(6, 5, 1, c + 10 * k + seed_offset);
      out.insert(out.end(), p.begin(), p.end());
    }
    return out;
  }
  gt::testing::TempDir dir_{"greentrain-export"};
};

TEST_F(ImageExportTest, PngTreeRoundTripsToTheIdxBytes) {
  ImageExportOptions o = options();
  o.format = ImageFormat::png;
  o.splits = "4,2,3";
  const ImageExportReport r = export_image_folder(o);
  EXPECT_EQ(r.images[0], 40);
  EXPECT_EQ(r.images[1], 20);
  EXPECT_EQ(r.images[2], 30);
  EXPECT_TRUE(fs::exists(dir_.path() / "tree" / "train" / "7" / "017.png"));
  EXPECT_TRUE(fs::exists(dir_.path() / "tree" / "valid" / "7" / "047.png"));
  EXPECT_TRUE(fs::exists(dir_.path() / "tree" / "test" / "7" / "027.png"));
  const ImageFolderData d = load(o.out);
  EXPECT_EQ(d.train.channels, 1);
  EXPECT_EQ(d.train.width, 6);
  EXPECT_EQ(d.train.height, 5);
  const size_t sample = 30;
  for (int c = 0; c < 10; ++c) {
    auto rows = [&](const Dataset& set, int per_class) {
      const auto* p = set.u8.data() + size_t(c * per_class) * sample;
      return std::vector<uint8_t>(p, p + size_t(per_class) * sample);
    };
    EXPECT_EQ(rows(d.train, 4), expected(c, 0, 4, 0)) << "class " << c;
    EXPECT_EQ(rows(d.validation, 2), expected(c, 4, 2, 0)) << "class " << c;
    EXPECT_EQ(rows(d.test, 3), expected(c, 0, 3, 1000)) << "class " << c;
    EXPECT_EQ(d.train.labels[size_t(4 * c)], c);
  }
}

TEST_F(ImageExportTest, RgbJpegTreeIsCloseToTheSourceAndResized) {
  ImageExportOptions o = options();
  o.channels = 3;
  o.size = 12;
  o.per_class = 5;
  o.splits = "0.6,0.2,0.2";
  o.quality = 98;
  const ImageExportReport r = export_image_folder(o);
  EXPECT_EQ(r.images[0], 30);
  EXPECT_EQ(r.images[1], 10);
  EXPECT_EQ(r.images[2], 10);
  const ImageFolderData d = load(o.out);
  EXPECT_EQ(d.train.channels, 3);
  EXPECT_EQ(d.train.width, 12);
  ImageOptions grey;
  grey.color = ColorMode::grey;
  grey.size = 6;  // back to the source size (area average of 2x... of the bilinear upscale)
  const ImageFolderData g = load(o.out, grey);
  ASSERT_EQ(g.train.width, 6);
  const auto src = expected(0, 0, 1, 0);
  double err = 0;
  for (size_t i = 0; i < 30; ++i) err += std::abs(int(g.train.u8[i]) - int(src[i]));
  EXPECT_LT(err / 30, 12.0);  // bilinear 6->12 then area 12->6 smooths, JPEG adds a little
}

TEST_F(ImageExportTest, WritesOneTree) {
  ImageExportOptions o = options();
  o.one_tree = true;
  o.per_class = 3;
  o.format = ImageFormat::png;
  export_image_folder(o);
  EXPECT_TRUE(fs::exists(dir_.path() / "tree" / "3" / "013.png"));
  EXPECT_FALSE(fs::exists(dir_.path() / "tree" / "train"));
  ImageOptions split;
  split.test_fraction = 1.0 / 3.0;
  const ImageFolderData d = load(o.out, split);
  EXPECT_EQ(d.train.rows, 20);
  EXPECT_EQ(d.test.rows, 10);
}

TEST_F(ImageExportTest, RefusalsLeaveNothingBehind) {
  ImageExportOptions o = options();
  gt::testing::write_file(dir_.path() / "tree" / "keep.txt", "mine");
  EXPECT_THROW(export_image_folder(o), gt::UsageError);
  EXPECT_EQ(gt::testing::read_file(dir_.path() / "tree" / "keep.txt"), "mine");
  fs::remove_all(dir_.path() / "tree");
  fs::create_directories(dir_.path() / "tree");  // an empty folder is fine
  o.splits = "8,2,6";                            // the test file has 5 per class
  try {
    export_image_folder(o);
    ADD_FAILURE() << "no error";
  } catch (const gt::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("only 5 test images of class '0' left for test/ (6 asked"));
  }
  EXPECT_TRUE(fs::is_empty(dir_.path() / "tree"));
  for (const auto& name : gt::testing::file_names(dir_.str()))
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
  o.splits = "9,2,0";  // train and valid both from the training file: 10 per class
  EXPECT_THROW(export_image_folder(o), gt::Error);
  o.from = "csv:x.csv";
  EXPECT_THROW(export_image_folder(o), gt::UsageError);
}

TEST(ImageExport, SplitCounts) {
  EXPECT_EQ(split_counts("0.8,0.1,0.1", 10), (std::array<int, 3>{8, 1, 1}));
  EXPECT_EQ(split_counts("0.5,0.25,0.25", 7), (std::array<int, 3>{4, 2, 1}));
  EXPECT_EQ(split_counts("6000,0,1000", 0), (std::array<int, 3>{6000, 0, 1000}));
  EXPECT_EQ(split_counts("6000,0,1000", 7000), (std::array<int, 3>{6000, 0, 1000}));
  EXPECT_THROW(split_counts("6000,0,1000", 10), gt::UsageError);
  EXPECT_THROW(split_counts("0.8,0.1,0.1", 0), gt::UsageError);
  EXPECT_THROW(split_counts("0.8,0.3,0.1", 10), gt::UsageError);
  EXPECT_THROW(split_counts("1,2", 0), gt::UsageError);
  EXPECT_THROW(split_counts("0,0,0", 0), gt::UsageError);
  EXPECT_THROW(split_counts("a,b,c", 0), gt::UsageError);
  EXPECT_THROW(split_counts("-1,2,3", 0), gt::UsageError);
}

TEST(ImageExport, SafeFolderNames) {
  EXPECT_EQ(safe_folder_name("T-shirt/top"), "T-shirt_top");
  EXPECT_EQ(safe_folder_name("Ankle boot"), "Ankle boot");
  EXPECT_EQ(safe_folder_name(".."), "class");
  EXPECT_EQ(safe_folder_name(".hidden"), "hidden");
  EXPECT_EQ(safe_folder_name("a\\b\nc"), "a_b_c");
  EXPECT_EQ(safe_folder_name("Ägypten"), "Ägypten");
}

}  // namespace
}  // namespace gt::data
