// The epochs of a run, read from its phases: every occurrence of a phase named `epoch` (at top
// level, or nested such as train/epoch), in the order they began, with its energy, duration and
// the metrics reported inside it. The built-in trainer marks them and reports val_accuracy in
// each; a script marks them with `greentrain mark epoch begin|end` (or the Python package) and
// `greentrain mark --metric val_accuracy=...` inside. From them come the per-epoch views, the
// epochs a run made, and energy_to_target_j: the training energy until the first epoch whose
// accuracy reaches the plan's [analysis] target_accuracy.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "experiment/store.h"

namespace gt::experiment {

struct EpochPhase {
  int epoch = 0;  // 1-based, in the order the epochs began
  double energy_j = 0, duration_s = 0;
  std::optional<double> accuracy;  // epoch_accuracy() of its metrics
};

std::vector<EpochPhase> epochs_of(const RunRecord& run);

// The accuracy an epoch reports, by the first of these names it has: val_accuracy,
// validation_accuracy, val_acc, accuracy, test_accuracy.
std::optional<double> epoch_accuracy(const std::map<std::string, double>& metrics);

struct TargetReached {
  bool reached = false;
  int epochs = 0;       // epochs run until the target (all of them when never reached)
  double energy_j = 0;  // their energy: until the target, or the whole training when never
};
// nullopt when no epoch reports an accuracy.
std::optional<TargetReached> energy_to_target(const std::vector<EpochPhase>& epochs, double target);

// Metrics a run's phases give the runs table: `epochs` (the epochs counted, when the run
// reported none and no factor is named so), and with a target: target_reached (1 or 0) for every
// run whose epochs report an accuracy, energy_to_target_j and epochs_to_target for those that
// reached it (a run that never did is counted by target_reached, never given a value).
std::map<std::string, double> derived_metrics(const RunRecord& run,
                                              const std::vector<std::string>& factor_names,
                                              std::optional<double> target_accuracy);

// The target accuracy of an experiment's plan ([analysis] target_accuracy); nullopt without
// one, or when the stored plan no longer parses.
std::optional<double> target_accuracy(const ExperimentRecord& e);

}  // namespace gt::experiment
