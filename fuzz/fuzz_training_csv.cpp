// Fuzz target: training-data CSV (data/csv through the common CSV reader) from arbitrary text.
// Bad files must be gt::Errors; an accepted table has one finite feature row per label.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "common/error.h"
#include "data/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto t = gt::data::read_csv_table(in, "fuzz.csv", "label");
    if (t.rows.size() != t.labels.size()) __builtin_trap();
    for (const auto& row : t.rows) {
      if (row.size() != t.feature_names.size()) __builtin_trap();
      for (float v : row)
        if (!std::isfinite(v)) __builtin_trap();
    }
  } catch (const gt::Error&) {
  }
  return 0;
}
