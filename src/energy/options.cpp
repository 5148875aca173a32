// add_meter_options: the meter flags shared by every verb that measures (measure, train,
// experiment run, devices). Validation happens here so a bad value is a one-line usage error.
#include <fmt/core.h>

#include "common/cli_number.h"
#include "common/error.h"
#include "energy/session.h"

namespace gt::energy {

void add_meter_options(CLI::App& cmd, MeterOptions& opts) {
  cmd.add_option("--interval-ms", opts.interval_ms, "sampling interval in ms (10..60000)")
      ->check(CLI::Range(10, 60000))
      ->group("Meters");
  cmd.add_option("--gpu-counter-ms", opts.gpu_counter_ms,
                 "how often the GPU energy counter is read, in ms (100..60000; it costs CPU)")
      ->check(CLI::Range(100, 60000))
      ->group("Meters");
  cmd.add_option("--gpus", opts.gpus,
                 "GPUs to meter: indices or UUIDs (0,2); 'none'; default CUDA_VISIBLE_DEVICES "
                 "or all")
      ->group("Meters");
  cmd.add_option("--wall", opts.wall,
                 "wall meter: cmd:'<command>', http:'<url>#<json-pointer>', manual, file:<csv>")
      ->group("Meters");
  cmd.add_option("--idle", opts.idle_s, "idle baseline before the work, e.g. 10s, 500ms, 1min")
      ->transform(CLI::AsNumberWithUnit(
          std::map<std::string, double>{{"ms", 0.001}, {"s", 1.0}, {"min", 60.0}},
          CLI::AsNumberWithUnit::CASE_SENSITIVE))
      ->check(CLI::Range(0.0, 3600.0))
      ->group("Meters");
  cmd.add_option("--cpu-tdp", opts.cpu_tdp_w, "CPU thermal design power in W (all sockets)")
      ->check(finite_number(1, 100000))
      ->group("Meters");
  cmd.add_option("--ram-watts", opts.ram_watts, "RAM power in W (overrides 0.375 W/GB)")
      ->check(finite_number(0, 100000))
      ->group("Meters");
}

}  // namespace gt::energy
