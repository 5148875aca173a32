// The image decoder's own rules (data/image_decode.h): the DCT scale it picks, one decoder
// reused after a failure, and the refusals (not an image, an empty file, a forged huge size).
#include "data/image_decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "data/image_encode.h"
#include "image_files.h"

namespace gt::data {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> jpeg(int w, int h, int channels, int seed = 1) {
  ImageEncoder e;
  const auto p = gt::testing::pattern(w, h, channels, seed);
  return e.encode(p.data(), w, h, channels, ImageFormat::jpeg, 90);
}

TEST(ImageDecode, ShrinksInTheDctNeverBelowTheSizeAsked) {
  const auto file = jpeg(64, 48, 3);
  ImageDecoder d;
  DecodedImage im;
  auto size_for = [&](int min_w, int min_h) {
    d.decode(file.data(), file.size(), 3, min_w, min_h, "x.jpg", im);
    EXPECT_EQ(im.pixels.size(), size_t(im.width) * size_t(im.height) * 3);
    return std::pair(im.width, im.height);
  };
  EXPECT_EQ(size_for(0, 0), std::pair(64, 48));
  EXPECT_EQ(size_for(64, 48), std::pair(64, 48));
  EXPECT_EQ(size_for(33, 10), std::pair(64, 48));  // 1/2 would be 32 wide
  EXPECT_EQ(size_for(32, 24), std::pair(32, 24));
  EXPECT_EQ(size_for(16, 12), std::pair(16, 12));
  EXPECT_EQ(size_for(8, 6), std::pair(8, 6));
  EXPECT_EQ(size_for(1, 1), std::pair(8, 6));  // 1/8 is the smallest
  EXPECT_EQ(size_for(100, 100), std::pair(64, 48));
}

TEST(ImageDecode, OneDecoderKeepsWorkingAfterAFailure) {
  const auto good = jpeg(20, 20, 3, 2);
  auto bad = jpeg(20, 20, 3, 3);
  bad.resize(bad.size() * 2 / 3);
  ImageDecoder d;
  DecodedImage first, again;
  d.decode(good.data(), good.size(), 3, 0, 0, "good.jpg", first);
  for (int i = 0; i < 3; ++i) {
    EXPECT_THROW(d.decode(bad.data(), bad.size(), 3, 0, 0, "bad.jpg", again), gt::Error);
    const ImageHeader h = d.header(good.data(), good.size(), "good.jpg");
    EXPECT_EQ(h.width, 20);
    d.decode(good.data(), good.size(), 3, 0, 0, "good.jpg", again);
    EXPECT_EQ(again.pixels, first.pixels);
  }
}

TEST(ImageDecode, RefusesWhatIsNotADecodableImage) {
  ImageDecoder d;
  auto error_of = [&](const std::vector<uint8_t>& bytes) {
    try {
      d.header(bytes.data(), bytes.size(), "f");
    } catch (const gt::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of({}), "f: empty file (not an image)");
  EXPECT_EQ(error_of({'G', 'I', 'F', '8', '9', 'a'}), "f: not a JPEG or PNG image");
  EXPECT_THAT(error_of({0xff, 0xd8, 0xff, 0xe0, 0, 0}), HasSubstr("f: corrupt JPEG"));
  // A PNG whose header claims 20000 x 20000 pixels: refused before anything is allocated.
  ImageEncoder e;
  const auto p = gt::testing::pattern(4, 4, 1, 1);
  auto png = e.encode(p.data(), 4, 4, 1, ImageFormat::png, 0);
  png[16] = 0, png[17] = 0, png[18] = 0x4e, png[19] = 0x20;  // IHDR width (CRC now wrong)
  EXPECT_THAT(error_of(png), HasSubstr("f: corrupt PNG"));
  EXPECT_THAT(codec_versions(), HasSubstr("libjpeg-turbo 2."));
}

}  // namespace
}  // namespace gt::data
