// CPU package and DRAM energy from Intel/AMD RAPL through the Linux powercap sysfs tree
// (/sys/class/powercap, or GREENTRAIN_POWERCAP_ROOT for tests). Counted: every `package-N`
// zone (component cpu) and every `dram` zone (component ram), on every socket. Not counted,
// to avoid double counting: `core` and `uncore` (nested inside their package), `psys` (the
// whole platform, which contains the packages) and the `intel-rapl-mmio` duplicates of the
// packages. Counter wrap-around is handled with max_energy_range_uj.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "energy/meter.h"
#include "energy/sysfs.h"

namespace gt::energy {

struct RaplZone {
  std::string id;                      // intel-rapl:0:2
  std::string path;                    // folder holding energy_uj
  std::string name;                    // package-0, dram, core, uncore, psys
  std::optional<Component> component;  // cpu or ram; none: not counted
  std::string device;                  // package-0, dram-0
  double max_range_j = 0;
  bool readable = false;
  std::string why_not_counted;  // for nested/duplicate zones, or the read error
};

struct RaplProbe {
  std::vector<RaplZone> zones;  // every zone found (counted or not)
  std::string root;
  std::string missing_reason;           // no powercap/RAPL at all
  std::string permission_hint;          // energy_uj exists but cannot be read: how to fix it
  bool has(Component component) const;  // a readable counted zone of that component
};

RaplProbe probe_rapl(const FileReader& reader = read_text_file);
std::unique_ptr<Meter> make_rapl_meter(const RaplZone& zone, FileReader reader = read_text_file);

}  // namespace gt::energy
