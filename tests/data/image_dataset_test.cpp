// Loading image folders through the cache (data/image_dataset.h): JPEG and PNG, grey and RGB,
// mixed sizes with and without --image-size, UTF-8 and spaces in names; each bad input (a
// truncated JPEG, a PNG with a broken CRC, a file that is no image, an empty class folder, an
// unreadable file) is one line naming the file and leaves nothing in the cache folder, or is
// skipped and counted with --bad-images skip; the cache is reused (nothing decoded), replaced
// when a file changes, is added or removed, and rebuilt when damaged; the statistics are the
// training split's; threads do not change a byte.
#include "data/image_dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "common/temp_dir.h"
#include "data/loader.h"
#include "image_files.h"

namespace gt::data {
namespace {

namespace fs = std::filesystem;
using gt::testing::write_image;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ImageDatasetTest : public ::testing::Test {
 protected:
  // root/{train,test}/{cat,dog}/<i>.jpg: `per_class` training and 2 test images of w x h.
  void make_tree(int per_class, int w = 24, int h = 20, int channels = 3,
                 ImageFormat format = ImageFormat::jpeg) {
    const char* ext = format == ImageFormat::png ? ".png" : ".jpg";
    int seed = 0;
    for (const char* split : {"train", "test"})
      for (const char* cls : {"cat", "dog"})
        for (int i = 0; i < (split[1] == 'r' ? per_class : 2); ++i)
          write_image(root() / split / cls / (std::to_string(i) + ext), w, h, channels, ++seed,
                      format);
  }
  ImageFolderData load(ImageOptions o = {}, double validation = 0.0) {
    o.cache_dir = cache_.str();
    return load_image_folder(root().string(), validation, o);
  }
  std::string error_of(ImageOptions o = {}) {
    try {
      load(o);
    } catch (const gt::Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
      return e.what();
    }
    ADD_FAILURE() << "no error thrown";
    return "";
  }
  // The cache folder holds no cache and no temporary (the lock file may stay).
  void expect_no_cache() {
    for (const auto& name : gt::testing::file_names(cache_.str()))
      EXPECT_THAT(name, ::testing::EndsWith("-lock")) << "left in the cache folder";
  }
  std::vector<std::string> caches() {
    std::vector<std::string> out;
    for (const auto& name : gt::testing::file_names(cache_.str()))
      if (name.size() > 6 && name.substr(name.size() - 6) == ".gtimg") out.push_back(name);
    return out;
  }
  fs::path root() const { return dir_.path() / "images"; }
  static std::vector<uint8_t> bytes(const Dataset& d) {
    return std::vector<uint8_t>(d.u8.begin(), d.u8.end());
  }

  gt::testing::TempDir dir_{"greentrain-images"};
  gt::testing::TempDir cache_{"greentrain-cache"};
};

TEST_F(ImageDatasetTest, LoadsAnRgbJpegTreeAtItsOwnSize) {
  make_tree(3);
  const ImageFolderData d = load();
  EXPECT_THAT(d.class_names, ElementsAre("cat", "dog"));
  EXPECT_EQ(d.train.rows, 6);
  EXPECT_EQ(d.test.rows, 4);
  EXPECT_EQ(d.validation.rows, 0);
  EXPECT_EQ(d.train.height, 20);
  EXPECT_EQ(d.train.width, 24);
  EXPECT_EQ(d.train.channels, 3);
  EXPECT_EQ(d.train.features, 20 * 24 * 3);
  EXPECT_EQ(d.train.classes, 2);
  EXPECT_EQ(d.train.u8.size(), size_t(6 * 20 * 24 * 3));
  EXPECT_EQ(d.train.labels, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_FALSE(d.report.reused);
  EXPECT_EQ(d.report.decoded, 10);
  EXPECT_THAT(d.report.skipped, IsEmpty());
  // The first training image is close to the pattern it was encoded from (JPEG quality 92).
  const auto p = gt::testing::pattern(24, 20, 3, 1);
  double err = 0;
  for (size_t i = 0; i < p.size(); ++i) err += std::abs(int(p[i]) - int(d.train.u8[i]));
  EXPECT_LT(err / double(p.size()), 3.0);
}

TEST_F(ImageDatasetTest, GreyPngTreeIsGreyUnlessRgbIsAsked) {
  make_tree(2, 10, 12, 1, ImageFormat::png);
  const ImageFolderData grey = load();
  EXPECT_EQ(grey.train.channels, 1);
  // PNG is lossless: the bytes are the pattern's.
  const auto p = gt::testing::pattern(10, 12, 1, 1);
  EXPECT_EQ(std::vector<uint8_t>(grey.train.u8.begin(), grey.train.u8.begin() + 120), p);
  ImageOptions o;
  o.color = ColorMode::rgb;
  const ImageFolderData rgb = load(o);
  EXPECT_EQ(rgb.train.channels, 3);
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_EQ(rgb.train.u8[3 * i], p[i]);
    EXPECT_EQ(rgb.train.u8[3 * i + 2], p[i]);
  }
  EXPECT_EQ(caches().size(), 2u);  // one cache per colour mode
}

TEST_F(ImageDatasetTest, MixedSizesNeedAnImageSize) {
  make_tree(2);
  write_image((root() / "train" / "dog" / "big one.png").string(), 40, 30, 1, 9, ImageFormat::png);
  const std::string e = error_of();
  EXPECT_THAT(e, HasSubstr("differ in size"));
  EXPECT_THAT(e, HasSubstr("24x20"));
  EXPECT_THAT(e, HasSubstr("big one.png is 40x30"));
  EXPECT_THAT(e, HasSubstr("--image-size"));
  expect_no_cache();
  ImageOptions o;
  o.size = 16;
  const ImageFolderData d = load(o);
  EXPECT_EQ(d.train.rows, 5);
  EXPECT_EQ(d.train.height, 16);
  EXPECT_EQ(d.train.width, 16);
  EXPECT_EQ(d.train.channels, 3);  // a grey image among colour ones: RGB
}

TEST_F(ImageDatasetTest, UnicodeAndSpacesInNames) {
  write_image((root() / "train" / "Ägyptische Gans" / "Foto 1 ✓.jpg").string(), 8, 8, 3, 1);
  write_image((root() / "train" / "white stork" / "été.png").string(), 8, 8, 3, 2,
              ImageFormat::png);
  const ImageFolderData d = load();
  EXPECT_THAT(d.class_names, ElementsAre("white stork", "Ägyptische Gans"));
  EXPECT_EQ(d.train.labels, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(load().report.reused, true);
}

TEST_F(ImageDatasetTest, EachBadImageIsOneLineNamingTheFileAndNothingIsCached) {
  make_tree(2);
  const std::string truncated = (root() / "train" / "cat" / "0.jpg").string();
  gt::testing::truncate_file(truncated, fs::file_size(truncated) * 2 / 3);  // header intact
  EXPECT_THAT(error_of(), HasSubstr(truncated + ": corrupt JPEG"));
  expect_no_cache();
  // The same with the size and colour given: the header is fine, the decode fails (one pass).
  ImageOptions given;
  given.size = 24;
  given.color = ColorMode::rgb;
  EXPECT_THAT(error_of(given), HasSubstr(truncated + ": corrupt JPEG"));
  expect_no_cache();
  write_image(truncated, 24, 20, 3, 1);

  const std::string png = (root() / "train" / "dog" / "x.png").string();
  write_image(png, 24, 20, 3, 5, ImageFormat::png);
  gt::testing::break_png_crc(png);
  EXPECT_THAT(error_of(), HasSubstr(png + ": corrupt PNG"));
  expect_no_cache();
  fs::remove(png);

  const std::string text = (root() / "test" / "dog" / "readme.txt").string();
  gt::testing::write_file(text, "not an image");
  EXPECT_THAT(error_of(), HasSubstr(text + ": not a JPEG or PNG image"));
  expect_no_cache();
  fs::remove(text);

  const std::string empty = (root() / "train" / "dog" / "empty.jpg").string();
  gt::testing::write_file(empty, "");
  EXPECT_THAT(error_of(), HasSubstr(empty + ": empty file"));
  fs::remove(empty);

  const std::string dangling = (root() / "train" / "dog" / "gone.jpg").string();
  fs::create_symlink(dir_.path() / "nowhere.jpg", dangling);
  EXPECT_THAT(error_of(), HasSubstr(dangling + ": cannot open: No such file or directory"));
  expect_no_cache();
  fs::remove(dangling);

  if (geteuid() != 0) {  // root reads any file
    const std::string locked = (root() / "train" / "dog" / "0.jpg").string();
    fs::permissions(locked, fs::perms::none);
    EXPECT_THAT(error_of(), HasSubstr(locked + ": cannot open: Permission denied"));
    fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_write);
  }

  fs::create_directories(root() / "train" / "emu");
  fs::create_directories(root() / "test" / "emu");
  const std::string e = error_of();
  EXPECT_THAT(e, HasSubstr((root() / "train" / "emu").string() + ": empty class folder"));
  expect_no_cache();
}

TEST_F(ImageDatasetTest, SeveralBadImagesAreCountedInTheOneLine) {
  make_tree(3);
  for (const char* name : {"0.jpg", "1.jpg"})
    gt::testing::write_file(root() / "train" / "cat" / name, "junk");
  const std::string e = error_of();
  EXPECT_THAT(e, HasSubstr((root() / "train" / "cat" / "0.jpg").string()));
  EXPECT_THAT(e, HasSubstr("and 1 more bad image"));
}

TEST_F(ImageDatasetTest, SkipLeavesBadImagesOutAndCountsThem) {
  make_tree(3);
  ImageOptions o;
  o.size = 24;
  o.color = ColorMode::rgb;  // one pass: the truncated JPEG fails while decoding
  const std::vector<uint8_t> clean_before = [&] {
    // The clean tree without the two files that will go bad: the expected bytes.
    const ImageFolderData all = load(o);
    const size_t sample = size_t(all.train.features);
    std::vector<uint8_t> keep;
    for (int64_t r = 0; r < all.train.rows; ++r)
      if (r != 0 && r != 4)  // cat/0.jpg and dog/1.jpg
        keep.insert(keep.end(), all.train.u8.begin() + r * sample,
                    all.train.u8.begin() + (r + 1) * sample);
    return keep;
  }();
  const std::string truncated = (root() / "train" / "cat" / "0.jpg").string();
  gt::testing::truncate_file(truncated, fs::file_size(truncated) * 2 / 3);
  const std::string text = (root() / "train" / "dog" / "1.jpg").string();
  gt::testing::write_file(text, "not an image");
  fs::create_directories(root() / "train" / "emu");
  fs::create_directories(root() / "test" / "emu");
  o.bad_images = BadImagePolicy::skip;
  const ImageFolderData d = load(o);
  EXPECT_EQ(d.train.rows, 4);
  EXPECT_EQ(d.train.labels, (std::vector<int32_t>{0, 0, 1, 1}));
  EXPECT_THAT(d.class_names, ElementsAre("cat", "dog", "emu"));
  EXPECT_EQ(d.train.classes, 3);
  ASSERT_EQ(d.report.skipped.size(), 2u);
  EXPECT_EQ(d.report.skipped[0].path, truncated);
  EXPECT_THAT(d.report.skipped[0].reason, HasSubstr(truncated + ": corrupt JPEG"));
  EXPECT_THAT(d.report.skipped[1].reason, HasSubstr(text + ": not a JPEG or PNG image"));
  ASSERT_EQ(d.report.notes.size(), 2u);
  EXPECT_THAT(d.report.notes[0], HasSubstr("emu: empty class folder"));
  EXPECT_EQ(bytes(d.train), clean_before);  // the holes were closed in order
  const ImageFolderData again = load(o);
  EXPECT_TRUE(again.report.reused);
  EXPECT_EQ(again.report.skipped.size(), 2u);  // remembered by the cache
  // The fail policy has its own cache and still refuses.
  o.bad_images = BadImagePolicy::fail;
  EXPECT_THAT(error_of(o), HasSubstr("empty class folder"));
}

TEST_F(ImageDatasetTest, SecondLoadReusesTheCacheAndDecodesNothing) {
  make_tree(2);
  const ImageFolderData first = load();
  EXPECT_EQ(first.report.decoded, 8);
  ASSERT_EQ(caches().size(), 1u);
  EXPECT_EQ(fs::path(first.report.cache_path).filename().string(), caches()[0]);
  EXPECT_THAT(caches()[0], ::testing::StartsWith("images-"));
  const ImageFolderData second = load();
  EXPECT_TRUE(second.report.reused);
  EXPECT_EQ(second.report.decoded, 0);
  EXPECT_EQ(bytes(second.train), bytes(first.train));
  EXPECT_EQ(bytes(second.test), bytes(first.test));
  EXPECT_EQ(second.train.mean, first.train.mean);
  // A copy of the data set shares the mapped bytes.
  const Dataset copy = second.train;
  EXPECT_EQ(copy.u8.data(), second.train.u8.data());
}

TEST_F(ImageDatasetTest, AChangedAddedOrRemovedFileMakesANewCache) {
  make_tree(2);
  const ImageFolderData first = load();
  const std::string cat0 = (root() / "train" / "cat" / "0.jpg").string();
  write_image(cat0, 24, 20, 3, 77);  // new content, new size and time
  fs::last_write_time(cat0, fs::last_write_time(cat0) + std::chrono::seconds(5));
  const ImageFolderData changed = load();
  EXPECT_FALSE(changed.report.reused);
  EXPECT_EQ(changed.report.decoded, 8);
  EXPECT_NE(bytes(changed.train), bytes(first.train));
  EXPECT_EQ(caches().size(), 1u);  // the superseded cache is gone
  write_image((root() / "train" / "dog" / "new.jpg").string(), 24, 20, 3, 78);
  const ImageFolderData added = load();
  EXPECT_FALSE(added.report.reused);
  EXPECT_EQ(added.train.rows, 5);
  fs::remove(root() / "test" / "cat" / "0.jpg");
  const ImageFolderData removed = load();
  EXPECT_FALSE(removed.report.reused);
  EXPECT_EQ(removed.test.rows, 3);
  EXPECT_EQ(caches().size(), 1u);
  EXPECT_TRUE(load().report.reused);
}

TEST_F(ImageDatasetTest, ADamagedCacheIsDecodedAgain) {
  make_tree(2);
  const ImageFolderData first = load();
  const std::vector<uint8_t> expected = bytes(first.train);
  const std::string path = first.report.cache_path;
  for (const size_t keep : {size_t(10), size_t(5000)}) {
    gt::testing::truncate_file(path, keep);
    const ImageFolderData again = load();
    EXPECT_FALSE(again.report.reused);
    ASSERT_EQ(again.report.notes.size(), 1u);
    EXPECT_THAT(again.report.notes[0], HasSubstr("not a usable cache"));
    EXPECT_EQ(bytes(again.train), expected);
  }
  // A stale temporary from a killed writer is removed by the next writer.
  gt::testing::write_file(path + ".tmp-ABCDEF", "half");
  fs::remove(path);
  load();
  for (const auto& name : gt::testing::file_names(cache_.str()))
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
}

TEST_F(ImageDatasetTest, AGivenCacheFileIsMappedWithoutListingWhenItsSettingsMatch) {
  make_tree(2);
  const ImageFolderData first = load();
  ImageOptions hinted;
  hinted.cache_file = first.report.cache_path;
  fs::remove_all(root() / "test");  // not listed again: the hint is trusted
  const ImageFolderData again = load(hinted);
  EXPECT_TRUE(again.report.reused);
  EXPECT_EQ(again.test.rows, 4);
  EXPECT_EQ(bytes(again.train), bytes(first.train));
  hinted.size = 12;  // other settings: the hint does not apply, the folder is listed and decoded
  const ImageFolderData other = load(hinted);
  EXPECT_FALSE(other.report.reused);
  EXPECT_EQ(other.test.rows, 0);
  EXPECT_EQ(other.train.width, 12);
}

TEST_F(ImageDatasetTest, StatisticsAreTheTrainingSplits) {
  make_tree(3);
  const ImageFolderData d = load();
  ASSERT_EQ(d.train.mean.size(), 3u);
  for (int c = 0; c < 3; ++c) {
    double s = 0, ss = 0, n = 0;
    for (size_t i = size_t(c); i < d.train.u8.size(); i += 3) {
      const double v = d.train.u8[i] / 255.0;
      s += v;
      ss += v * v;
      ++n;
    }
    const double mean = s / n, sd = std::sqrt(ss / n - mean * mean);
    EXPECT_NEAR(d.train.mean[size_t(c)], mean, 1e-6);
    EXPECT_NEAR(d.train.stddev[size_t(c)], sd, 1e-6);
    EXPECT_EQ(d.test.mean[size_t(c)], d.train.mean[size_t(c)]);
  }
  EXPECT_FLOAT_EQ(d.train.value(0, 1),
                  (d.train.u8[1] / 255.0f - d.train.mean[1]) / d.train.stddev[1]);
}

TEST_F(ImageDatasetTest, ThreadsDoNotChangeAByte) {
  make_tree(5);
  ImageOptions one, four;
  one.threads = 1;
  one.size = four.size = 13;
  four.threads = 4;
  const auto a = bytes(load(one).train);
  fs::remove_all(cache_.path());
  const auto b = bytes(load(four).train);
  EXPECT_EQ(a, b);
}

TEST_F(ImageDatasetTest, OneTreeIsSplitAndValidationHeldOut) {
  for (int i = 0; i < 10; ++i) {
    write_image((root() / "a" / (std::to_string(i) + ".png")).string(), 6, 6, 1, i,
                ImageFormat::png);
    write_image((root() / "b" / (std::to_string(i) + ".png")).string(), 6, 6, 1, i + 20,
                ImageFormat::png);
  }
  ImageOptions o;
  o.test_fraction = 0.3;
  const ImageFolderData d = load(o, 0.2);
  EXPECT_EQ(d.train.rows, 10);
  EXPECT_EQ(d.validation.rows, 4);
  EXPECT_EQ(d.test.rows, 6);
}

TEST_F(ImageDatasetTest, LoaderResolvesFolderSpecs) {
  make_tree(2);
  DataOptions o;
  o.spec = "folder:" + root().string();
  o.images.cache_dir = cache_.str();
  const Splits s = load_data(o);
  EXPECT_EQ(s.name, "folder");
  EXPECT_EQ(s.location, root().string());
  EXPECT_EQ(s.train.rows, 4);
  ASSERT_TRUE(s.images.has_value());
  EXPECT_TRUE(prepare_data(o)->reused);
  o.spec = "fashion-mnist";
  o.data_dir = (dir_.path() / "nothing").string();
  EXPECT_FALSE(prepare_data(o).has_value());  // no work for other data
  o.spec = "folder:" + (dir_.path() / "absent").string();
  EXPECT_THROW(load_data(o), gt::Error);
}

TEST_F(ImageDatasetTest, ACacheFolderThatCannotBeMadeIsOneLine) {
  make_tree(1);
  gt::testing::write_file(dir_.path() / "a file", "x");
  ImageOptions o;
  o.cache_dir = (dir_.path() / "a file").string();
  try {
    load_image_folder(root().string(), 0.0, o);
    ADD_FAILURE() << "no error";
  } catch (const gt::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(o.cache_dir + ": cannot create the cache directory"));
  }
}

TEST(ImageOptionsText, ParsesAndNames) {
  EXPECT_EQ(parse_color_mode("gray"), ColorMode::grey);
  EXPECT_EQ(parse_color_mode("rgb"), ColorMode::rgb);
  EXPECT_THROW(parse_color_mode("cmyk"), gt::UsageError);
  EXPECT_EQ(parse_bad_image_policy("skip"), BadImagePolicy::skip);
  EXPECT_THROW(parse_bad_image_policy("ignore"), gt::UsageError);
  EXPECT_STREQ(to_string(ColorMode::automatic), "auto");
  EXPECT_STREQ(to_string(BadImagePolicy::fail), "fail");
}

}  // namespace
}  // namespace gt::data
