// The command-line options that choose a carbon intensity (--country, --region, --intensity,
// --pue), shared by every verb that converts energy to CO2e. They fill the plain
// carbon::CarbonOptions value, so the carbon module itself knows nothing of the command line.
#pragma once
#include <CLI/CLI.hpp>

#include "carbon/carbon.h"

namespace gt::cli {

// Adds --country, --region, --intensity and --pue (group "Carbon") to `cmd`.
void add_carbon_options(CLI::App& cmd, carbon::CarbonOptions& opts);

}  // namespace gt::cli
