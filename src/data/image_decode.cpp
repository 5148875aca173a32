// JPEG (TurboJPEG 2.1) and PNG (libspng) decoding with one-line errors (see image_decode.h).
#include "data/image_decode.h"

#include <fmt/core.h>
#include <spng.h>
#include <turbojpeg.h>

#include <cstring>
#include <memory>

#include "common/error.h"

namespace gt::data {
namespace {

constexpr uint8_t kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

ImageFormat sniff(const uint8_t* data, size_t size, const std::string& name) {
  if (size == 0) throw gt::Error(fmt::format("{}: empty file (not an image)", name));
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return ImageFormat::jpeg;
  if (size >= 8 && std::memcmp(data, kPngMagic, 8) == 0) return ImageFormat::png;
  throw gt::Error(fmt::format("{}: not a JPEG or PNG image", name));
}

void check_dimensions(int width, int height, const char* format, const std::string& name) {
  if (width <= 0 || height <= 0)
    throw gt::Error(
        fmt::format("{}: corrupt {} (its header gives {}x{} pixels)", name, format, width, height));
  if (width > kMaxImageSide || height > kMaxImageSide || int64_t(width) * height > kMaxImagePixels)
    throw gt::Error(
        fmt::format("{}: image of {}x{} pixels is larger than greentrain decodes "
                    "(at most {} per side and {} pixels)",
                    name, width, height, kMaxImageSide, kMaxImagePixels));
}

// --- PNG ---

struct SpngCtx {
  spng_ctx* ctx;
  explicit SpngCtx(const uint8_t* data, size_t size) : ctx(spng_ctx_new(0)) {
    if (!ctx) throw std::bad_alloc();
    spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_DISCARD);
    spng_set_image_limits(ctx, kMaxImageSide, kMaxImageSide);
    spng_set_chunk_limits(ctx, size_t(1) << 26, size_t(1) << 26);
    spng_set_png_buffer(ctx, data, size);
  }
  ~SpngCtx() { spng_ctx_free(ctx); }
  SpngCtx(const SpngCtx&) = delete;
  SpngCtx& operator=(const SpngCtx&) = delete;
};

std::string png_error(int rc) {
  const char* why = spng_strerror(rc);
  return why ? why : fmt::format("libspng error {}", rc);
}

spng_ihdr png_ihdr(SpngCtx& png, const std::string& name) {
  spng_ihdr ihdr{};
  if (const int rc = spng_get_ihdr(png.ctx, &ihdr); rc != 0)
    throw gt::Error(fmt::format("{}: corrupt PNG ({})", name, png_error(rc)));
  check_dimensions(int(ihdr.width), int(ihdr.height), "PNG", name);
  return ihdr;
}

bool png_colour(const spng_ihdr& ihdr) {
  return ihdr.color_type != SPNG_COLOR_TYPE_GRAYSCALE &&
         ihdr.color_type != SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
}

void decode_png(const uint8_t* data, size_t size, int channels, const std::string& name,
                DecodedImage& out) {
  SpngCtx png(data, size);
  const spng_ihdr ihdr = png_ihdr(png, name);
  size_t bytes = 0;
  if (const int rc = spng_decoded_image_size(png.ctx, SPNG_FMT_RGB8, &bytes); rc != 0)
    throw gt::Error(fmt::format("{}: corrupt PNG ({})", name, png_error(rc)));
  std::vector<uint8_t> rgb(bytes);
  int rc = spng_decode_image(png.ctx, rgb.data(), rgb.size(), SPNG_FMT_RGB8, 0);
  // The image can be complete before the last IDAT chunk's CRC is read: reading the chunks up
  // to IEND checks every remaining CRC (and that the file is not cut short).
  if (rc == 0) rc = spng_decode_chunks(png.ctx);
  if (rc != 0) throw gt::Error(fmt::format("{}: corrupt PNG ({})", name, png_error(rc)));
  out.width = int(ihdr.width);
  out.height = int(ihdr.height);
  out.channels = channels;
  const size_t pixels = size_t(out.width) * size_t(out.height);
  if (channels == 3) {
    out.pixels = std::move(rgb);
    return;
  }
  out.pixels.resize(pixels);
  const bool colour = png_colour(ihdr);
  for (size_t i = 0; i < pixels; ++i) {
    const uint8_t* p = &rgb[3 * i];
    out.pixels[i] = colour ? uint8_t((uint32_t(p[0]) * 19595 + uint32_t(p[1]) * 38470 +
                                      uint32_t(p[2]) * 7471 + 0x8000) >>
                                     16)
                           : p[0];
  }
}

// --- JPEG ---

std::string jpeg_error(void* handle) {
  const char* why = tjGetErrorStr2(handle);
  return why && *why ? why : "unknown error";
}

// The scaled size TurboJPEG produces for a factor num/denom (its TJSCALED macro).
int scaled(int dimension, const tjscalingfactor& f) {
  return (dimension * f.num + f.denom - 1) / f.denom;
}

// The smallest of the factors 1/2, 1/4, 1/8 that keeps width x height at least
// min_width x min_height, or 1/1 (always when either minimum is 0).
tjscalingfactor jpeg_scale(int width, int height, int min_width, int min_height) {
  tjscalingfactor best{1, 1};
  if (min_width <= 0 || min_height <= 0) return best;
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  for (int i = 0; factors && i < count; ++i) {
    const tjscalingfactor f = factors[i];
    if (f.num != 1 || (f.denom != 2 && f.denom != 4 && f.denom != 8)) continue;
    if (f.denom > best.denom && scaled(width, f) >= min_width && scaled(height, f) >= min_height)
      best = f;
  }
  return best;
}

}  // namespace

