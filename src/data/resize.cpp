// Area-average / bilinear resizing (see resize.h).
#include "data/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"

namespace gt::data {

ResizeAxis resize_axis(int from, int to) {
  if (from <= 0 || to <= 0) throw gt::Error("internal: resize of an empty axis");
  ResizeAxis a;
  a.first_tap.resize(size_t(to));
  a.count.resize(size_t(to));
  auto add = [&](int i, int j, double w) {
    if (w <= 0) return;
    a.index.push_back(j);
    a.weight.push_back(float(w));
    ++a.count[size_t(i)];
  };
  for (int i = 0; i < to; ++i) {
    a.first_tap[size_t(i)] = int(a.index.size());
    if (from == to) {
      add(i, i, 1.0);
    } else if (to < from) {
      // Output pixel i covers source [i * from / to, (i + 1) * from / to): exact in integers
      // scaled by `to`, so the weights (covered length / from * to) sum to 1 exactly.
      const int64_t lo = int64_t(i) * from, hi = int64_t(i + 1) * from;  // in units of 1/to
      for (int64_t j = lo / to; j * to < hi; ++j) {
        const int64_t covered = std::min(hi, (j + 1) * to) - std::max(lo, j * to);
        add(i, int(j), double(covered) / double(from));
      }
    } else {
      const double x = std::clamp((i + 0.5) * from / to - 0.5, 0.0, double(from - 1));
      const int j0 = int(std::floor(x));
      const int j1 = std::min(j0 + 1, from - 1);
      const double t = x - j0;
      if (j1 == j0) {
        add(i, j0, 1.0);
      } else {
        add(i, j0, 1.0 - t);
        add(i, j1, t);
      }
    }
  }
  return a;
}

void resize_image(const uint8_t* src, int width, int height, int channels, uint8_t* dst,
                  int out_width, int out_height, std::vector<float>& scratch) {
  if (width == out_width && height == out_height) {
    std::memcpy(dst, src, size_t(width) * size_t(height) * size_t(channels));
    return;
  }
  const ResizeAxis ax = resize_axis(width, out_width), ay = resize_axis(height, out_height);
  // Horizontal: height x out_width x channels, in FP32.
  const size_t row = size_t(out_width) * size_t(channels);
  scratch.resize(size_t(height + 1) * row);  // the rows, then the vertical accumulator
  for (int y = 0; y < height; ++y) {
    const uint8_t* in = src + size_t(y) * size_t(width) * size_t(channels);
    float* out = scratch.data() + size_t(y) * row;
    for (int x = 0; x < out_width; ++x) {
      const int first = ax.first_tap[size_t(x)], n = ax.count[size_t(x)];
      for (int c = 0; c < channels; ++c) {
        float s = 0;
        for (int k = 0; k < n; ++k)
          s += ax.weight[size_t(first + k)] *
               float(in[size_t(ax.index[size_t(first + k)]) * size_t(channels) + size_t(c)]);
        out[size_t(x) * size_t(channels) + size_t(c)] = s;
      }
    }
  }
  // Vertical, rounding half up: each output row accumulates its source rows in FP32.
  float* acc = scratch.data() + size_t(height) * row;
  for (int y = 0; y < out_height; ++y) {
    const int first = ay.first_tap[size_t(y)], n = ay.count[size_t(y)];
    std::fill(acc, acc + row, 0.0f);
    for (int k = 0; k < n; ++k) {
      const float w = ay.weight[size_t(first + k)];
      const float* in = scratch.data() + size_t(ay.index[size_t(first + k)]) * row;
      for (size_t i = 0; i < row; ++i) acc[i] += w * in[i];
    }
    uint8_t* out = dst + size_t(y) * row;
    for (size_t i = 0; i < row; ++i)
      out[i] = uint8_t(std::clamp(std::floor(acc[i] + 0.5f), 0.0f, 255.0f));
  }
}

}  // namespace gt::data
