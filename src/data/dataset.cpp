// Dataset helpers: slicing a contiguous range of rows (validation split, test batches); a
// slice shares the bytes of the set it comes from.
#include "data/dataset.h"

#include "common/error.h"

namespace gt::data {

Dataset Dataset::slice(int64_t first, int64_t count) const {
  if (first < 0 || count < 0 || first + count > rows)
    throw gt::Error("internal: data set slice out of range");
  Dataset out;
  out.rows = count;
  out.features = features;
  out.classes = classes;
  out.scale = scale;
  out.height = height;
  out.width = width;
  out.channels = channels;
  out.mean = mean;
  out.stddev = stddev;
  const auto lo = first * features, hi = (first + count) * features;
  if (!u8.empty()) out.u8 = u8.slice(size_t(lo), size_t(hi - lo));
  if (!f32.empty()) out.f32.assign(f32.begin() + lo, f32.begin() + hi);
  out.labels.assign(labels.begin() + first, labels.begin() + first + count);
  return out;
}

}  // namespace gt::data
