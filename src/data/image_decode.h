// Decoding one JPEG or PNG file held in memory to 8-bit RGB or grey pixels (row-major, channel
// fastest). JPEG goes through libjpeg-turbo's TurboJPEG 2.1 API (accurate integer IDCT, fancy
// upsampling: the same pixels as libjpeg's defaults); when the caller only needs a smaller
// image, the decoder shrinks by 1/2, 1/4 or 1/8 inside the IDCT (DCT-domain scaling), never
// below the size asked for. PNG goes through libspng (every colour type and bit depth to 8-bit
// RGB, alpha dropped, CRCs and the zlib checksum verified). The format comes from the file's
// first bytes, not its name. Grey from colour is the ITU-R 601 luma: for JPEG the decoder's own
// Y channel, for PNG (19595 R + 38470 G + 7471 B + 2^15) >> 16 as PIL computes it.
// Every failure — not an image, a corrupt or truncated stream (a libjpeg warning counts), an
// image too large — is a gt::Error "NAME: what is wrong", NAME being the caller's file name.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gt::data {

enum class ImageFormat { jpeg, png };

// The largest image decoded: each side and the pixel count (a forged header allocates nothing).
inline constexpr int kMaxImageSide = 16384;
inline constexpr int64_t kMaxImagePixels = int64_t(1) << 26;

struct ImageHeader {
  ImageFormat format = ImageFormat::jpeg;
  int width = 0, height = 0;
  bool colour = false;  // RGB, palette or YCbCr content (grey images are false)
};

struct DecodedImage {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // height x width x channels
};

// The decoder of one thread: holds a TurboJPEG handle, reused for every image. Not thread-safe;
// give each thread its own.
class ImageDecoder {
 public:
  ImageDecoder();
  ~ImageDecoder();
  ImageDecoder(const ImageDecoder&) = delete;
  ImageDecoder& operator=(const ImageDecoder&) = delete;

  // The format, size and colour of an image, from its header.
  ImageHeader header(const uint8_t* data, size_t size, const std::string& name);
  // Decodes to `channels` (1: grey, 3: RGB). A JPEG may come out smaller than its full size, by
  // a factor 2, 4 or 8, but never smaller than min_width x min_height (0: full size).
  void decode(const uint8_t* data, size_t size, int channels, int min_width, int min_height,
              const std::string& name, DecodedImage& out);

 private:
  [[noreturn]] void jpeg_failed(const std::string& name);  // throws "NAME: corrupt JPEG (...)"
  void* jpeg_ = nullptr;                                   // tjhandle
};

// The versions of the codecs, for the cache key and the records ("libjpeg-turbo 2.1.5, ...").
std::string codec_versions();

}  // namespace gt::data
