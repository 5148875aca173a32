// The one initialiser of every backend: a whole slab of initial values for a layout, drawn from
// a seeded 64-bit Mersenne Twister in slot order, so a run starts from the same values whatever
// the device. Kernels as Keras initialises them: Dense Glorot-uniform U(±√(6/(fan_in+fan_out)))
// (Keras' default), Conv2D He-uniform U(±√(6/fan_in)) with fan_in = kh·kw·in (the ReLU that
// follows it); biases and β zero, γ one, running mean zero, running variance one. Uniform
// draws take 53 random bits to [0, 1) explicitly, so the values do not depend on the standard
// library; only Glorot and He slots consume draws.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/graph/param_layout.h"

namespace gt::engine::graph {

std::vector<float> initial_values(const ParamLayout& layout, uint64_t seed);

}  // namespace gt::engine::graph
