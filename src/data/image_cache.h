// The decoded-image cache file: a folder's images decoded once, kept as uint8 NHWC, read back
// through a read-only memory mapping. Layout (little-endian):
//   [0, 24)        "GTIMGC01", header offset (u64), header size (u64)
//   [4096, ...)    the images of the train, validation and test splits, one after the other
//   then           the int32 labels of the three splits (64-byte aligned)
//   then           the header: key, shape, class names, per-split rows and offsets, per-channel
//                  mean and stddev of the training split, the images skipped and why, the
//                  source folder, the settings and the codec versions
// A cache is written through CacheWriter: into a temporary file beside its final name, mapped
// for writing, then (commit) labels and header, fsync, and a rename. A write that fails or is
// interrupted never leaves a file under a cache's name; a stale temporary (its writer killed)
// is removed by the next writer of the same folder (data/image_dataset.cpp holds the lock).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/image_folder.h"
#include "data/mapped_file.h"

namespace gt::data {

struct SkippedImage {
  std::string path, reason;  // reason: the one-line message, path included
};

struct CacheSplit {
  int64_t rows = 0;
  uint64_t images_offset = 0, labels_offset = 0;
};

struct CacheHeader {
  std::string key;  // what the cache was made from (hex; data/image_dataset.cpp defines it)
  int height = 0, width = 0, channels = 0;
  std::vector<std::string> class_names;
  std::array<CacheSplit, kSplits> splits{};
  std::vector<float> mean, stddev;  // per channel, of u8 / 255 over the training split
  std::vector<SkippedImage> skipped;
  std::string source;    // the folder
  std::string settings;  // the loader's settings (size, colour, policy, split rule)
  std::string codecs;    // codec_versions() of the writer

  uint64_t sample_bytes() const { return uint64_t(height) * uint64_t(width) * uint64_t(channels); }
};

inline constexpr uint64_t kCacheDataOffset = 4096;

class CacheWriter {
 public:
  // A temporary file in `dir`, named after `final_name`, with room for `image_bytes` of images
  // mapped for writing at images().
  CacheWriter(const std::string& dir, const std::string& final_name, uint64_t image_bytes);
  ~CacheWriter();  // removes the temporary file unless commit() succeeded
  CacheWriter(const CacheWriter&) = delete;
  CacheWriter& operator=(const CacheWriter&) = delete;

  uint8_t* images() { return images_; }
  // Completes the file: header.splits[s].rows images of each split lie at images() in split
  // order (their offsets are filled in here), `labels[s]` are their labels. Returns the final
  // path. gt::Error (and the temporary removed) when the disk refuses.
  std::string commit(CacheHeader& header, const std::array<std::vector<int32_t>, kSplits>& labels);

 private:
  void write_at(uint64_t offset, const void* data, uint64_t size);
  std::string dir_, final_path_, temp_path_;
  int fd_ = -1;
  uint8_t* map_ = nullptr;
  uint64_t map_size_ = 0;
  uint8_t* images_ = nullptr;
  bool committed_ = false;
};

struct CacheContents {
  CacheHeader header;
  std::shared_ptr<const MappedFile> file;
};

// The cache at `path` when it is a complete cache file made from `key` (any key when `key` is
// empty); otherwise nullopt, with the reason in *problem (empty when the file does not exist).
std::optional<CacheContents> read_cache(const std::string& path, const std::string& key,
                                        std::string* problem);

// Where caches go without --cache-dir: $XDG_CACHE_HOME/greentrain, else ~/.cache/greentrain;
// gt::UsageError when neither variable is set.
std::string default_cache_dir();

}  // namespace gt::data
