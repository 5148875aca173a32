// IDX reading: raw and gzip round trips, and each malformed file (bad magic, unsupported type,
// truncated header or data, trailing bytes, truncated gzip, image/label count mismatch, label
// out of range) rejected with a one-line error naming the file.
#include "data/idx.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/temp_dir.h"
#include "data/loader.h"

namespace gt::data {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::vector<uint8_t> idx_bytes(std::vector<uint32_t> dims, std::vector<uint8_t> data) {
  std::vector<uint8_t> b = {0, 0, 0x08, uint8_t(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(d >> s));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

class IdxTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes, bool gz = false) {
    const std::string p = (dir_ / name).string();
    if (gz) {
      gzFile f = gzopen(p.c_str(), "wb");
      gzwrite(f, bytes.data(), unsigned(bytes.size()));
      gzclose(f);
    } else {
      std::ofstream(p, std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    }
    return p;
  }
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
  gt::testing::TempDir scratch_{"greentrain-idx"};
  const fs::path& dir_ = scratch_.path();
};

TEST_F(IdxTest, ReadsRawAndGzip) {
  const auto bytes = idx_bytes({2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  for (bool gz : {false, true}) {
    const IdxArray a = read_idx(write(gz ? "a.gz" : "a", bytes, gz));
    EXPECT_EQ(a.dims, (std::vector<int64_t>{2, 2, 3}));
    EXPECT_EQ(a.bytes.size(), 12u);
    EXPECT_EQ(a.bytes[11], 12);
  }
}

// Large gzip files take the one-shot path, concatenated members (whose trailer only sizes the
// last one) the streaming one: both must give every byte back.
TEST_F(IdxTest, ReadsLargeAndMultiMemberGzip) {
  std::vector<uint8_t> data(3 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t((i * 2654435761u) >> 13);
  const auto bytes = idx_bytes({3, 1024, 1024}, data);
  EXPECT_EQ(read_maybe_gzip(write("big.gz", bytes, true)), bytes);
  const std::vector<uint8_t> head(bytes.begin(), bytes.begin() + 1000);
  const std::vector<uint8_t> tail(bytes.begin() + 1000, bytes.end());
  const std::string first = write("head.gz", head, true), second = write("tail.gz", tail, true);
  const std::string both = (dir_ / "both.gz").string();
  {
    std::ofstream out(both, std::ios::binary);
    out << std::ifstream(first, std::ios::binary).rdbuf()
        << std::ifstream(second, std::ios::binary).rdbuf();
  }
  const IdxArray a = read_idx(both);
  EXPECT_EQ(a.dims, (std::vector<int64_t>{3, 1024, 1024}));
  EXPECT_EQ(a.bytes, data);
}

TEST_F(IdxTest, LoadsAnImageLabelPair) {
  const auto img = write("img", idx_bytes({3, 1, 2}, {0, 255, 10, 20, 30, 40}));
  const auto lab = write("lab.gz", idx_bytes({3}, {2, 0, 9}), true);
  const Dataset d = load_idx_pair(img, lab);
  EXPECT_EQ(d.rows, 3);
  EXPECT_EQ(d.features, 2);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{2, 0, 9}));
  EXPECT_FLOAT_EQ(d.value(0, 1), 1.0f);
}

TEST_F(IdxTest, BadMagic) {
  auto b = idx_bytes({2}, {1, 2});
  b[0] = 0x1f;
  EXPECT_THAT(error_of([&] { read_idx(write("m", b)); }), HasSubstr("bad magic"));
}

TEST_F(IdxTest, UnsupportedType) {
  auto b = idx_bytes({2}, {1, 2});
  b[2] = 0x0D;
  EXPECT_THAT(error_of([&] { read_idx(write("t", b)); }), HasSubstr("not supported"));
}

TEST_F(IdxTest, TruncatedHeader) {
  auto b = idx_bytes({2, 3}, {});
  b.resize(7);
  const auto p = write("h", b);
  EXPECT_THAT(error_of([&] { read_idx(p); }), HasSubstr("truncated IDX header"));
}

TEST_F(IdxTest, TruncatedData) {
  auto b = idx_bytes({2, 3}, {1, 2, 3, 4, 5});
  const auto p = write("d", b);
  const auto msg = error_of([&] { read_idx(p); });
  EXPECT_THAT(msg, HasSubstr("truncated IDX data (5 bytes, dimensions say 6)"));
  EXPECT_THAT(msg, HasSubstr(p));
}

TEST_F(IdxTest, TrailingBytes) {
  EXPECT_THAT(error_of([&] {
                read_idx(write("x", idx_bytes({2}, {1, 2, 3})));
              }),
              HasSubstr("unexpected bytes"));
}

TEST_F(IdxTest, TruncatedGzipStream) {
  std::vector<uint8_t> data(5000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 7919 % 251);
  const auto full = write("full.gz", idx_bytes({5000}, data), true);
  std::ifstream in(full, std::ios::binary);
  std::vector<char> gz((std::istreambuf_iterator<char>(in)), {});
  gz.resize(gz.size() / 2);
  const std::string cut = (dir_ / "cut.gz").string();
  std::ofstream(cut, std::ios::binary).write(gz.data(), std::streamsize(gz.size()));
  EXPECT_THAT(error_of([&] { read_idx(cut); }), HasSubstr("cut.gz"));
}

TEST_F(IdxTest, ImageLabelCountMismatch) {
  const auto img = write("img", idx_bytes({3, 1, 2}, {0, 1, 2, 3, 4, 5}));
  const auto lab = write("lab", idx_bytes({2}, {1, 2}));
  EXPECT_THAT(error_of([&] { load_idx_pair(img, lab); }), HasSubstr("has 3 images but"));
}

TEST_F(IdxTest, LabelOutOfRange) {
  const auto img = write("img", idx_bytes({1, 1, 2}, {0, 1}));
  const auto lab = write("lab", idx_bytes({1}, {12}));
  EXPECT_THAT(error_of([&] { load_idx_pair(img, lab); }), HasSubstr("out of range"));
}

TEST_F(IdxTest, MissingFile) {
  EXPECT_THAT(error_of([&] { read_idx((dir_ / "nope").string()); }), HasSubstr("no such file"));
}

TEST_F(IdxTest, MnistDirectoryAndValidationSplit) {
  std::vector<uint8_t> px(10 * 4), lab(10);
  for (int i = 0; i < 10; ++i) lab[i] = uint8_t(i);
  write("train-images-idx3-ubyte.gz", idx_bytes({10, 2, 2}, px), true);
  write("train-labels-idx1-ubyte.gz", idx_bytes({10}, lab), true);
  write("t10k-images-idx3-ubyte", idx_bytes({2, 2, 2}, std::vector<uint8_t>(8)));
  write("t10k-labels-idx1-ubyte", idx_bytes({2}, {3, 4}));
  DataOptions o;
  o.spec = "mnist:" + dir_.string();
  o.validation = 0.2;
  const Splits s = load_data(o);
  EXPECT_EQ(s.train.rows, 8);
  EXPECT_EQ(s.validation.rows, 2);
  EXPECT_EQ(s.validation.labels, (std::vector<int32_t>{8, 9}));  // the last 20 %
  EXPECT_EQ(s.test.rows, 2);
  o.validation = 0.95;
  EXPECT_THROW(load_data(o), gt::UsageError);
  o.spec = "imagenet";
  o.validation = 0;
  EXPECT_THROW(load_data(o), gt::UsageError);
}

TEST(FashionMnist, ResolvesTheInstalledDataSet) {
  ASSERT_TRUE(fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
      << "Fashion-MNIST is missing: apt install dataset-fashion-mnist (scripts/install-deps)";
  DataOptions o;
  const Splits s = load_data(o);
  EXPECT_EQ(s.train.rows, 60000);
  EXPECT_EQ(s.test.rows, 10000);
  EXPECT_EQ(s.train.features, 784);
  EXPECT_EQ(s.class_names.size(), 10u);
}

TEST_F(IdxTest, ForgedHugeHeaderIsRefusedBeforeAnyAllocation) {
  // 1 x 65536 x 32768: 2^31 values per image (once 6.5 GB allocated before failing).
  const auto msg = error_of([&] {
    read_idx(write("huge", idx_bytes({1, 65536, 32768}, {1, 2, 3})));
  });
  EXPECT_THAT(msg, HasSubstr("IDX items of 2147483648 values each"));
  EXPECT_THAT(error_of([&] {
                parse_idx(idx_bytes({1, 65536, 32768}, {}), "mem");
              }),
              HasSubstr("at most 16777216 values"));
}

TEST_F(IdxTest, GzipBombIsReadOnlyUpToTheAnnouncedSize) {
  // A header announcing 2 x 2 bytes followed by 64 MiB of zeros (a few KiB compressed).
  std::vector<uint8_t> bomb = idx_bytes({2, 2}, {});
  bomb.resize(bomb.size() + (64u << 20), 0);
  const auto p = write("bomb.gz", bomb, true);
  EXPECT_LT(fs::file_size(p), 1u << 20);
  EXPECT_THAT(error_of([&] { read_idx(p); }), HasSubstr("unexpected bytes after the IDX data"));
}

}  // namespace
}  // namespace gt::data
