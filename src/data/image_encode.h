// Encoding 8-bit grey or RGB pixels (row-major, channel fastest) as a JPEG file (TurboJPEG 2.1's
// compressor: 4:2:0 chroma for RGB, one component for grey) or a PNG file (libspng: 8-bit grey or
// truecolour). Used by `greentrain data images` to make image folders from IDX data, so tests,
// the demo and the benchmarks have real JPEG/PNG trees without a download.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image_decode.h"

namespace gt::data {

// One thread's encoder (it holds a TurboJPEG compressor); give each thread its own.
class ImageEncoder {
 public:
  ImageEncoder();
  ~ImageEncoder();
  ImageEncoder(const ImageEncoder&) = delete;
  ImageEncoder& operator=(const ImageEncoder&) = delete;

  // The file's bytes; `quality` (1..100) is for JPEG only. gt::Error when the codec refuses.
  std::vector<uint8_t> encode(const uint8_t* pixels, int width, int height, int channels,
                              ImageFormat format, int quality);

 private:
  void* jpeg_ = nullptr;  // tjhandle
};

}  // namespace gt::data
