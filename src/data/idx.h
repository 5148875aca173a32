// Reader for IDX files, the MNIST / Fashion-MNIST container (big-endian magic 0x0000TTDD with
// type byte TT and DD dimensions, then DD big-endian u32 sizes, then the data). Files may be raw
// or gzip-compressed (detected from content, not name). Every inconsistency — bad magic,
// unsupported type, truncated data, trailing bytes, image/label count mismatch — is a gt::Error
// naming the file and what was expected.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace gt::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;  // unsigned-byte data (type 0x08), row-major
};

// Reads an unsigned-byte IDX file (raw or gzip).
IdxArray read_idx(const std::string& path);

// Decodes IDX content already in memory; `name` is used in error messages.
IdxArray parse_idx(const std::vector<uint8_t>& content, const std::string& name);

// Reads whole file content, transparently gunzipping (zlib) when it is gzip; stops after
// `max_bytes` (so a gzip bomb or a huge file costs no more memory than that).
std::vector<uint8_t> read_maybe_gzip(const std::string& path, uint64_t max_bytes = UINT64_MAX);

// Largest item greentrain trains on: 2^24 values (a 4096 x 4096 image). An IDX header that
// describes larger items, or more than kMaxIdxBytes of data, is refused before any allocation.
inline constexpr uint64_t kMaxIdxItemValues = uint64_t(1) << 24;
inline constexpr uint64_t kMaxIdxBytes = uint64_t(1) << 36;

// An images file ([n][rows][cols] or [n][features]) and its labels file ([n]) as a data set
// with `classes` classes (labels must be < classes).
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      int classes = 10);

}  // namespace gt::data
