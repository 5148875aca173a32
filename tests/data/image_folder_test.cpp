// Listing image folders (data/image_folder.h): the split layout and the one-tree layout, sorted
// classes and files, hidden and stray entries ignored, UTF-8 and spaces in names, splits that
// disagree on their classes (one line naming the classes), the split by fraction (exact counts
// per class, the same for the same seed, unaffected by other classes' files), empty class
// folders, and the option checks.
#include "data/image_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "common/error.h"
#include "common/temp_dir.h"

namespace gt::data {
namespace {

using gt::testing::write_file;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const gt::Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

std::map<Split, int> count_splits(const FolderListing& l) {
  std::map<Split, int> n;
  for (const auto& f : l.files) ++n[f.split];
  return n;
}

TEST(ImageFolder, ReadsTheSplitLayout) {
  gt::testing::TempDir dir("greentrain-folder");
  for (const char* split : {"train", "valid", "test"})
    for (const char* cls : {"zebra finch", "Ägyptische Gans", "albatross"}) {
      write_file(dir.path() / split / cls / "b 1.jpg", "x");
      write_file(dir.path() / split / cls / "a.png", "y");
      write_file(dir.path() / split / cls / ".DS_Store", "hidden");
    }
  write_file(dir.path() / "birds.csv", "a stray file beside the splits");
  write_file(dir.path() / "train" / "notes.txt", "a stray file beside the classes");
  const FolderListing l = list_image_folder(dir.str(), {});
  EXPECT_TRUE(l.split_layout);
  // Sorted by bytes: "albatross" < "zebra finch" < "Ägyptische Gans" (UTF-8 lead byte 0xC3).
  EXPECT_THAT(l.classes, ElementsAre("albatross", "zebra finch", "Ägyptische Gans"));
  ASSERT_EQ(l.files.size(), 18u);
  EXPECT_EQ(l.files[0].relative, "train/albatross/a.png");
  EXPECT_EQ(l.files[1].relative, "train/albatross/b 1.jpg");
  EXPECT_EQ(l.files[1].label, 0);
  EXPECT_EQ(l.files[5].relative, "train/Ägyptische Gans/b 1.jpg");
  EXPECT_EQ(l.files[5].label, 2);
  EXPECT_EQ(l.files[6].split, Split::validation);
  EXPECT_EQ(l.files[6].relative, "valid/albatross/a.png");
  EXPECT_EQ(l.files[17].split, Split::test);
  EXPECT_EQ(l.files[0].size, 1u);
  EXPECT_GT(l.files[0].mtime_ns, 0);
  EXPECT_EQ(l.files[0].path, (dir.path() / "train" / "albatross" / "a.png").string());
}

TEST(ImageFolder, SplitsMustAgreeOnTheirClasses) {
  gt::testing::TempDir dir("greentrain-folder");
  for (const char* cls : {"a", "b", "c"}) write_file(dir.path() / "train" / cls / "1.jpg", "x");
  for (const char* cls : {"a", "c", "d"}) write_file(dir.path() / "test" / cls / "1.jpg", "x");
  const std::string e = error_of([&] { list_image_folder(dir.str(), {}); });
  EXPECT_THAT(e, HasSubstr((dir.path() / "test").string()));
  EXPECT_THAT(e, HasSubstr("missing: b"));
  EXPECT_THAT(e, HasSubstr("not in train: d"));
}

TEST(ImageFolder, ValidationFolderRules) {
  gt::testing::TempDir dir("greentrain-folder");
  write_file(dir.path() / "train" / "a" / "1.jpg", "x");
  write_file(dir.path() / "val" / "a" / "1.jpg", "x");
  EXPECT_EQ(list_image_folder(dir.str(), {}).files[1].split, Split::validation);
  EXPECT_THROW(list_image_folder(dir.str(), {0.2, 0.2, 1}), gt::UsageError);  // has val/
  write_file(dir.path() / "valid" / "a" / "1.jpg", "x");
  EXPECT_THAT(error_of([&] { list_image_folder(dir.str(), {}); }),
              HasSubstr("both valid/ and val/"));
}

TEST(ImageFolder, HoldsOutValidationPerClassWithoutAValidationFolder) {
  gt::testing::TempDir dir("greentrain-folder");
  for (int i = 0; i < 10; ++i) {
    write_file(dir.path() / "train" / "a" / (std::to_string(i) + ".jpg"), "x");
    write_file(dir.path() / "train" / "b" / (std::to_string(i) + ".jpg"), "x");
  }
  const FolderListing l = list_image_folder(dir.str(), {0.3, 0.5, 1});  // test ignored here
  auto n = count_splits(l);
  EXPECT_EQ(n[Split::train], 14);
  EXPECT_EQ(n[Split::validation], 6);
  EXPECT_EQ(n[Split::test], 0);
}

TEST(ImageFolder, SplitsOneTreeByFractionPerClassDeterministically) {
  gt::testing::TempDir dir("greentrain-folder");
  for (int i = 0; i < 20; ++i) write_file(dir.path() / "cat" / ("c" + std::to_string(i)), "x");
  for (int i = 0; i < 7; ++i) write_file(dir.path() / "dog" / ("d" + std::to_string(i)), "x");
  const SplitRule rule{0.1, 0.25, 7};
  const FolderListing a = list_image_folder(dir.str(), rule);
  EXPECT_FALSE(a.split_layout);
  EXPECT_THAT(a.classes, ElementsAre("cat", "dog"));
  std::map<std::pair<int, Split>, int> per_class;
  for (const auto& f : a.files) ++per_class[{f.label, f.split}];
  EXPECT_EQ((per_class[{0, Split::test}]), 5);        // 20 x 0.25
  EXPECT_EQ((per_class[{0, Split::validation}]), 2);  // 20 x 0.1
  EXPECT_EQ((per_class[{0, Split::train}]), 13);
  EXPECT_EQ((per_class[{1, Split::test}]), 2);  // round(1.75)
  EXPECT_EQ((per_class[{1, Split::validation}]), 1);
  EXPECT_EQ((per_class[{1, Split::train}]), 4);
  // Ordered by split, then class, then name.
  for (size_t i = 1; i < a.files.size(); ++i)
    EXPECT_LE(std::tie(a.files[i - 1].split, a.files[i - 1].label),
              std::tie(a.files[i].split, a.files[i].label));
  auto splits_of = [](const FolderListing& l, int label) {
    std::map<std::string, Split> m;
    for (const auto& f : l.files)
      if (f.label == label) m[f.relative] = f.split;
    return m;
  };
  EXPECT_EQ(splits_of(list_image_folder(dir.str(), rule), 0), splits_of(a, 0));  // same seed
  const SplitRule other{0.1, 0.25, 8};
  EXPECT_NE(splits_of(list_image_folder(dir.str(), other), 0), splits_of(a, 0));
  // Files of another class do not move this class's files.
  write_file(dir.path() / "dog" / "d99", "x");
  EXPECT_EQ(splits_of(list_image_folder(dir.str(), rule), 0), splits_of(a, 0));
}

TEST(ImageFolder, RecordsEmptyClassFolders) {
  gt::testing::TempDir dir("greentrain-folder");
  write_file(dir.path() / "train" / "full" / "1.jpg", "x");
  std::filesystem::create_directories(dir.path() / "train" / "empty");
  write_file(dir.path() / "train" / "hidden only" / ".keep", "");
  const FolderListing l = list_image_folder(dir.str(), {});
  EXPECT_THAT(l.classes, ElementsAre("empty", "full", "hidden only"));
  EXPECT_THAT(l.empty_class_folders, ElementsAre((dir.path() / "train" / "empty").string(),
                                                 (dir.path() / "train" / "hidden only").string()));
}

TEST(ImageFolder, RefusesMissingFoldersAndBadFractions) {
  gt::testing::TempDir dir("greentrain-folder");
  EXPECT_THAT(error_of([&] { list_image_folder(dir / "nope", {}); }), HasSubstr("no such folder"));
  EXPECT_THAT(error_of([&] { list_image_folder(dir.str(), {}); }), HasSubstr("no class folders"));
  write_file(dir.path() / "a" / "1.jpg", "x");
  EXPECT_THROW(list_image_folder(dir.str(), {0.95, 0.0, 1}), gt::UsageError);
  EXPECT_THROW(list_image_folder(dir.str(), {0.0, -0.1, 1}), gt::UsageError);
  EXPECT_THAT(error_of([&] {
                list_image_folder(dir.str(), {0.5, 0.5, 1});
              }),
              HasSubstr("at most 0.9"));
}

}  // namespace
}  // namespace gt::data
