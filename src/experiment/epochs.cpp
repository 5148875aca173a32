// The epochs of a run (see epochs.h).
#include "experiment/epochs.h"

#include <algorithm>

#include "experiment/stored_plan.h"

namespace gt::experiment {

std::optional<double> epoch_accuracy(const std::map<std::string, double>& metrics) {
  for (const char* name :
       {"val_accuracy", "validation_accuracy", "val_acc", "accuracy", "test_accuracy"})
    if (auto it = metrics.find(name); it != metrics.end()) return it->second;
  return std::nullopt;
}

std::vector<EpochPhase> epochs_of(const RunRecord& run) {
  std::vector<const PhaseRecord*> phases;
  for (const auto& p : run.phases)
    if (p.name == "epoch") phases.push_back(&p);
  std::stable_sort(phases.begin(), phases.end(), [](const PhaseRecord* a, const PhaseRecord* b) {
    return a->t_begin_s < b->t_begin_s;
  });
  std::vector<EpochPhase> out;
  for (const auto* p : phases)
    out.push_back(
        {static_cast<int>(out.size()) + 1, p->energy_j, p->duration_s, epoch_accuracy(p->metrics)});
  return out;
}

std::optional<TargetReached> energy_to_target(const std::vector<EpochPhase>& epochs,
                                              double target) {
  if (std::none_of(epochs.begin(), epochs.end(),
                   [](const EpochPhase& e) { return e.accuracy.has_value(); }))
    return std::nullopt;
  TargetReached t;
  for (const auto& e : epochs) {
    t.energy_j += e.energy_j;
    ++t.epochs;
    if (e.accuracy && *e.accuracy >= target) {
      t.reached = true;
      break;
    }
  }
  return t;
}

std::map<std::string, double> derived_metrics(const RunRecord& run,
                                              const std::vector<std::string>& factor_names,
                                              std::optional<double> target_accuracy) {
  std::map<std::string, double> out;
  const auto epochs = epochs_of(run);
  if (epochs.empty()) return out;
  if (!run.metrics.count("epochs") &&
      std::find(factor_names.begin(), factor_names.end(), "epochs") == factor_names.end())
    out["epochs"] = static_cast<double>(epochs.size());
  if (!target_accuracy) return out;
  if (auto t = energy_to_target(epochs, *target_accuracy)) {
    out["target_reached"] = t->reached ? 1 : 0;
    if (t->reached) {
      out["energy_to_target_j"] = t->energy_j;
      out["epochs_to_target"] = t->epochs;
    }
  }
  return out;
}

std::optional<double> target_accuracy(const ExperimentRecord& e) {
  const std::optional<Plan> plan = stored_plan(e);
  return plan ? plan->analysis.target_accuracy : std::nullopt;
}

}  // namespace gt::experiment
