// Heuristic engine configurations and the precision rules of cudnn_engines.h.
#include "engine/cuda/cudnn_engines.h"

#include <algorithm>

#include "engine/cuda/cudnn_library.h"

namespace gt::engine::cuda {
namespace {

constexpr int64_t kMaxNotes = 64;  // more than any cuDNN 9 defines (a newer one may add some)

bool has(const std::vector<cudnnBackendNumericalNote_t>& notes, cudnnBackendNumericalNote_t n) {
  return std::find(notes.begin(), notes.end(), n) != notes.end();
}

// `count` new descriptors of `type` for cudnnBackendGetAttribute to fill, and their handles.
std::vector<Descriptor> blank_descriptors(cudnnBackendDescriptorType_t type, int64_t count,
                                          std::vector<cudnnBackendDescriptor_t>& handles) {
  std::vector<Descriptor> out;
  handles.clear();
  for (int64_t i = 0; i < count; ++i) handles.push_back(out.emplace_back(type).get());
  return out;
}

EngineConfig read_config(Descriptor config) {
  EngineConfig e;
  Descriptor engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  config.get(CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, engine.slot());
  e.global_index = engine.get_int64(CUDNN_ATTR_ENGINE_GLOBAL_INDEX);

  std::vector<cudnnBackendNumericalNote_t> numerical(kMaxNotes);
  numerical.resize(
      std::min(kMaxNotes, engine.get(CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                     kMaxNotes, numerical.data())));
  e.numerical = numerical;
  std::vector<cudnnBackendBehaviorNote_t> behavior(kMaxNotes);
  behavior.resize(
      std::min(kMaxNotes, engine.get(CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE, CUDNN_TYPE_BEHAVIOR_NOTE,
                                     kMaxNotes, behavior.data())));
  e.behavior = behavior;

  // Knob choices: descriptors made beforehand, filled by the query.
  const int64_t capacity = CUDNN_KNOB_TYPE_COUNTS;
  std::vector<cudnnBackendDescriptor_t> raw;
  std::vector<Descriptor> choices =
      blank_descriptors(CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR, capacity, raw);
  const int64_t count =
      std::min(capacity, config.get(CUDNN_ATTR_ENGINECFG_KNOB_CHOICES,
                                    CUDNN_TYPE_BACKEND_DESCRIPTOR, capacity, raw.data()));
  for (int64_t i = 0; i < count; ++i) {
    cudnnBackendKnobType_t type{};
    choices[i].get(CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE, CUDNN_TYPE_KNOB_TYPE, 1, &type);
    e.knobs.emplace_back(static_cast<int64_t>(type),
                         choices[i].get_int64(CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE));
  }
  std::sort(e.knobs.begin(), e.knobs.end());
  e.config = std::move(config);
  return e;
}

}  // namespace

std::string EngineConfig::tag() const {
  std::string text = "eng" + std::to_string(global_index);
  for (const auto& [type, value] : knobs)
    text += " k" + std::to_string(type) + "=" + std::to_string(value);
  return text;
}

std::string EngineConfig::describe() const {
  std::vector<std::string> notes;
  if (has(numerical, CUDNN_NUMERICAL_NOTE_TENSOR_CORE)) notes.emplace_back("tensor cores");
  if (has(numerical, CUDNN_NUMERICAL_NOTE_FFT)) notes.emplace_back("FFT");
  if (has(numerical, CUDNN_NUMERICAL_NOTE_WINOGRAD) ||
      has(numerical, CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4) ||
      has(numerical, CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6) ||
      has(numerical, CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13))
    notes.emplace_back("Winograd");
  if (has(numerical, CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC))
    notes.emplace_back("non-deterministic");
  if (std::find(behavior.begin(), behavior.end(), CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION) !=
      behavior.end())
    notes.emplace_back("runtime compiled");
  std::string text = tag();
  for (size_t i = 0; i < notes.size(); ++i) text += (i == 0 ? " (" : ", ") + notes[i];
  return notes.empty() ? text : text + ")";
}

std::vector<EngineConfig> heuristic_configs(const Descriptor& graph, cudnnBackendHeurMode_t mode,
                                            std::string& why) {
  Descriptor heuristics(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  heuristics.set_descriptor(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph);
  heuristics.set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
  if (const cudnnStatus_t status = heuristics.try_finalize(); status != CUDNN_STATUS_SUCCESS) {
    why = cudnn().error_string(status);
    return {};
  }
  const int64_t count =
      heuristics.get(CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, nullptr);
  std::vector<cudnnBackendDescriptor_t> raw;
  std::vector<Descriptor> configs =
      blank_descriptors(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, count, raw);
  const int64_t got =
      count == 0
          ? 0
          : std::min(count, heuristics.get(CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                           CUDNN_TYPE_BACKEND_DESCRIPTOR, count, raw.data()));
  std::vector<EngineConfig> out;
  for (int64_t i = 0; i < got; ++i) out.push_back(read_config(std::move(configs[i])));
  if (out.empty()) why = "no engine configurations";
  return out;
}

std::string heuristic_mode_name(cudnnBackendHeurMode_t mode) {
  switch (mode) {
    case CUDNN_HEUR_MODE_INSTANT:
      return "instant";
    case CUDNN_HEUR_MODE_B:
      return "B";
    case CUDNN_HEUR_MODE_FALLBACK:
      return "fallback";
    default:
      return "mode " + std::to_string(static_cast<int>(mode));
  }
}

std::string engine_refusal(Precision precision, bool deterministic,
                           const std::vector<cudnnBackendNumericalNote_t>& notes) {
  if (has(notes, CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS)) return "down-converts its inputs";
  if (has(notes, CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION))
    return "accumulates in reduced precision";
  if (precision == Precision::fp32 && has(notes, CUDNN_NUMERICAL_NOTE_TENSOR_CORE))
    return "uses tensor cores (TF32, not true FP32)";
  if (deterministic && has(notes, CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC))
    return "is non-deterministic";
  return "";
}

}  // namespace gt::engine::cuda
