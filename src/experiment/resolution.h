// Can the meter resolve what the stopping rule asks for? A phase much shorter than the GPU
// energy counter's update period (about 100 ms on H100/H200) is measured with an uncertainty
// that no number of blocks makes small at a reasonable cost: each window's boundaries are known
// only to a few milliseconds of power. After the first runs (the warm-up, else block 1) the
// runner compares each configuration's stated uncertainty of the stop metric's phase with the
// rule's target: the meter's spread alone (the stated uncertainty, a half-width, over sqrt(3)
// for a standard deviation) needs about 2 (1.96 cv / target)^2 blocks for a difference of two
// configurations to reach +-target; when that is more than max_repeats the rule is refused
// with the phase's length, its uncertainty and the remedies, before more blocks are spent.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "experiment/plan.h"
#include "experiment/store.h"

namespace gt::experiment {

struct ResolutionCheck {
  std::string phase;         // the stop metric's phase ("train" for train_energy_j)
  double duration_s = 0;     // the least resolved configuration's median phase length
  double energy_j = 0;       // its median phase energy
  double uncertainty_j = 0;  // its median stated uncertainty
  int blocks_needed = 0;     // blocks the meter's spread alone would need for the target
  bool reachable = true;
  std::string message;  // why not, with the remedies ("" when reachable)
};

// nullopt when the metric is not a phase's energy or no finished run has that phase.
std::optional<ResolutionCheck> check_resolution(const StopRule& rule, const std::string& metric,
                                                const std::vector<RunRecord>& runs, int max_blocks);

// Before any run: a phase's energy varies from run to run by about kBoundaryPower_s of its power
// from the counter's edges alone (measured on an H200: 0.4 J at 160 W, whatever the phase's
// length; CV 0.9 % at 0.25 s, 6.6 % at 39 ms; docs/method.md, "Resolution"), so a +-target_pct
// interval within max_blocks needs a phase at least this long (seconds).
inline constexpr double kBoundaryPower_s = 0.0025;
double shortest_resolvable_phase_s(double target_pct, int max_blocks);

// The blocks a difference of two configurations needs to reach +-target_pct when each run's
// coefficient of variation is cv (both as fractions or both in %).
int blocks_for_interval(double cv, double target);

}  // namespace gt::experiment
