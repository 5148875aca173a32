// Output helpers for the metered verbs (see run_output.h).
#include "cli/run_output.h"

#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/output_file.h"

namespace gt::cli {

void check_writable(const std::string& path, const std::string& flag) {
  if (path.empty()) return;
  namespace fs = std::filesystem;
  const fs::path p(path);
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      throw UsageError(fmt::format("{} {}: exists and is not a regular file", flag, path));
    if (access(path.c_str(), W_OK) != 0)
      throw UsageError(fmt::format("{} {}: not writable", flag, path));
    return;
  }
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw UsageError(fmt::format("{} {}: folder {} does not exist", flag, path, dir.string()));
  if (access(dir.c_str(), W_OK) != 0)
    throw UsageError(fmt::format("{} {}: folder {} is not writable", flag, path, dir.string()));
}

void write_text_file(const std::string& path, const std::string& text, const std::string& flag) {
  try {
    write_output_file(path, text);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", flag, e.what()));
  }
}

void add_attribution_option(CLI::App& cmd, std::string& attribution) {
  cmd.add_option("--attribution", attribution,
                 "whose CPU and RAM energy: process (the measured process tree's share), "
                 "machine, or auto (default: process for estimates, machine for counters)")
      ->check(CLI::IsMember({"auto", "process", "machine"}))
      ->group("Meters");
}

std::string format_phases(const run::MeteredResult& r) {
  if (r.phases.empty()) return "";
  std::string out = fmt::format("{:<16} {:>3} {:>11} {:>12} {:>12} {:>12} {:>9}\n", "phase", "#",
                                "duration_s", "energy_J", "net_J", "gpu_J", "+-J");
  for (const auto& p : r.phases) {
    const auto& w = p.energy;
    bool gpu = false;
    for (const auto& c : w.components) gpu |= c.component == Component::gpu;
    out += fmt::format(
        "{:<16} {:>3} {:>11.3f} {:>12.1f} {:>12} {:>12} {:>9.2f}\n", p.name, p.occurrence,
        w.duration_s, w.energy_j, w.net_energy_j ? fmt::format("{:.1f}", *w.net_energy_j) : "-",
        gpu ? fmt::format("{:.1f}", w.component_energy_j(Component::gpu)) : "-", w.uncertainty_j);
  }
  return out;
}

std::string format_metrics(const run::MeteredResult& r) {
  if (r.metrics.empty()) return "";
  std::string out;
  for (const auto& [name, value] : r.metrics)
    out += fmt::format("{}{}={:.6g}", out.empty() ? "metrics: " : ", ", name, value);
  return out + "\n";
}

std::string format_co2e(const run::MeteredResult& r, const carbon::Intensity& intensity,
                        double pue) {
  return fmt::format("CO2e {:.4g} g{} ({}, {:g} gCO2e/kWh, {} {}, PUE {:g})\n", r.co2e_g,
                     r.wall_co2e_g ? fmt::format(" (wall: {:.4g} g)", *r.wall_co2e_g) : "",
                     intensity.label, intensity.g_per_kwh, intensity.source, intensity.year, pue);
}

}  // namespace gt::cli
