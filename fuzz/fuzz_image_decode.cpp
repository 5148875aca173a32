// Fuzz target: JPEG and PNG decoding (the files of an image folder) from arbitrary bytes, to RGB
// and grey, at full size and DCT-scaled. A malformed image must be a gt::Error, never a crash,
// an overflow, a hang or a huge allocation; a decoded image must have the size it says.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "data/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static gt::data::ImageDecoder decoder;  // reused, as a decoding thread reuses its own
  gt::data::DecodedImage image;
  for (const int channels : {3, 1}) {
    try {
      decoder.header(data, size, "fuzz");
      decoder.decode(data, size, channels, channels == 3 ? 0 : 8, channels == 3 ? 0 : 8, "fuzz",
                     image);
      if (image.pixels.size() != size_t(image.width) * size_t(image.height) * size_t(channels))
        __builtin_trap();
    } catch (const gt::Error&) {
    }
  }
  return 0;
}
