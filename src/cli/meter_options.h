// The meter flags shared by every verb that measures (measure, train, experiment run, devices,
// meter): --interval-ms, --gpu-counter-ms, --gpu-edge-ms, --gpus, --wall, --idle, --cpu-tdp,
// --ram-watts. They fill energy::MeterOptions, a plain struct, so the energy library knows
// nothing of the command line; a bad value is a one-line usage error from CLI11.
#pragma once
#include <CLI/CLI.hpp>

#include "energy/session.h"

namespace gt::cli {

void add_meter_options(CLI::App& cmd, energy::MeterOptions& opts);

}  // namespace gt::cli
