// The engine configurations cuDNN's heuristics offer for an operation graph, what each one says
// about its numerics, and the precision rules that refuse some of them, as PyTorch does:
//   * never an engine that down-converts its inputs (FP32 data computed in FP16/BF16);
//   * never one that reduces in reduced precision (every precision accumulates in FP32);
//   * fp32 never an engine with tensor-core notes (on FP32 data that is TF32, not true FP32);
//     tf32 allows them, and so do fp16 and bf16;
//   * with `deterministic`, never a non-deterministic one.
// Internal to the cuDNN path.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/cuda/cudnn_descriptor.h"
#include "engine/precision.h"

namespace gt::engine::cuda {

struct EngineConfig {
  Descriptor config;  // the finalised engine configuration (a plan refers to it)
  int64_t global_index = -1;
  std::vector<cudnnBackendNumericalNote_t> numerical;
  std::vector<cudnnBackendBehaviorNote_t> behavior;
  std::vector<std::pair<int64_t, int64_t>> knobs;  // (knob type, value)

  // Identifies the configuration across runs (the autotune file): "eng12 k2=1 k13=0".
  std::string tag() const;
  // The tag and its notes, for people: "eng12 k2=1 (tensor cores, runtime compiled)".
  std::string describe() const;
};

// The configurations of `graph` in the heuristic `mode`'s order; empty with `why` set when the
// mode has none for this graph.
std::vector<EngineConfig> heuristic_configs(const Descriptor& graph, cudnnBackendHeurMode_t mode,
                                            std::string& why);

// "instant", "B", "fallback" or "A": how people and the survey name a heuristics mode.
std::string heuristic_mode_name(cudnnBackendHeurMode_t mode);

// Why the rules above refuse an engine with these notes for `precision` ("" when they do not).
std::string engine_refusal(Precision precision, bool deterministic,
                           const std::vector<cudnnBackendNumericalNote_t>& notes);

}  // namespace gt::engine::cuda
