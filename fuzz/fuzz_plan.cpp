// Fuzz target: a plan file through parsing and every validation rule, then (when it is valid and
// small enough to expand quickly) the design's expansion and the first run's command, so a plan
// that passes validation cannot crash what comes after it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "experiment/design.h"
#include "experiment/plan.h"
#include "experiment/workload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto plan = gt::experiment::parse_plan(text, "fuzz.toml");
    double runs = plan.design.repeats;
    for (const auto& f : plan.factors) runs *= static_cast<double>(f.levels.size());
    if (runs + plan.design.warmup_runs > 2000) return 0;  // valid, but slow to expand
    const auto design = gt::experiment::expand(plan);
    if (!design.runs.empty()) {
      const auto& run = design.runs.front();
      gt::experiment::prepare_run(plan, design.configs.at(run.config_index), run, "/tmp/w", "/gt");
    }
    (void)plan.hash();
  } catch (const gt::Error&) {
  }
  return 0;
}
