// The CodeCarbon-format export (see codecarbon_csv.h).
#include "experiment/codecarbon_csv.h"

#include <fmt/core.h>

#include <cmath>
#include <ctime>
#include <map>
#include <ostream>

#include "carbon/carbon.h"
#include "common/csv.h"
#include "experiment/design.h"
#include "experiment/run_setup.h"

namespace gt::experiment {
namespace {

using csv::number_field;

std::optional<double> kwh(const std::optional<double>& joules, const std::optional<double>& pue) {
  if (!joules) return std::nullopt;
  return *joules / carbon::kJoulesPerKwh * pue.value_or(1.0);
}

std::optional<double> watts(const std::optional<double>& joules, double seconds) {
  if (!joules || !(seconds > 0)) return std::nullopt;
  return *joules / seconds;
}

// "2 x NVIDIA H100 80GB HBM3", per distinct model, as CodeCarbon counts them.
std::string gpu_models(const RunSetup& s) {
  std::map<std::string, int> count;
  std::vector<std::string> order;
  for (const auto& n : s.gpu_names)
    if (count[n]++ == 0) order.push_back(n);
  std::string out;
  for (const auto& n : order) out += fmt::format("{}{} x {}", out.empty() ? "" : ", ", count[n], n);
  return out;
}

// `iso` (UTC, "2026-01-01T00:00:00Z") plus `seconds`, in the same form; `iso` when unreadable.
std::string later(const std::string& iso, double seconds) {
  std::tm tm{};
  if (!strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return iso;
  const std::time_t t = timegm(&tm) + static_cast<std::time_t>(std::llround(seconds));
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The figures of one row: a whole run or a phase occurrence.
struct Figures {
  std::string timestamp;
  double duration_s = 0;
  std::optional<double> co2e_g, energy_j, gpu_j, cpu_j, ram_j;
};

// The columns both files share, from `duration` to `tracking_mode`, then the utilisation and
// on_cloud columns (CodeCarbon 3.3.0's order).
std::map<std::string, std::string> cells(const Figures& f, const RunSetup& s,
                                         const std::optional<double>& pue) {
  std::map<std::string, std::string> c;
  c["timestamp"] = f.timestamp;
  c["duration"] = number_field(f.duration_s);
  const std::optional<double> kg =
      f.co2e_g ? std::optional<double>(*f.co2e_g / 1000) : std::nullopt;
  c["emissions"] = number_field(kg);
  c["emissions_rate"] =
      number_field(kg && f.duration_s > 0 ? std::optional(*kg / f.duration_s) : std::nullopt);
  c["cpu_power"] = number_field(watts(f.cpu_j, f.duration_s));
  c["gpu_power"] = number_field(watts(f.gpu_j, f.duration_s));
  c["ram_power"] = number_field(watts(f.ram_j, f.duration_s));
  c["cpu_energy"] = number_field(kwh(f.cpu_j, pue));
  c["gpu_energy"] = number_field(kwh(f.gpu_j, pue));
  c["ram_energy"] = number_field(kwh(f.ram_j, pue));
  c["energy_consumed"] = number_field(kwh(f.energy_j, pue));
  c["country_name"] = s.country_name;
  c["country_iso_code"] = s.country_iso3;
  c["cloud_provider"] = s.cloud_provider;
  c["cloud_region"] = s.cloud_region;
  c["os"] = s.os;
  c["cpu_count"] = number_field(s.cpu_count);
  c["cpu_model"] = s.cpu_model;
  c["gpu_count"] = std::to_string(s.gpu_count);
  c["gpu_model"] = gpu_models(s);
  c["ram_total_size"] = number_field(s.ram_total_gb);
  c["tracking_mode"] = s.attribution;
  c["on_cloud"] = s.cloud_provider.empty() ? "N" : "Y";
  return c;
}

}  // namespace

const std::vector<std::string>& codecarbon_columns() {
  static const std::vector<std::string> v = {"timestamp",
                                             "project_name",
                                             "run_id",
                                             "experiment_id",
                                             "duration",
                                             "emissions",
                                             "emissions_rate",
                                             "cpu_power",
                                             "gpu_power",
                                             "ram_power",
                                             "cpu_energy",
                                             "gpu_energy",
                                             "ram_energy",
                                             "energy_consumed",
                                             "water_consumed",
                                             "country_name",
                                             "country_iso_code",
                                             "region",
                                             "cloud_provider",
                                             "cloud_region",
                                             "os",
                                             "python_version",
                                             "codecarbon_version",
                                             "cpu_count",
                                             "cpu_model",
                                             "gpu_count",
                                             "gpu_model",
                                             "longitude",
                                             "latitude",
                                             "ram_total_size",
                                             "tracking_mode",
                                             "cpu_utilization_percent",
                                             "gpu_utilization_percent",
                                             "ram_utilization_percent",
                                             "ram_used_gb",
                                             "on_cloud",
                                             "pue",
                                             "wue"};
  return v;
}

const std::vector<std::string>& codecarbon_task_columns() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> c = {"task_name"};
    for (const auto& name : codecarbon_columns())
      if (name != "experiment_id" && name != "pue" && name != "wue") c.push_back(name);
    return c;
  }();
  return v;
}

void write_codecarbon_csv(const Store& store, const std::string& experiment, bool phases,
                          std::ostream& out) {
  const auto e = store.experiment(experiment);
  const RunSetups setups(store, e);
  const auto& columns = phases ? codecarbon_task_columns() : codecarbon_columns();
  out << csv::format_record(columns);
  for (const auto& r : store.runs(e.id)) {
    if (!r.energy_j || !r.duration_s) continue;  // never metered: nothing was spent
    const RunSetup setup = setups.of(r);
    const std::string configuration = Configuration{r.config_index, r.factors, false}.label();
    auto emit = [&](std::map<std::string, std::string> c) {
      c["project_name"] = e.name;
      c["run_id"] = std::to_string(r.run_index);
      c["experiment_id"] = configuration;
      c["pue"] = number_field(r.pue);
      std::vector<std::string> row;
      for (const auto& name : columns) row.push_back(c.count(name) ? c[name] : "");
      out << csv::format_record(row);
    };
    if (!phases) {
      Figures f{r.finished_at,
                *r.duration_s,
                r.co2e_g,
                r.energy_j,
                r.component_energy_j(Component::gpu),
                r.component_energy_j(Component::cpu),
                r.component_energy_j(Component::ram)};
      emit(cells(f, setup, r.pue));
      continue;
    }
    for (const auto& p : r.phases) {
      Figures f{later(r.started_at, p.t_begin_s + p.duration_s),
                p.duration_s,
                std::nullopt,
                p.energy_j,
                p.gpu_energy_j,
                p.cpu_energy_j,
                p.ram_energy_j};
      if (r.intensity_g_per_kwh)
        f.co2e_g =
            carbon::co2e_g(p.energy_j, {*r.intensity_g_per_kwh, "", "", 0}, r.pue.value_or(1));
      auto c = cells(f, setup, r.pue);
      c["task_name"] = p.parent.empty() ? p.name : p.parent + "/" + p.name;
      emit(std::move(c));
    }
  }
}

}  // namespace gt::experiment
