// A test fixture for energy Sessions over the fake NVML library: one fake GPU whose settings a
// test writes to dir/nvml.txt, no RAPL (an empty powercap root) and fixed CPU/RAM estimates,
// sampled every 20 ms. Shared by the session and window tests.
#pragma once
#include <gtest/gtest.h>

#include "common/scoped_env.h"
#include "common/temp_dir.h"
#include "energy/session.h"

namespace gt::energy {

class FakeGpuSessionTest : public ::testing::Test {
 protected:
  MeterOptions options() {
    MeterOptions o;
    o.interval_ms = 20;
    o.cpu_tdp_w = 40;
    o.ram_watts = 4;
    o.gpus = "0";
    return o;
  }
  gt::testing::TempDir dir;
  gt::testing::ScopedEnv lib{"GREENTRAIN_NVML_LIB", FAKE_NVML_PATH};
  gt::testing::ScopedEnv fake{"GREENTRAIN_FAKE_NVML", dir / "nvml.txt"};
  gt::testing::ScopedEnv no_rapl{"GREENTRAIN_POWERCAP_ROOT", dir / "none"};
};

}  // namespace gt::energy
