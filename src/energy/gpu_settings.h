// The settings a GPU ran under, read from NVML without changing anything: its power limits
// (enforced, default, and the range an administrator may set), its application and maximum SM
// and memory clocks, persistence mode, and the clock-throttle reasons seen while it was metered
// (the union of NVML's reason bits over every full reading of the window). A power cap or a
// locked clock moves a run's energy as much as its precision does, so every metered GPU run
// records them: two results are comparable only when they ran under the same settings. A value
// NVML cannot give (an older board, a virtual GPU) is nullopt, never a guess.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gt::energy {

struct GpuSettings {
  std::string device;  // NVML index, as in the component's device
  std::string uuid, name;
  std::optional<double> power_limit_w, default_power_limit_w, min_power_limit_w, max_power_limit_w;
  std::optional<double> app_sm_clock_mhz, app_memory_clock_mhz, max_sm_clock_mhz,
      max_memory_clock_mhz;
  std::optional<bool> persistence_mode;
  // NVML's clock-throttle (clock event) reason bits seen during the window, or'ed together;
  // nullopt when the driver could not report them.
  std::optional<std::uint64_t> throttle_reasons;

  // Every setting as (field name, text), in the order of setting_fields(): numbers as
  // written by fmt ("700", "1980"), persistence "on"/"off", the throttle reasons as
  // throttle_reason_text(); "" when unknown.
  std::vector<std::pair<std::string, std::string>> fields() const;
  // The field's text by name ("" when unknown or not a field).
  std::string field(const std::string& name) const;
  // {device, uuid, name, power_limit_w, ..., persistence_mode, throttle_reasons: [names]}.
  nlohmann::json to_json() const;
};

// The setting fields, in order: power_limit_w, default_power_limit_w, min_power_limit_w,
// max_power_limit_w, app_sm_clock_mhz, app_memory_clock_mhz, max_sm_clock_mhz,
// max_memory_clock_mhz, persistence_mode, throttle_reasons.
const std::vector<std::string>& setting_fields();
// The limits and clocks among them (what makes two runs' energy incomparable when it differs);
// persistence mode and throttle reasons describe the run rather than set it.
bool is_limit_or_clock(const std::string& field);

// NVML's reason bits by name: gpu_idle (0x1), applications_clocks_setting (0x2), sw_power_cap
// (0x4), hw_slowdown (0x8), sync_boost (0x10), sw_thermal_slowdown (0x20), hw_thermal_slowdown
// (0x40), hw_power_brake_slowdown (0x80), display_clock_setting (0x100); an unknown bit as its
// hexadecimal value ("0x200").
std::vector<std::string> throttle_reason_names(std::uint64_t mask);
// The names joined by spaces, "none" for an empty mask, "" when unknown.
std::string throttle_reason_text(const std::optional<std::uint64_t>& mask);

}  // namespace gt::energy
