// Test support for the scale-out tests: a small command plan (two precisions, the workload
// `true`) written to a file, so each test states only what it varies.
#pragma once
#include <fmt/core.h>

#include <string>

#include "common/temp_dir.h"

namespace gt::experiment {

// `dir`/`file` holding a plan named `name_toml` (the content of a TOML basic string).
inline std::string write_command_plan(const testing::TempDir& dir, const std::string& file,
                                      const std::string& name_toml, int repeats,
                                      int warmup_runs = 1) {
  const std::string path = dir / file;
  testing::write_file(path, fmt::format(R"(name = "{}"
[workload]
kind = "command"
command = "true {{precision}}"
[factors]
precision = ["fp32", "bf16"]
[design]
repeats = {}
warmup_runs = {}
)",
                                        name_toml, repeats, warmup_runs));
  return path;
}

}  // namespace gt::experiment
