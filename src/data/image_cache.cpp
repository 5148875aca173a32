// The decoded-image cache file: atomic writing and validated reading (see image_cache.h).
#include "data/image_cache.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>

#include "common/error.h"

namespace gt::data {
namespace {

constexpr char kMagic[8] = {'G', 'T', 'I', 'M', 'G', 'C', '0', '1'};
constexpr uint64_t kPrefixBytes = 24;
constexpr uint64_t kMaxHeaderBytes = uint64_t(1) << 30;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// The header as bytes: fixed-width little-endian numbers, strings as u32 length + bytes (any
// bytes: class folder names need not be UTF-8).
class HeaderWriter {
 public:
  void u32(uint32_t v) { put(&v, 4); }
  void u64(uint64_t v) { put(&v, 8); }
  void f32(float v) { put(&v, 4); }
  void str(const std::string& s) {
    u32(uint32_t(s.size()));
    put(s.data(), s.size());
  }
  const std::string& bytes() const { return out_; }

 private:
  void put(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

// Reads what HeaderWriter wrote; any read past the end sets failed() and yields zeros.
class HeaderReader {
 public:
  HeaderReader(const uint8_t* p, uint64_t n) : p_(p), n_(n) {}
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  float f32() { return get<float>(); }
  std::string str() {
    const uint32_t len = u32();
    if (failed_ || len > n_ - at_) {
      failed_ = true;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(p_ + at_), len);
    at_ += len;
    return s;
  }
  bool failed() const { return failed_; }
  bool at_end() const { return at_ == n_; }

 private:
  template <class T>
  T get() {
    T v{};
    if (failed_ || sizeof(T) > n_ - at_) {
      failed_ = true;
      return v;
    }
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  const uint8_t* p_;
  uint64_t n_, at_ = 0;
  bool failed_ = false;
};

std::string encode_header(const CacheHeader& h) {
  HeaderWriter w;
  w.str(h.key);
  w.u32(uint32_t(h.height));
  w.u32(uint32_t(h.width));
  w.u32(uint32_t(h.channels));
  w.u32(uint32_t(h.class_names.size()));
  for (const auto& c : h.class_names) w.str(c);
  for (const auto& s : h.splits) {
    w.u64(uint64_t(s.rows));
    w.u64(s.images_offset);
    w.u64(s.labels_offset);
  }
  for (int c = 0; c < h.channels; ++c) {
    w.f32(h.mean[size_t(c)]);
    w.f32(h.stddev[size_t(c)]);
  }
  w.u64(h.skipped.size());
  for (const auto& s : h.skipped) {
    w.str(s.path);
    w.str(s.reason);
  }
  w.str(h.source);
  w.str(h.settings);
  w.str(h.codecs);
  return w.bytes();
}

// Decodes and checks a header against the file's size; "" when sound, else the problem.
std::string decode_header(const uint8_t* p, uint64_t n, uint64_t file_size, CacheHeader& h) {
  HeaderReader r(p, n);
  h.key = r.str();
  h.height = int(r.u32());
  h.width = int(r.u32());
  h.channels = int(r.u32());
  const uint32_t classes = r.u32();
  if (r.failed() || classes > n) return "truncated header";
  for (uint32_t c = 0; c < classes && !r.failed(); ++c) h.class_names.push_back(r.str());
  for (auto& s : h.splits) {
    s.rows = int64_t(r.u64());
    s.images_offset = r.u64();
    s.labels_offset = r.u64();
  }
  if (r.failed()) return "truncated header";
  if (h.height <= 0 || h.width <= 0 || (h.channels != 1 && h.channels != 3) || classes < 1 ||
      h.height > 65536 || h.width > 65536)
    return "impossible image shape or class count";
  for (int c = 0; c < h.channels; ++c) {
    h.mean.push_back(r.f32());
    h.stddev.push_back(r.f32());
  }
  const uint64_t skipped = r.u64();
  if (r.failed() || skipped > n) return "truncated header";
  for (uint64_t i = 0; i < skipped && !r.failed(); ++i) {
    SkippedImage s;
    s.path = r.str();
    s.reason = r.str();
    h.skipped.push_back(std::move(s));
  }
  h.source = r.str();
  h.settings = r.str();
  h.codecs = r.str();
  if (r.failed() || !r.at_end()) return "malformed header";
  const uint64_t sample = h.sample_bytes();
  for (const auto& s : h.splits) {
    if (s.rows < 0 || uint64_t(s.rows) > file_size) return "impossible row count";
    const uint64_t images = uint64_t(s.rows) * sample, labels = uint64_t(s.rows) * 4;
    if (images / sample != uint64_t(s.rows) || s.images_offset > file_size ||
        images > file_size - s.images_offset || s.labels_offset > file_size ||
        labels > file_size - s.labels_offset || s.labels_offset % 4 != 0)
      return "a split lies outside the file";
  }
  return "";
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

CacheWriter::CacheWriter(const std::string& dir, const std::string& final_name,
                         uint64_t image_bytes)
    : dir_(dir), final_path_((std::filesystem::path(dir) / final_name).string()) {
  temp_path_ = (std::filesystem::path(dir) / (final_name + ".tmp-XXXXXX")).string();
  fd_ = mkstemp(temp_path_.data());
  if (fd_ < 0)
    throw gt::Error(fmt::format("{}: cannot create a cache file: {}", dir, errno_text()));
  const mode_t mask = umask(0);  // mkstemp makes 0600; a cache is as readable as other files
  umask(mask);
  fchmod(fd_, 0666 & ~mask);
  map_size_ = kCacheDataOffset + image_bytes;
  // Reserve the disk space now: a full disk is then this one-line error, not a SIGBUS when a
  // decoding thread writes into the mapping. A file system without fallocate gets a sparse file.
  int rc = fallocate(fd_, 0, 0, off_t(map_size_));
  if (rc != 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) rc = ftruncate(fd_, off_t(map_size_));
  if (rc != 0) {
    const std::string why = errno_text();
    ::close(fd_);
    unlink(temp_path_.c_str());
    throw gt::Error(
        fmt::format("{}: cannot make a cache file of {} bytes: {}", dir, map_size_, why));
  }
  void* p = mmap(nullptr, size_t(map_size_), PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) {
    const std::string why = errno_text();
    ::close(fd_);
    unlink(temp_path_.c_str());
    throw gt::Error(fmt::format("{}: cannot map a cache file: {}", dir, why));
  }
  map_ = static_cast<uint8_t*>(p);
  images_ = map_ + kCacheDataOffset;
}

CacheWriter::~CacheWriter() {
  if (map_) munmap(map_, size_t(map_size_));
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) unlink(temp_path_.c_str());
}

void CacheWriter::write_at(uint64_t offset, const void* data, uint64_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n =
        pwrite(fd_, p, size_t(std::min<uint64_t>(size, uint64_t(1) << 30)), off_t(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw gt::Error(fmt::format("{}: cannot write the cache: {}", dir_, errno_text()));
    }
    p += n;
    offset += uint64_t(n);
    size -= uint64_t(n);
  }
}

std::string CacheWriter::commit(CacheHeader& header,
                                const std::array<std::vector<int32_t>, kSplits>& labels) {
  const uint64_t sample = header.sample_bytes();
  uint64_t at = kCacheDataOffset;
  for (auto& s : header.splits) {
    s.images_offset = at;
    at += uint64_t(s.rows) * sample;
  }
  if (at > map_size_) throw gt::Error("internal: cache images exceed their area");
  at = align_up(at, 64);
  for (int s = 0; s < kSplits; ++s) {
    header.splits[size_t(s)].labels_offset = at;
    if (labels[size_t(s)].size() != size_t(header.splits[size_t(s)].rows))
      throw gt::Error("internal: cache labels and rows disagree");
    at += labels[size_t(s)].size() * 4;
  }
  // The labels and header may overlap the end of the mapped image area (images skipped after
  // it was sized): unmap first, then write through the descriptor.
  if (msync(map_, size_t(map_size_), MS_SYNC) != 0)
    throw gt::Error(fmt::format("{}: cannot write the cache: {}", dir_, errno_text()));
  munmap(map_, size_t(map_size_));
  map_ = nullptr;
  for (int s = 0; s < kSplits; ++s)
    write_at(header.splits[size_t(s)].labels_offset, labels[size_t(s)].data(),
             labels[size_t(s)].size() * 4);
  const uint64_t header_offset = align_up(at, 8);
  const std::string blob = encode_header(header);
  write_at(header_offset, blob.data(), blob.size());
  if (ftruncate(fd_, off_t(header_offset + blob.size())) != 0)
    throw gt::Error(fmt::format("{}: cannot write the cache: {}", dir_, errno_text()));
  uint8_t prefix[kPrefixBytes];
  const uint64_t size = blob.size();
  std::memcpy(prefix, kMagic, 8);
  std::memcpy(prefix + 8, &header_offset, 8);
  std::memcpy(prefix + 16, &size, 8);
  write_at(0, prefix, kPrefixBytes);
  if (fsync(fd_) != 0)
    throw gt::Error(fmt::format("{}: cannot write the cache: {}", dir_, errno_text()));
  if (rename(temp_path_.c_str(), final_path_.c_str()) != 0)
    throw gt::Error(fmt::format("{}: cannot name the cache file: {}", final_path_, errno_text()));
  committed_ = true;
  return final_path_;
}

std::optional<CacheContents> read_cache(const std::string& path, const std::string& key,
                                        std::string* problem) {
  problem->clear();
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  CacheContents c;
  try {
    c.file = MappedFile::open(path);
  } catch (const gt::Error& e) {
    *problem = e.what();
    return std::nullopt;
  }
  const uint8_t* p = c.file->data();
  const uint64_t n = c.file->size();
  auto bad = [&](const std::string& why) {
    *problem = fmt::format("{}: not a usable cache ({})", path, why);
    return std::nullopt;
  };
  if (n < kCacheDataOffset || std::memcmp(p, kMagic, 8) != 0) return bad("no cache header");
  uint64_t header_offset = 0, header_size = 0;
  std::memcpy(&header_offset, p + 8, 8);
  std::memcpy(&header_size, p + 16, 8);
  if (header_offset > n || header_size > n - header_offset || header_size > kMaxHeaderBytes)
    return bad("header outside the file");
  if (const std::string why = decode_header(p + header_offset, header_size, n, c.header);
      !why.empty())
    return bad(why);
  if (!key.empty() && c.header.key != key) return bad("made from other files or settings");
  const int classes = int(c.header.class_names.size());
  for (const auto& s : c.header.splits) {
    const auto* labels = reinterpret_cast<const int32_t*>(p + s.labels_offset);
    for (int64_t i = 0; i < s.rows; ++i)
      if (labels[i] < 0 || labels[i] >= classes) return bad("a label out of range");
  }
  return c;
}

std::string default_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg == '/') return (std::filesystem::path(xdg) / "greentrain").string();
  const char* home = std::getenv("HOME");
  if (home && *home) return (std::filesystem::path(home) / ".cache" / "greentrain").string();
  throw gt::UsageError(
      "no cache directory for decoded images: set --cache-dir (or $XDG_CACHE_HOME or $HOME)");
}

}  // namespace gt::data
