// Fuzz target: the runs-table CSV that `greentrain analyze --input` reads (stats/runs_table
// through the common CSV reader), with factor column `a`. Bad files must be gt::Errors.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "common/error.h"
#include "stats/runs_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto t = gt::stats::read_runs_csv(in, {"a"}, "fuzz.csv");
    for (const auto& r : t.rows)
      if (r.config.size() != 1) __builtin_trap();
  } catch (const gt::Error&) {
  }
  return 0;
}
