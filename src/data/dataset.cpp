// Dataset helpers: slicing a contiguous range of rows (validation split, test batches).
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
  if (!u8.empty()) out.u8.assign(u8.begin() + lo, u8.begin() + hi);
  if (!f32.empty()) out.f32.assign(f32.begin() + lo, f32.begin() + hi);
  out.labels.assign(labels.begin() + first, labels.begin() + first + count);
  return out;
}

}  // namespace gt::data
