// The one initialiser (see init.h).
#include "engine/graph/init.h"

#include <cmath>
#include <random>

namespace gt::engine::graph {

std::vector<float> initial_values(const ParamLayout& layout, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> values(size_t(layout.elements), 0.0f);
  for (const TensorSlot& s : layout.slots) {
    float* v = values.data() + s.offset;
    double limit = 0;
    switch (s.init) {
      case Init::zeros:
        continue;
      case Init::ones:
        std::fill(v, v + s.size, 1.0f);
        continue;
      case Init::glorot_uniform:
        limit = std::sqrt(6.0 / double(s.fan_in + s.fan_out));
        break;
      case Init::he_uniform:
        limit = std::sqrt(6.0 / double(s.fan_in));
        break;
    }
    for (int64_t i = 0; i < s.size; ++i) {
      const double u = double(rng() >> 11) * 0x1.0p-53;
      v[i] = float((2.0 * u - 1.0) * limit);
    }
  }
  return values;
}

}  // namespace gt::engine::graph
