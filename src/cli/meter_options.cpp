// add_meter_options (see meter_options.h).
#include "cli/meter_options.h"

#include "cli/cli_number.h"

namespace gt::cli {

void add_meter_options(CLI::App& cmd, energy::MeterOptions& opts) {
  cmd.add_option("--interval-ms", opts.interval_ms, "sampling interval in ms (10..60000)")
      ->check(whole_number(10, 60000))
      ->group("Meters");
  cmd.add_option("--gpu-counter-ms", opts.gpu_counter_ms,
                 "how often the GPU energy counter is read, in ms (100..60000; it costs CPU)")
      ->check(whole_number(100, 60000))
      ->group("Meters");
  cmd.add_option("--gpu-edge-ms", opts.gpu_edge_ms,
                 "how often the GPU energy counter is polled for its update edges, so phase "
                 "boundaries are interpolated (1..1000 ms; 0 = off)")
      ->check(whole_number(0, 1000))
      ->group("Meters");
  cmd.add_option("--gpus", opts.gpus,
                 "GPUs to meter: indices or UUIDs (0,2); 'none'; default CUDA_VISIBLE_DEVICES "
                 "or all")
      ->group("Meters");
  cmd.add_option("--wall", opts.wall,
                 "wall meter: cmd:'<command>', http:'<url>#<json-pointer>', manual, file:<csv>")
      ->group("Meters");
  cmd.add_option("--idle", opts.idle_s, "idle baseline before the work, e.g. 10s, 500ms, 1min")
      ->transform(seconds_with_unit(3600))
      ->group("Meters");
  cmd.add_option("--cpu-tdp", opts.cpu_tdp_w, "CPU thermal design power in W (all sockets)")
      ->check(finite_number(1, 100000))
      ->group("Meters");
  cmd.add_option("--ram-watts", opts.ram_watts, "RAM power in W (overrides the per-DIMM model)")
      ->check(finite_number(0, 100000))
      ->group("Meters");
}

}  // namespace gt::cli
