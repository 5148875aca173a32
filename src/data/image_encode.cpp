// JPEG (TurboJPEG) and PNG (libspng) encoding (see image_encode.h).
#include "data/image_encode.h"

#include <fmt/core.h>
#include <spng.h>
#include <turbojpeg.h>

#include <cstdlib>
#include <memory>

#include "common/error.h"

namespace gt::data {
namespace {

std::vector<uint8_t> encode_png(const uint8_t* pixels, int width, int height, int channels) {
  std::unique_ptr<spng_ctx, decltype(&spng_ctx_free)> ctx(spng_ctx_new(SPNG_CTX_ENCODER),
                                                          spng_ctx_free);
  if (!ctx) throw std::bad_alloc();
  spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = uint32_t(width);
  ihdr.height = uint32_t(height);
  ihdr.bit_depth = 8;
  ihdr.color_type = channels == 3 ? SPNG_COLOR_TYPE_TRUECOLOR : SPNG_COLOR_TYPE_GRAYSCALE;
  int rc = spng_set_ihdr(ctx.get(), &ihdr);
  const size_t bytes = size_t(width) * size_t(height) * size_t(channels);
  if (rc == 0) rc = spng_encode_image(ctx.get(), pixels, bytes, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  size_t size = 0;
  int error = 0;
  void* png = rc == 0 ? spng_get_png_buffer(ctx.get(), &size, &error) : nullptr;
  if (!png)
    throw gt::Error(fmt::format("cannot encode a PNG image: {}", spng_strerror(rc ? rc : error)));
  std::vector<uint8_t> out(static_cast<uint8_t*>(png), static_cast<uint8_t*>(png) + size);
  std::free(png);
  return out;
}

}  // namespace

ImageEncoder::ImageEncoder() : jpeg_(tjInitCompress()) {
  if (!jpeg_) throw gt::Error("cannot start the JPEG encoder (TurboJPEG)");
}

ImageEncoder::~ImageEncoder() { tjDestroy(jpeg_); }

std::vector<uint8_t> ImageEncoder::encode(const uint8_t* pixels, int width, int height,
                                          int channels, ImageFormat format, int quality) {
  if (channels != 1 && channels != 3)
    throw gt::Error(fmt::format("internal: cannot encode {} channels", channels));
  if (format == ImageFormat::png) return encode_png(pixels, width, height, channels);
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  if (tjCompress2(jpeg_, pixels, width, 0, height, channels == 3 ? TJPF_RGB : TJPF_GRAY, &jpeg,
                  &size, channels == 3 ? TJSAMP_420 : TJSAMP_GRAY, quality,
                  TJFLAG_ACCURATEDCT) != 0) {
    tjFree(jpeg);
    throw gt::Error(fmt::format("cannot encode a JPEG image: {}", tjGetErrorStr2(jpeg_)));
  }
  std::vector<uint8_t> out(jpeg, jpeg + size);
  tjFree(jpeg);
  return out;
}

}  // namespace gt::data
