// format_summary_table (see summary_table.h).
#include "energy/summary_table.h"

#include <fmt/core.h>

namespace gt::energy {

std::string format_summary_table(const Summary& s) {
  auto opt = [](const std::optional<double>& v, const char* fmtstr) {
    return v ? fmt::format(fmt::runtime(fmtstr), *v) : std::string("-");
  };
  std::string out =
      fmt::format("{:<6} {:<10} {:<10} {:<8} {:>12} {:>10} {:>9} {:>9} {:>9} {:>12} {:>12}  {}\n",
                  "part", "device", "source", "attrib", "energy_J", "Wh", "avg_W", "peak_W",
                  "idle_W", "net_J", "machine_J", "model");
  for (const auto& c : s.components)
    out += fmt::format(
        "{:<6} {:<10} {:<10} {:<8} {:>12.1f} {:>10.4f} {:>9.1f} {:>9.1f} {:>9} {:>12} {:>12}  "
        "{}\n",
        c.component, c.device, c.source, c.attribution, c.energy_j, c.energy_j / 3600.0,
        c.avg_power_w, c.peak_power_w, opt(c.idle_power_w, "{:.1f}"), opt(c.net_energy_j, "{:.1f}"),
        opt(c.machine_energy_j, "{:.1f}"), c.model);
  out += fmt::format("{:<37} {:>12.1f} {:>10.4f} {:>9.1f} {:>9} {:>9} {:>12}\n",
                     "total (gpu+cpu+ram)", s.energy_j, s.energy_j / 3600.0,
                     s.duration_s > 0 ? s.energy_j / s.duration_s : 0.0, "", "",
                     opt(s.net_energy_j, "{:.1f}"));
  if (s.wall_energy_j)
    out += fmt::format("{:<37} {:>12.1f} {:>10.4f} {:>9.1f}\n", "wall (whole machine)",
                       *s.wall_energy_j, *s.wall_energy_j / 3600.0,
                       s.duration_s > 0 ? *s.wall_energy_j / s.duration_s : 0.0);
  out += fmt::format("duration {:.3f} s{}\n", s.duration_s, s.interrupted ? " (interrupted)" : "");
  for (const auto& n : s.notes) out += "note: " + n + "\n";
  return out;
}

}  // namespace gt::energy