ImageDecoder::ImageDecoder() : jpeg_(tjInitDecompress()) {
  if (!jpeg_) throw gt::Error("cannot start the JPEG decoder (TurboJPEG)");
}

ImageDecoder::~ImageDecoder() { tjDestroy(jpeg_); }

void ImageDecoder::jpeg_failed(const std::string& name) {
  const std::string why = jpeg_error(jpeg_);
  // A handle that failed mid-stream can misread the next header (libjpeg-turbo 2.1 reported
  // 0x0 images after a truncated one): start a fresh one.
  tjDestroy(jpeg_);
  jpeg_ = tjInitDecompress();
  if (!jpeg_) throw gt::Error("cannot start the JPEG decoder (TurboJPEG)");
  throw gt::Error(fmt::format("{}: corrupt JPEG ({})", name, why));
}

ImageHeader ImageDecoder::header(const uint8_t* data, size_t size, const std::string& name) {
  ImageHeader h;
  h.format = sniff(data, size, name);
  if (h.format == ImageFormat::png) {
    SpngCtx png(data, size);
    const spng_ihdr ihdr = png_ihdr(png, name);
    h.width = int(ihdr.width);
    h.height = int(ihdr.height);
    h.colour = png_colour(ihdr);
    return h;
  }
  int subsampling = 0, colourspace = 0;
  if (tjDecompressHeader3(jpeg_, data, static_cast<unsigned long>(size), &h.width, &h.height,
                          &subsampling, &colourspace) != 0)
    jpeg_failed(name);
  check_dimensions(h.width, h.height, "JPEG", name);
  if (colourspace == TJCS_CMYK || colourspace == TJCS_YCCK)
    throw gt::Error(
        fmt::format("{}: CMYK JPEG images are not supported (convert it to RGB)", name));
  h.colour = colourspace != TJCS_GRAY;
  return h;
}

void ImageDecoder::decode(const uint8_t* data, size_t size, int channels, int min_width,
                          int min_height, const std::string& name, DecodedImage& out) {
  if (channels != 1 && channels != 3)
    throw gt::Error(fmt::format("internal: {} channels requested", channels));
  const ImageHeader h = header(data, size, name);
  if (h.format == ImageFormat::png) {
    decode_png(data, size, channels, name, out);
    return;
  }
  const tjscalingfactor f = jpeg_scale(h.width, h.height, min_width, min_height);
  out.width = scaled(h.width, f);
  out.height = scaled(h.height, f);
  out.channels = channels;
  out.pixels.resize(size_t(out.width) * size_t(out.height) * size_t(channels));
  const int flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
  if (tjDecompress2(jpeg_, data, static_cast<unsigned long>(size), out.pixels.data(), out.width, 0,
                    out.height, channels == 3 ? TJPF_RGB : TJPF_GRAY, flags) != 0)
    jpeg_failed(name);
}

std::string codec_versions() {
  return fmt::format("libjpeg-turbo {}, libspng {}", GREENTRAIN_TURBOJPEG_VERSION,
                     spng_version_string());
}

}  // namespace gt::data
