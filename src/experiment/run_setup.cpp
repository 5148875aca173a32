// A run's setup from the database (see run_setup.h).
#include "experiment/run_setup.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "carbon/carbon.h"
#include "common/ascii_case.h"
#include "common/csv.h"
#include "experiment/stored_plan.h"

namespace gt::experiment {
namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string country_name(const std::string& iso3) {
  for (const auto& row : carbon::countries())
    if (row.iso3 == iso3) return row.name;
  return "";
}

std::optional<double> json_number(const nlohmann::json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

std::string json_text(const nlohmann::json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return "";
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// machine | process when every CPU and RAM figure agrees, else each component's.
std::string attribution_of(const RunRecord& r) {
  std::map<std::string, std::string> by_component;
  for (const auto& e : r.energy)
    if (e.component == Component::cpu || e.component == Component::ram)
      by_component[to_string(e.component)] = to_string(e.attribution);
  std::set<std::string> modes;
  for (const auto& [c, a] : by_component) modes.insert(a);
  if (modes.size() <= 1) return modes.empty() ? "" : *modes.begin();
  std::string out;
  for (const auto& [c, a] : by_component) out += (out.empty() ? "" : " ") + c + ":" + a;
  return out;
}

}  // namespace

std::string RunSetup::gpu_setting(const std::string& field) const {
  std::optional<std::string> value;
  for (const auto& g : gpus) {
    const std::string v = g.field(field);
    if (value && *value != v) return "";
    value = v;
  }
  return value.value_or("");
}

std::string RunSetup::gpu_model() const {
  std::vector<std::string> distinct;
  for (const auto& n : gpu_names)
    if (std::find(distinct.begin(), distinct.end(), n) == distinct.end()) distinct.push_back(n);
  std::string out;
  for (const auto& n : distinct) out += (out.empty() ? "" : ", ") + n;
  return out;
}

RunSetups::RunSetups(const Store& store, const ExperimentRecord& e)
    : experiment_env_(e.environment) {
  for (const auto& s : store.sessions(e.id)) session_env_[s.id] = s.environment;
  const std::optional<Plan> plan = stored_plan(e);
  if (!plan) return;  // a stored plan this version no longer reads: the grid stays unknown
  const carbon::CarbonOptions& carbon = plan->carbon;
  if (carbon.intensity) return;  // a given intensity belongs to no country
  if (!carbon.region.empty()) {
    const auto colon = carbon.region.find(':');
    cloud_provider_ = ascii_lower(carbon.region.substr(0, colon));
    cloud_region_ = colon == std::string::npos ? "" : ascii_lower(carbon.region.substr(colon + 1));
    for (const auto& row : carbon::regions())
      if (row.provider == cloud_provider_ && row.region == cloud_region_) country_iso3_ = row.iso3;
  } else {
    country_iso3_ = carbon.country.empty() ? "WLD" : upper(carbon.country);
  }
  country_name_ = country_name(country_iso3_);
}

RunSetup RunSetups::of(const RunRecord& r) const {
  RunSetup s;
  s.started_at = r.started_at;
  s.finished_at = r.finished_at;
  const auto it = session_env_.find(r.session_id);
  const nlohmann::json& env = it != session_env_.end() ? it->second : experiment_env_;
  s.host = r.provenance.host.empty() ? json_text(env, "host") : r.provenance.host;
  s.os = json_text(env, "os");
  s.country_iso3 = country_iso3_;
  s.country_name = country_name_;
  s.cloud_provider = cloud_provider_;
  s.cloud_region = cloud_region_;
  s.cpu_model = json_text(env, "cpu_model");
  s.cpu_count = json_number(env, "cpu_cores");
  if (auto bytes = json_number(env, "ram_bytes")) s.ram_total_gb = *bytes / (1024.0 * 1024 * 1024);
  s.gpus = r.provenance.gpu_settings;
  for (const auto& g : s.gpus) s.gpu_names.push_back(g.name);
  if (s.gpu_names.empty()) s.gpu_names = split_commas(r.provenance.gpu_name);
  std::set<std::string> metered;
  for (const auto& e : r.energy)
    if (e.component == Component::gpu) metered.insert(e.device);
  s.gpu_count = static_cast<int>(std::max(s.gpu_names.size(), metered.size()));
  s.attribution = attribution_of(r);
  s.pue = r.pue;
  return s;
}

const std::vector<std::string>& context_columns() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> c = {"started_at", "finished_at",  "host",        "country",
                                  "region",     "cpu_model",    "cpu_count",   "gpu_model",
                                  "gpu_count",  "ram_total_gb", "attribution", "pue"};
    for (const auto& f : energy::setting_fields()) c.push_back("gpu_" + f);
    return c;
  }();
  return v;
}

std::string context_value(const RunSetup& s, const std::string& column) {
  if (column == "started_at") return s.started_at;
  if (column == "finished_at") return s.finished_at;
  if (column == "host") return s.host;
  if (column == "country") return s.country_iso3;
  if (column == "region")
    return s.cloud_provider.empty() ? "" : s.cloud_provider + ":" + s.cloud_region;
  if (column == "cpu_model") return s.cpu_model;
  if (column == "cpu_count") return csv::number_field(s.cpu_count);
  if (column == "gpu_model") return s.gpu_model();
  if (column == "gpu_count") return std::to_string(s.gpu_count);
  if (column == "ram_total_gb") {
    if (!s.ram_total_gb) return "";
    return fmt::format("{:.3f}", *s.ram_total_gb);
  }
  if (column == "attribution") return s.attribution;
  if (column == "pue") return csv::number_field(s.pue);
  if (column.rfind("gpu_", 0) == 0) return s.gpu_setting(column.substr(4));
  return "";
}

std::vector<std::string> context_cells(const RunSetup& s) {
  std::vector<std::string> out;
  for (const auto& c : context_columns()) out.push_back(context_value(s, c));
  return out;
}

}  // namespace gt::experiment
