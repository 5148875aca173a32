// Test support for the image tests: deterministic pixel patterns and writing them as JPEG or
// PNG files (through greentrain's encoder, data/image_encode.h), and small corruptions of such
// files (truncation, a broken PNG CRC).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image_decode.h"

namespace gt::testing {

// A smooth, seed-dependent height x width x channels image (JPEG-friendly).
std::vector<uint8_t> pattern(int width, int height, int channels, int seed);

// Writes pattern(width, height, channels, seed) as `format` at `path` (parents created).
void write_image(const std::string& path, int width, int height, int channels, int seed,
                 gt::data::ImageFormat format = gt::data::ImageFormat::jpeg);

// Keeps the first `keep` bytes of the file.
void truncate_file(const std::string& path, size_t keep);

// Flips a byte of the CRC of the PNG file's first IDAT chunk.
void break_png_crc(const std::string& path);

// Every file name directly in `dir` (sorted).
std::vector<std::string> file_names(const std::string& dir);

}  // namespace gt::testing
