// IDX decoding with validation (see idx.h). zlib's gz* functions read raw and gzip files alike.
#include "data/idx.h"

#include <fmt/core.h>
#include <zlib.h>

#include <filesystem>

#include "common/error.h"

namespace gt::data {

std::vector<uint8_t> read_maybe_gzip(const std::string& path, uint64_t max_bytes) {
  if (!std::filesystem::is_regular_file(path))
    throw gt::Error(fmt::format("{}: no such file", path));
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw gt::Error(fmt::format("{}: cannot open", path));
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    const int n = gzread(f, buf.data(), unsigned(buf.size()));
    if (n < 0) {
      int code = 0;
      std::string msg = gzerror(f, &code);
      gzclose(f);
      throw gt::Error(fmt::format("{}: corrupt gzip data ({})", path, msg));
    }
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
    if (out.size() >= max_bytes) {
      out.resize(max_bytes);
      gzclose(f);
      return out;
    }
  }
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
    throw gt::Error(fmt::format("{}: not an IDX file (bad magic {:02x}{:02x}{:02x}{:02x}, "
                                "expected 0000TTDD)", name, c[0], c[1], c[2], c[3]));
  if (c[2] != 0x08)
    throw gt::Error(fmt::format("{}: IDX data type 0x{:02x} is not supported (expected 0x08, "
                                "unsigned byte)", name, c[2]));
  const int ndims = c[3];
  if (ndims < 1 || ndims > 4)
    throw gt::Error(fmt::format("{}: IDX file with {} dimensions (expected 1 to 4)", name, ndims));
  const size_t header = 4 + 4 * size_t(ndims);
  if (c.size() < header)
    throw gt::Error(fmt::format("{}: truncated IDX header ({} bytes, expected {})", name,
                                c.size(), header));
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
        throw gt::Error(fmt::format("{}: IDX items of {} values each or more (dimensions 2 to {}); "
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

}  // namespace

IdxArray parse_idx(const std::vector<uint8_t>& c, const std::string& name) {
  const IdxHeader h = parse_idx_header(c, name);
  const size_t header = h.header_bytes;
  const uint64_t total = h.data_bytes;
  IdxArray a;
  a.dims = h.dims;
  const uint64_t have = c.size() - header;
  if (have < total)
    throw gt::Error(fmt::format("{}: truncated IDX data ({} bytes, dimensions say {})", name,
                                have, total));
  if (have > total)
    throw gt::Error(fmt::format("{}: {} unexpected bytes after the IDX data (dimensions say {})",
                                name, have - total, total));
  a.bytes.assign(c.begin() + header, c.end());
  return a;
}

IdxArray read_idx(const std::string& path) {
  // The header first (at most 20 bytes), so the data is read only up to the size it announces
  // (one byte more shows trailing garbage): a forged header or a gzip bomb allocates nothing.
  const IdxHeader h = parse_idx_header(read_maybe_gzip(path, 20), path);
  return parse_idx(read_maybe_gzip(path, h.header_bytes + h.data_bytes + 1), path);
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      int classes) {
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
