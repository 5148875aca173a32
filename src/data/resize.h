// Deterministic resizing of 8-bit images (row-major, channel fastest), one axis at a time:
//   - shrinking an axis averages the source pixels each output pixel covers, weighted by the
//     covered length (area averaging; OpenCV's INTER_AREA, PIL's BOX for whole factors);
//   - enlarging an axis interpolates linearly between the two nearest source pixel centres,
//     edges clamped (bilinear with half-pixel centres: PyTorch's align_corners=False);
//   - an axis of unchanged size is copied.
// The horizontal pass goes first, into FP32; the vertical pass rounds half up to a byte. The
// same input gives the same bytes on every run (no threads inside, fixed summation order).
#pragma once
#include <cstdint>
#include <vector>

namespace gt::data {

// The taps of one axis: output pixel i is the sum over k < count[i] of
// weight[first_tap[i] + k] * source[index[first_tap[i] + k]].
struct ResizeAxis {
  std::vector<int> first_tap, count, index;
  std::vector<float> weight;
};

ResizeAxis resize_axis(int from, int to);

// Resizes `src` (height x width x channels) into `dst` (out_height x out_width x channels).
// `scratch` is reused between calls to avoid allocations.
void resize_image(const uint8_t* src, int width, int height, int channels, uint8_t* dst,
                  int out_width, int out_height, std::vector<float>& scratch);

}  // namespace gt::data
