// One component's energy over a metered interval: what the energy session produces for each
// GPU, CPU package, RAM and wall meter, and what the report shows per run. Every figure
// carries its source (measured by a counter or meter, or estimated by a named model), so a
// number is never a silent guess.
#pragma once
#include <optional>
#include <string>

#include "common/vocabulary.h"

namespace gt {

struct ComponentEnergy {
  Component component = Component::gpu;
  std::string device;  // "0" (GPU index), "package-0", "system", "wattmeter", ...
  Source source = Source::measured;
  std::string model;  // how: "nvml-energy-counter", "rapl package", "tdp-linear(65 W)", ...
  double energy_j = 0;
  // Energy minus the idle baseline, when one was measured.
  std::optional<double> net_energy_j = std::nullopt;
  double avg_power_w = 0, peak_power_w = 0;
  // The idle baseline's power, when one was measured.
  std::optional<double> idle_power_w = std::nullopt;
  // Whose energy: the whole component's, or the share attributed to the measured process tree.
  Scope attribution = Scope::machine;
  // With attribution Scope::process: the whole machine's figure, beside the process tree's share.
  std::optional<double> machine_energy_j = std::nullopt;
  // The measurement uncertainty of a window, when known.
  std::optional<double> uncertainty_j = std::nullopt;
};

}  // namespace gt
