// data::Bytes: copies and slices share storage, writes are copy-on-write (never visible through
// another copy, never into a mapped file), a Dataset's copies and slices share their bytes, and
// a mapped file's bytes stay valid after the mapping's last other owner is gone.
#include "data/bytes.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "common/temp_dir.h"
#include "data/dataset.h"
#include "data/mapped_file.h"

namespace gt::data {
namespace {

TEST(Bytes, CopiesAndSlicesShareStorage) {
  const Bytes a(std::vector<uint8_t>{1, 2, 3, 4, 5});
  const Bytes b = a;
  EXPECT_EQ(a.data(), b.data());
  EXPECT_TRUE(a.shares_storage_with(b));
  const Bytes s = a.slice(1, 3);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.data(), a.data() + 1);
  EXPECT_EQ(s[0], 2);
  EXPECT_EQ(s[2], 4);
  EXPECT_THROW(a.slice(3, 3), gt::Error);
}

TEST(Bytes, WritesAreCopyOnWrite) {
  Bytes a(std::vector<uint8_t>{1, 2, 3});
  const uint8_t* before = a.data();
  a[0] = 9;  // alone with its vector: written in place
  EXPECT_EQ(a.data(), before);
  Bytes b = a;
  b[1] = 7;  // shared: b gets its own copy first
  EXPECT_EQ(a[1], 2);
  EXPECT_EQ(b[1], 7);
  EXPECT_EQ(b[0], 9);
  EXPECT_FALSE(a.shares_storage_with(b));
  Bytes s = a.slice(1, 2);
  s.push_back(4);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], 2);
  EXPECT_EQ(s[2], 4);
  EXPECT_EQ(a.size(), 3u);
  s.resize(1);
  EXPECT_EQ(s.size(), 1u);
  s.clear();
  EXPECT_TRUE(s.empty());
  const std::vector<uint8_t> v = {5, 6};
  s.assign(v.begin(), v.end());
  EXPECT_EQ(std::vector<uint8_t>(s.begin(), s.end()), v);
}

TEST(Bytes, DatasetCopiesAndSlicesShareBytes) {
  Dataset d;
  d.rows = 4;
  d.features = 2;
  d.u8 = std::vector<uint8_t>{0, 1, 2, 3, 4, 5, 6, 7};
  d.labels = {0, 1, 0, 1};
  const Dataset copy = d;
  EXPECT_EQ(copy.u8.data(), d.u8.data());
  const Dataset tail = d.slice(2, 2);
  EXPECT_EQ(tail.u8.data(), d.u8.data() + 4);
  EXPECT_EQ(tail.labels, (std::vector<int32_t>{0, 1}));
  EXPECT_FLOAT_EQ(tail.value(1, 1), 7.0f / 255.0f);
}

TEST(Bytes, MappedFileViewIsCopiedOnWriteAndOutlivesItsOtherOwners) {
  gt::testing::TempDir dir("greentrain-bytes");
  const std::string path = dir / "f.bin";
  std::ofstream(path, std::ios::binary) << "abcdef";
  Bytes view;
  {
    const auto file = MappedFile::open(path);
    view = mapped_bytes(file, 2, 3);
    EXPECT_THROW(mapped_bytes(file, 4, 3), gt::Error);
  }
  EXPECT_EQ(std::string(view.begin(), view.end()), "cde");
  Bytes written = view;
  written[0] = 'X';
  EXPECT_EQ(std::string(view.begin(), view.end()), "cde");
  EXPECT_EQ(gt::testing::read_file(path), "abcdef");  // the file is never written
  EXPECT_THROW(MappedFile::open(dir / "missing"), gt::Error);
}

}  // namespace
}  // namespace gt::data
