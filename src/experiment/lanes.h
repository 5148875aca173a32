// Parallel lanes for `experiment run PLAN --gpus 0,1,...`: one run per GPU at a time. Each lane
// owns one board; its child sees only that board (CUDA_VISIBLE_DEVICES set to the board's UUID,
// which no numbering can misread), its energy session meters only that board, and the lane is
// recorded as the run's provenance. The runs are handed out in planned order to whichever lane
// is free, so a block's runs spread over the boards (the board becomes a blocking factor:
// `analyze --block-by gpu`). Lanes are threads of the one greentrain process, which alone
// writes the one database.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "energy/nvml.h"

namespace gt::experiment {

struct LaneGpu {
  int lane = 0;  // 0-based
  energy::NvmlGpuInfo gpu;
};

// The boards of a --gpus value: NVML indices (as nvidia-smi numbers them) or UUIDs, distinct.
// Throws gt::UsageError for an unknown or repeated board, or when NVML is unavailable.
std::vector<LaneGpu> lane_gpus(const energy::NvmlProbe& probe, const std::string& spec);

// Runs work(item, lane) for items 0..count-1, at most one per lane at a time, items started in
// order as lanes become free. Stops starting new items once stop() is true; waits for the items
// in flight. work runs on the lanes' threads; an exception in one is rethrown here after every
// lane has finished.
void run_in_lanes(int count, int lanes, const std::function<void(int item, int lane)>& work,
                  const std::function<bool()>& stop);

}  // namespace gt::experiment
