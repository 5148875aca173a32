// GPU settings as text and JSON (see gpu_settings.h).
#include "energy/gpu_settings.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>

#include "common/csv.h"
#include "energy/optional_json.h"

namespace gt::energy {
namespace {

// NVML's nvmlClocksEventReason* (formerly nvmlClocksThrottleReason*) bits, in bit order.
constexpr std::array<const char*, 9> kReasonNames = {"gpu_idle",
                                                     "applications_clocks_setting",
                                                     "sw_power_cap",
                                                     "hw_slowdown",
                                                     "sync_boost",
                                                     "sw_thermal_slowdown",
                                                     "hw_thermal_slowdown",
                                                     "hw_power_brake_slowdown",
                                                     "display_clock_setting"};

}  // namespace

const std::vector<std::string>& setting_fields() {
  static const std::vector<std::string> v = {
      "power_limit_w",    "default_power_limit_w", "min_power_limit_w", "max_power_limit_w",
      "app_sm_clock_mhz", "app_memory_clock_mhz",  "max_sm_clock_mhz",  "max_memory_clock_mhz",
      "persistence_mode", "throttle_reasons"};
  return v;
}

bool is_limit_or_clock(const std::string& field) {
  return field != "persistence_mode" && field != "throttle_reasons" &&
         std::find(setting_fields().begin(), setting_fields().end(), field) !=
             setting_fields().end();
}

std::vector<std::string> throttle_reason_names(std::uint64_t mask) {
  std::vector<std::string> out;
  for (unsigned bit = 0; bit < 64; ++bit) {
    const std::uint64_t b = std::uint64_t{1} << bit;
    if (!(mask & b)) continue;
    out.push_back(bit < kReasonNames.size() ? kReasonNames[bit] : fmt::format("{:#x}", b));
  }
  return out;
}

std::string throttle_reason_text(const std::optional<std::uint64_t>& mask) {
  if (!mask) return "";
  if (*mask == 0) return "none";
  std::string out;
  for (const auto& n : throttle_reason_names(*mask)) out += (out.empty() ? "" : " ") + n;
  return out;
}

std::vector<std::pair<std::string, std::string>> GpuSettings::fields() const {
  const std::vector<std::string> values = {
      csv::number_field(power_limit_w),
      csv::number_field(default_power_limit_w),
      csv::number_field(min_power_limit_w),
      csv::number_field(max_power_limit_w),
      csv::number_field(app_sm_clock_mhz),
      csv::number_field(app_memory_clock_mhz),
      csv::number_field(max_sm_clock_mhz),
      csv::number_field(max_memory_clock_mhz),
      persistence_mode ? (*persistence_mode ? "on" : "off") : "",
      throttle_reason_text(throttle_reasons)};
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < values.size(); ++i) out.emplace_back(setting_fields()[i], values[i]);
  return out;
}

std::string GpuSettings::field(const std::string& name) const {
  for (const auto& [k, v] : fields())
    if (k == name) return v;
  return "";
}

nlohmann::json GpuSettings::to_json() const {
  nlohmann::json j = {{"device", device}, {"uuid", uuid}, {"name", name}};
  j["power_limit_w"] = optional_json(power_limit_w);
  j["default_power_limit_w"] = optional_json(default_power_limit_w);
  j["min_power_limit_w"] = optional_json(min_power_limit_w);
  j["max_power_limit_w"] = optional_json(max_power_limit_w);
  j["app_sm_clock_mhz"] = optional_json(app_sm_clock_mhz);
  j["app_memory_clock_mhz"] = optional_json(app_memory_clock_mhz);
  j["max_sm_clock_mhz"] = optional_json(max_sm_clock_mhz);
  j["max_memory_clock_mhz"] = optional_json(max_memory_clock_mhz);
  j["persistence_mode"] = persistence_mode ? nlohmann::json(*persistence_mode) : nullptr;
  j["throttle_reasons"] =
      throttle_reasons ? nlohmann::json(throttle_reason_names(*throttle_reasons)) : nullptr;
  return j;
}

}  // namespace gt::energy
