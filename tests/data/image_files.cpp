// Image files for the tests (see image_files.h).
#include "image_files.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "common/temp_dir.h"
#include "data/image_encode.h"

namespace gt::testing {

namespace fs = std::filesystem;

std::vector<uint8_t> pattern(int width, int height, int channels, int seed) {
  std::vector<uint8_t> p(size_t(width) * size_t(height) * size_t(channels));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c) {
        const double v =
            128 + 90 * std::sin(0.21 * x + 0.7 * seed + c) * std::cos(0.17 * y + 0.3 * seed - c);
        p[(size_t(y) * size_t(width) + size_t(x)) * size_t(channels) + size_t(c)] =
            uint8_t(std::clamp(v, 0.0, 255.0));
      }
  return p;
}

void write_image(const std::string& path, int width, int height, int channels, int seed,
                 gt::data::ImageFormat format) {
  gt::data::ImageEncoder encoder;
  const auto pixels = pattern(width, height, channels, seed);
  const auto bytes = encoder.encode(pixels.data(), width, height, channels, format, 92);
  fs::create_directories(fs::path(path).parent_path());
  write_file(path, std::string(bytes.begin(), bytes.end()));
}

void truncate_file(const std::string& path, size_t keep) {
  const std::string bytes = read_file(path);
  write_file(path, bytes.substr(0, std::min(keep, bytes.size())));
}

void break_png_crc(const std::string& path) {
  std::string bytes = read_file(path);
  const size_t idat = bytes.find("IDAT");
  if (idat == std::string::npos || idat < 4) throw std::runtime_error(path + ": no IDAT chunk");
  const auto len = (uint32_t(uint8_t(bytes[idat - 4])) << 24) |
                   (uint32_t(uint8_t(bytes[idat - 3])) << 16) |
                   (uint32_t(uint8_t(bytes[idat - 2])) << 8) | uint32_t(uint8_t(bytes[idat - 1]));
  bytes[idat + 4 + len] = char(bytes[idat + 4 + len] ^ 0x5a);  // first byte of the CRC
  write_file(path, bytes);
}

std::vector<std::string> file_names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace gt::testing
