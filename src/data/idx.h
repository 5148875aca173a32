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

// Reads whole file content, transparently gunzipping (zlib) when it is gzip.
std::vector<uint8_t> read_maybe_gzip(const std::string& path);

// An images file ([n][rows][cols] or [n][features]) and its labels file ([n]) as a data set
// with `classes` classes (labels must be < classes).
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      int classes = 10);

}  // namespace gt::data
