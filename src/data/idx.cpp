// IDX decoding with validation (see idx.h). zlib's gz* functions read raw and gzip files alike;
// the output is allocated once from the gzip trailer's size and decoded without further copies.
// Where the build has libdeflate, a single-member gzip file is decompressed in one call (2-3x
// faster); zlib remains the path for everything else and for every error message.
#include "data/idx.h"

#include <fmt/core.h>
#include <zlib.h>
#if GREENTRAIN_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/error.h"

namespace gt::data {

namespace {

// The uncompressed size a gzip file announces in its trailer (ISIZE, mod 2^32; of the last member
// only), or 0 when the file is not gzip. A hint to allocate the output once, never trusted.
uint64_t gzip_size_hint(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return 0;
  unsigned char magic[2] = {0, 0}, tail[4] = {0, 0, 0, 0};
  uint64_t hint = 0;
  if (std::fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b &&
      std::fseek(f, -4, SEEK_END) == 0 && std::fread(tail, 1, 4, f) == 4)
    hint = uint64_t(tail[0]) | (uint64_t(tail[1]) << 8) | (uint64_t(tail[2]) << 16) |
           (uint64_t(tail[3]) << 24);
  std::fclose(f);
  return hint;
}

#if GREENTRAIN_HAVE_LIBDEFLATE
// One-shot decompression of a single-member gzip file whose trailer gives its size: the fast path.
// Anything else (several members, a wrong size, damage) returns false and zlib decides.
bool libdeflate_read(const std::string& path, uint64_t size_hint, std::vector<uint8_t>& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::vector<uint8_t> in;
  if (std::fseek(f, 0, SEEK_END) == 0) {
    const long n = std::ftell(f);
    if (n > 0 && std::fseek(f, 0, SEEK_SET) == 0) {
      in.resize(size_t(n));
      if (std::fread(in.data(), 1, in.size(), f) != in.size()) in.clear();
    }
  }
  std::fclose(f);
  if (in.empty()) return false;
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  if (!d) return false;
  out.resize(size_t(size_hint));
  size_t in_used = 0, out_size = 0;
  const libdeflate_result r = libdeflate_gzip_decompress_ex(d, in.data(), in.size(), out.data(),
                                                            out.size(), &in_used, &out_size);
  libdeflate_free_decompressor(d);
  if (r != LIBDEFLATE_SUCCESS || in_used != in.size() || out_size != size_hint) {
    out.clear();
    return false;
  }
  return true;
}
#endif

}  // namespace

std::vector<uint8_t> read_maybe_gzip(const std::string& path, uint64_t max_bytes) {
  if (!std::filesystem::is_regular_file(path))
    throw gt::Error(fmt::format("{}: no such file", path));
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  const uint64_t hint = gzip_size_hint(path);
#if GREENTRAIN_HAVE_LIBDEFLATE
  if (hint > 0 && hint <= max_bytes) {
    std::vector<uint8_t> fast;
    if (libdeflate_read(path, hint, fast)) return fast;
  }
#endif
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw gt::Error(fmt::format("{}: cannot open", path));
  if (max_bytes > (uint64_t(1) << 20)) gzbuffer(f, 1 << 18);
  // Decompress straight into the output: sized from the trailer (or the raw file size) and the
  // cap, grown when that was short, trimmed at the end.
  const uint64_t expect = std::max<uint64_t>({hint, ec ? 0 : file_size, uint64_t(1) << 16}) + 1;
  std::vector<uint8_t> out(size_t(std::min(expect, max_bytes)));
  size_t have = 0;
  for (;;) {
    if (have == out.size()) {
      if (have >= max_bytes) {
        gzclose(f);
        return out;
      }
      out.resize(size_t(std::min<uint64_t>(uint64_t(out.size()) * 2, max_bytes)));
    }
    const size_t want = std::min<size_t>(out.size() - have, size_t(1) << 30);
    const int n = gzread(f, out.data() + have, unsigned(want));
    if (n < 0) {
      int code = 0;
      std::string msg = gzerror(f, &code);
      gzclose(f);
      throw gt::Error(fmt::format("{}: corrupt gzip data ({})", path, msg));
    }
    if (n == 0) break;
    have += size_t(n);
  }
  out.resize(have);
  // gzread returns what it could of a truncated gzip stream; gzclose/gzerror tell.
  int code = 0;
  const char* msg = gzerror(f, &code);
  const std::string err = (code != Z_OK && code != Z_BUF_ERROR) ? msg : "";
  const int rc = gzclose(f);
  if (!err.empty() || rc == Z_BUF_ERROR)
    throw gt::Error(fmt::format("{}: truncated or corrupt gzip data{}", path,
                                err.empty() ? "" : " (" + err + ")"));
  return out;
}

static uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

namespace {

struct IdxHeader {
  std::vector<int64_t> dims;
  size_t header_bytes = 0;
  uint64_t data_bytes = 0;
};

// Validates the magic and the dimensions from the first bytes of a file.
IdxHeader parse_idx_header(const std::vector<uint8_t>& c, const std::string& name) {
  if (c.size() < 4)
    throw gt::Error(fmt::format("{}: not an IDX file (only {} bytes, expected a 4-byte magic)",
                                name, c.size()));
  if (c[0] != 0 || c[1] != 0)
    throw gt::Error(
        fmt::format("{}: not an IDX file (bad magic {:02x}{:02x}{:02x}{:02x}, "
                    "expected 0000TTDD)",
                    name, c[0], c[1], c[2], c[3]));
  if (c[2] != 0x08)
    throw gt::Error(
        fmt::format("{}: IDX data type 0x{:02x} is not supported (expected 0x08, "
                    "unsigned byte)",
                    name, c[2]));
  const int ndims = c[3];
  if (ndims < 1 || ndims > 4)
    throw gt::Error(fmt::format("{}: IDX file with {} dimensions (expected 1 to 4)", name, ndims));
  const size_t header = 4 + 4 * size_t(ndims);
  if (c.size() < header)
    throw gt::Error(
        fmt::format("{}: truncated IDX header ({} bytes, expected {})", name, c.size(), header));
  IdxHeader h;
  h.header_bytes = header;
  uint64_t item = 1;
  for (int d = 0; d < ndims; ++d) {
    const uint32_t n = be32(&c[4 + 4 * d]);
    if (n == 0) throw gt::Error(fmt::format("{}: IDX dimension {} has size 0", name, d));
    h.dims.push_back(n);
    if (d > 0) {
      item *= n;
      if (item > kMaxIdxItemValues)
        throw gt::Error(
            fmt::format("{}: IDX items of {} values each or more (dimensions 2 to {}); "
                        "greentrain trains on items of at most {} values",
                        name, item, d + 1, kMaxIdxItemValues));
    }
  }
  h.data_bytes = uint64_t(h.dims[0]) * item;  // at most 2^32 * 2^24, no overflow
  if (h.data_bytes > kMaxIdxBytes)
    throw gt::Error(fmt::format("{}: IDX header describes {} bytes of data; the limit is {}", name,
                                h.data_bytes, kMaxIdxBytes));
  return h;
}

// The header of content `c`, checked against the content's length.
IdxHeader checked_header(const std::vector<uint8_t>& c, const std::string& name) {
  IdxHeader h = parse_idx_header(c, name);
  const uint64_t total = h.data_bytes;
  const uint64_t have = c.size() - h.header_bytes;
  if (have < total)
    throw gt::Error(
        fmt::format("{}: truncated IDX data ({} bytes, dimensions say {})", name, have, total));
  if (have > total)
    throw gt::Error(fmt::format("{}: {} unexpected bytes after the IDX data (dimensions say {})",
                                name, have - total, total));
  return h;
}

}  // namespace

IdxArray parse_idx(const std::vector<uint8_t>& c, const std::string& name) {
  const IdxHeader h = checked_header(c, name);
  IdxArray a;
  a.dims = h.dims;
  a.bytes.assign(c.begin() + std::ptrdiff_t(h.header_bytes), c.end());
  return a;
}

// The same, reusing the content's memory for the data (no second copy of a large file).
static IdxArray parse_idx_in_place(std::vector<uint8_t>&& c, const std::string& name) {
  const IdxHeader h = checked_header(c, name);
  IdxArray a;
  a.dims = h.dims;
  c.erase(c.begin(), c.begin() + std::ptrdiff_t(h.header_bytes));
  a.bytes = std::move(c);
  return a;
}

IdxArray read_idx(const std::string& path) {
  // The header first (at most 20 bytes), so the data is read only up to the size it announces
  // (one byte more shows trailing garbage): a forged header or a gzip bomb allocates nothing.
  const IdxHeader h = parse_idx_header(read_maybe_gzip(path, 20), path);
  return parse_idx_in_place(read_maybe_gzip(path, h.header_bytes + h.data_bytes + 1), path);
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path, int classes) {
  IdxArray images = read_idx(images_path);
  IdxArray labels = read_idx(labels_path);
  if (images.dims.size() < 2)
    throw gt::Error(fmt::format("{}: images file has {} dimension(s) (expected [n][rows][cols])",
                                images_path, images.dims.size()));
  if (labels.dims.size() != 1)
    throw gt::Error(fmt::format("{}: labels file has {} dimensions (expected 1)", labels_path,
                                labels.dims.size()));
  if (images.dims[0] != labels.dims[0])
    throw gt::Error(fmt::format("{} has {} images but {} has {} labels", images_path,
                                images.dims[0], labels_path, labels.dims[0]));
  Dataset d;
  d.rows = images.dims[0];
  int64_t features = 1;
  for (size_t i = 1; i < images.dims.size(); ++i) features *= images.dims[i];
  d.features = int(features);
  if (images.dims.size() == 3 || images.dims.size() == 4) {  // [n][h][w] or [n][h][w][c]
    d.height = int(images.dims[1]);
    d.width = int(images.dims[2]);
    d.channels = images.dims.size() == 4 ? int(images.dims[3]) : 1;
  }
  d.classes = classes;
  d.u8 = std::move(images.bytes);
  d.labels.resize(d.rows);
  for (int64_t i = 0; i < d.rows; ++i) {
    const int v = labels.bytes[i];
    if (v >= classes)
      throw gt::Error(fmt::format("{}: label {} of item {} is out of range (expected 0..{})",
                                  labels_path, v, i, classes - 1));
    d.labels[i] = v;
  }
  return d;
}

}  // namespace gt::data
