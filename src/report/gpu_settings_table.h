// The report's view of the settings the runs' GPUs ran under: a table of each distinct set of
// power limits, clocks and persistence mode with the runs that used it and the throttle reasons
// they saw, and a warning when runs that the analysis compares (successful, not warm-up) ran
// under different limits or clocks, since a power cap or a locked clock moves energy as much as
// a factor does.
#pragma once
#include <optional>
#include <string>

#include "report/report_data.h"
#include "report/sections.h"

namespace gt::report {

// "The runs compared here ran under different GPU settings: gpu_power_limit_w 450 (runs 1, 2),
// 700 (runs 3, 4); ..." or nullopt when the analysed runs agree (or recorded none).
std::optional<std::string> gpu_settings_warning(const ReportData& data);

// "GPU power limits and clocks": one row per distinct setting, its runs and throttle reasons.
NamedTable gpu_settings_table(const ReportData& data);

}  // namespace gt::report
