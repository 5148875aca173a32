// Decoding and resizing against independent references (make_image_reference.py, run once per
// test run by the data_image_reference fixture): PIL's decoding of JPEG (4:2:0, 4:4:4,
// progressive, grey; full size, grey through the decoder's luma, and DCT-scaled as
// Image.draft does it) and PNG (RGB, grey, 1-bit, palette, grey+alpha, RGBA, 16-bit) must
// match byte for byte; resizing must match numpy's area averages and PyTorch's bilinear
// interpolation within one level of rounding; and a whole folder of JPEGs and PNGs of
// several sizes must load at 20x20 RGB as PIL + that reference make it.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/locations.h"
#include "common/temp_dir.h"
#include "data/image_dataset.h"
#include "data/image_decode.h"
#include "data/resize.h"
#include "nlohmann/json.hpp"

namespace gt::data {
namespace {

namespace fs = std::filesystem;

fs::path reference_dir() { return gt::testing::build_dir() / "tests" / "data" / "image-reference"; }

nlohmann::json manifest() {
  const fs::path p = reference_dir() / "manifest.json";
  if (!fs::exists(p)) throw std::runtime_error(p.string() + " is missing: run ctest -R data_");
  return nlohmann::json::parse(gt::testing::read_file(p));
}

template <class T>
std::vector<T> read_raw(const std::string& relative) {
  const std::string bytes = gt::testing::read_file(reference_dir() / relative);
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

std::vector<uint8_t> decode(const std::string& relative, int channels, int min_w = 0, int min_h = 0,
                            int* w = nullptr, int* h = nullptr) {
  const auto file = read_raw<uint8_t>(relative);
  ImageDecoder decoder;
  DecodedImage image;
  decoder.decode(file.data(), file.size(), channels, min_w, min_h, relative, image);
  if (w) *w = image.width;
  if (h) *h = image.height;
  return image.pixels;
}

TEST(ImageReference, DecodesAsPil) {
  const auto m = manifest();
  ASSERT_GE(m["decode"].size(), 10u);
  for (const auto& e : m["decode"]) {
    const std::string file = e["file"];
    SCOPED_TRACE(file);
    const auto bytes = read_raw<uint8_t>(file);
    ImageDecoder decoder;
    const ImageHeader h = decoder.header(bytes.data(), bytes.size(), file);
    EXPECT_EQ(h.width, e["width"].get<int>());
    EXPECT_EQ(h.height, e["height"].get<int>());
    EXPECT_EQ(h.colour, e["colour"].get<bool>());
    EXPECT_EQ(decode(file, 3), read_raw<uint8_t>(e["rgb"])) << "RGB";
    EXPECT_EQ(decode(file, 1), read_raw<uint8_t>(e["grey"])) << "grey";
    if (e.contains("scaled")) {
      const auto& s = e["scaled"];
      int w = 0, hh = 0;
      const auto pixels = decode(file, 3, s["min_width"], s["min_height"], &w, &hh);
      EXPECT_EQ(w, s["width"].get<int>());
      EXPECT_EQ(hh, s["height"].get<int>());
      EXPECT_EQ(pixels, read_raw<uint8_t>(s["rgb"])) << "DCT-scaled";
    }
  }
  const auto& png16 = m["png16"];
  EXPECT_EQ(decode(png16["file"], 3), read_raw<uint8_t>(png16["rgb"])) << "16-bit PNG";
}

TEST(ImageReference, ResizesAsAreaAveragesAndBilinearInterpolation) {
  const auto m = manifest();
  std::vector<float> scratch;
  for (const auto& c : m["resize"]) {
    const int w = c["width"], h = c["height"], ch = c["channels"];
    const int ow = c["out_width"], oh = c["out_height"];
    SCOPED_TRACE(fmt::format("{}x{}x{} -> {}x{}", w, h, ch, ow, oh));
    const auto in = read_raw<uint8_t>(c["input"]);
    const auto ref = read_raw<double>(c["reference"]);
    ASSERT_EQ(ref.size(), size_t(ow) * size_t(oh) * size_t(ch));
    std::vector<uint8_t> out(ref.size());
    resize_image(in.data(), w, h, ch, out.data(), ow, oh, scratch);
    int worst = 0, off = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const int expect = int(std::floor(ref[i] + 0.5));
      worst = std::max(worst, std::abs(int(out[i]) - expect));
      // Only a reference within float rounding of a half may round the other way.
      if (out[i] != expect) {
        ++off;
        EXPECT_LT(std::fabs(ref[i] - std::floor(ref[i]) - 0.5), 1e-3) << "at " << i;
      }
    }
    EXPECT_LE(worst, 1);
    EXPECT_LE(off, int(out.size() / 10) + 1);  // halves are common in upscaling (weights k/10)
  }
}

TEST(ImageReference, LoadsAFolderAsPilAndTheReferenceResize) {
  const auto m = manifest()["tree"];
  gt::testing::TempDir cache("greentrain-cache");
  ImageOptions o;
  o.size = m["size"];
  o.color = ColorMode::rgb;
  o.cache_dir = cache.str();
  const ImageFolderData d =
      load_image_folder((reference_dir() / m["folder"].get<std::string>()).string(), 0.0, o);
  ASSERT_EQ(d.train.rows, m["train_rows"].get<int64_t>());
  const auto expected = read_raw<uint8_t>(m["train_rgb"]);
  ASSERT_EQ(d.train.u8.size(), expected.size());
  int worst = 0;
  for (size_t i = 0; i < expected.size(); ++i)
    worst = std::max(worst, std::abs(int(d.train.u8[i]) - int(expected[i])));
  EXPECT_LE(worst, 1);
  EXPECT_EQ(d.test.rows, 8);
}

}  // namespace
}  // namespace gt::data
