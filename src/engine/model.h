// The MLP spec (ModelSpec, backend.h) as tests and benchmarks write it, on top of the layer
// graph: `mlp:128` = Flatten → Dense(128, ReLU) → Dense(classes), `mlp:512,256` stacks hidden
// layers. Sizes, FLOPs and initial weights come from the network and its layout
// (graph/model_text.h, graph/param_layout.h, graph/init.h), the one place every model's do;
// epoch_order is the host-side shuffle of every backend that shuffles on the host.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend.h"

namespace gt::engine {

// Parses "mlp:H1[,H2…]"; throws gt::UsageError naming the spec on anything else (a valid model
// text of another family included: it is not an MLP).
ModelSpec parse_model_spec(std::string_view text, int inputs, int classes, float dropout = 0);
// "128" or "512,256": the hidden sizes as the runs table's `neurons` column writes them.
std::string neurons_string(const ModelSpec& spec);
std::string to_string(const ModelSpec& spec);  // "mlp:128"

int64_t parameter_count(const ModelSpec& spec);
// See graph::train_flops_per_sample: forward 2·in·out per layer, backward 2·in·out for the
// weight gradient plus 2·in·out for the input gradient (not needed for the first layer).
double train_flops_per_sample(const ModelSpec& spec);

// The network's initial values (graph/init.h: Glorot-uniform weights, zero biases) per layer.
Parameters glorot_uniform(const ModelSpec& spec, uint64_t seed);

// The order of one epoch's samples, a permutation of 0..rows-1 shuffled from (seed, epoch)
// with a Fisher-Yates pass over a mt19937_64; backends that shuffle on the host use it.
std::vector<int32_t> epoch_order(int64_t rows, uint64_t seed, int epoch);

}  // namespace gt::engine
