// Output helpers shared by the verbs that run a metered workload (measure, train): checking
// an output path before any work starts (without creating it), writing it, the --attribution
// flag, and the phase, metric and CO2e lines printed under the energy table.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "carbon/carbon.h"
#include "run/metered_run.h"

namespace gt::cli {

// Throws gt::UsageError naming `flag` when `path` (non-empty) could not be written: its folder
// is missing or not writable, or it exists and is not a writable regular file. Creates nothing.
void check_writable(const std::string& path, const std::string& flag);
// Writes `text` to `path` with common/output_file.h (a temporary beside it, then a rename; a
// target that is not a regular file is refused); throws gt::Error naming `flag`.
void write_text_file(const std::string& path, const std::string& text, const std::string& flag);

void add_attribution_option(CLI::App& cmd, std::string& attribution);

// "phase  #  duration_s  energy_J  net_J  gpu_J  ±J" lines, or "" without phases.
std::string format_phases(const run::MeteredResult& r);
// "metrics: test_accuracy=0.8731, final_loss=0.352" (what the child reported), or "".
std::string format_metrics(const run::MeteredResult& r);
std::string format_co2e(const run::MeteredResult& r, const carbon::Intensity& intensity,
                        double pue);

}  // namespace gt::cli
