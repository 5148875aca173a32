// Model specifications and initial parameters, shared by every backend so a run starts from
// the same weights whatever the device: `mlp:128` = Flatten → Dense(128, ReLU) → Dense(classes),
// `mlp:512,256` stacks hidden layers. Weights are Glorot-uniform (Keras' default:
// U(±√(6/(in+out)))) drawn from a seeded 64-bit Mersenne Twister in a fixed order
// (layer by layer, row-major [out][in]); biases are zero.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/backend.h"

namespace gt::engine {

// Parses "mlp:H1[,H2…]"; throws gt::UsageError naming the spec on anything else.
ModelSpec parse_model_spec(std::string_view text, int inputs, int classes, float dropout = 0);
// "128" or "512,256": the hidden sizes as the runs table's `neurons` column writes them.
std::string neurons_string(const ModelSpec& spec);
std::string to_string(const ModelSpec& spec);  // "mlp:128"

int layer_count(const ModelSpec& spec);  // Dense layers, output layer included
int layer_inputs(const ModelSpec& spec, int layer);
int layer_outputs(const ModelSpec& spec, int layer);
int64_t parameter_count(const ModelSpec& spec);

// FLOPs of one training sample: forward 2·in·out per layer, backward 2·in·out for the weight
// gradient plus 2·in·out for the input gradient (not needed for the first layer).
double train_flops_per_sample(const ModelSpec& spec);

Parameters glorot_uniform(const ModelSpec& spec, uint64_t seed);

// The order of one epoch's samples, a permutation of 0..rows-1 shuffled from (seed, epoch)
// with a Fisher-Yates pass over a mt19937_64; backends that shuffle on the host use it.
std::vector<int32_t> epoch_order(int64_t rows, uint64_t seed, int epoch);

}  // namespace gt::engine
