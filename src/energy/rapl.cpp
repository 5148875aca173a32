// RAPL powercap meter (see rapl.h).
#include "energy/rapl.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include "common/numbers.h"

namespace gt::energy {
namespace fs = std::filesystem;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::optional<double> read_number(const FileReader& reader, const std::string& path,
                                  int* err = nullptr) {
  FileRead r = reader(path);
  if (!r.text) {
    if (err) *err = r.err;
    return std::nullopt;
  }
  // A counter is a non-negative integer; "nan", "-5" or 400 digits are a failed read.
  auto v = parse_finite(trim(*r.text));
  if (!v || *v < 0) {
    if (err) *err = EINVAL;
    return std::nullopt;
  }
  return v;
}

class RaplMeter : public Meter {
 public:
  RaplMeter(RaplZone zone, FileReader reader)
      : zone_(std::move(zone)), reader_(std::move(reader)) {}
  Component component() const override { return *zone_.component; }
  std::string device() const override { return zone_.device; }
  Source source() const override { return Source::measured; }
  std::string model() const override { return "rapl " + zone_.name; }
  void begin() override {
    last_raw_.reset();
    total_j_ = 0;
  }
  Reading read() override {
    Reading r;
    auto uj = read_number(reader_, zone_.path + "/energy_uj");
    if (!uj) return r;  // a failed read: skip this sample, the next one spans the gap
    const double j = *uj / 1e6;
    if (last_raw_) {
      double d = j - *last_raw_;
      // The counter wrapped around: add the range, when it is known and makes sense of the
      // drop; otherwise (range 0, or a drop larger than the range) the counter was reset and
      // this interval is not counted rather than counted negative.
      if (d < 0)
        d = zone_.max_range_j > 0 && d + zone_.max_range_j >= 0 ? d + zone_.max_range_j : 0;
      total_j_ += d;
    }
    last_raw_ = j;
    r.energy_j = total_j_;
    return r;
  }
  nlohmann::json environment() const override {
    return {{"zone", zone_.id},
            {"name", zone_.name},
            {"path", zone_.path},
            {"max_energy_range_uj", zone_.max_range_j * 1e6}};
  }

 private:
  RaplZone zone_;
  FileReader reader_;
  std::optional<double> last_raw_;
  double total_j_ = 0;
};

}  // namespace

bool RaplProbe::has(Component component) const {
  return std::any_of(zones.begin(), zones.end(),
                     [&](const RaplZone& z) { return z.component == component && z.readable; });
}

RaplProbe probe_rapl(const FileReader& reader) {
  RaplProbe probe;
  probe.root = env_or("GREENTRAIN_POWERCAP_ROOT", "/sys/class/powercap");
  static const std::regex zone_re(R"(^([a-z-]*rapl[a-z-]*)((:[0-9]+)+)$)");
  std::map<std::string, std::string> found;  // zone id → folder
  std::error_code ec;
  if (!fs::is_directory(probe.root, ec)) {
    probe.missing_reason = fmt::format(
        "{} does not exist (no powercap support: a VM, a container without /sys, "
        "or not Linux)",
        probe.root);
    return probe;
  }
  // Zones appear flat (symlinks, as in /sys/class/powercap) or nested (as under
  // /sys/devices/virtual/powercap/intel-rapl); scan both ways, a few levels deep only (sysfs
  // has symlink loops), and de-duplicate by zone id.
  std::function<void(const fs::path&, int)> scan = [&](const fs::path& dir, int level) {
    std::error_code e;
    for (const auto& entry : fs::directory_iterator(dir, e)) {
      const std::string base = entry.path().filename().string();
      if (!fs::is_directory(entry.path(), e)) continue;
      const bool is_zone = std::regex_match(base, zone_re);
      if (is_zone && !found.count(base)) found[base] = entry.path().string();
      if ((is_zone || (level == 0 && base.find("rapl") != std::string::npos)) && level < 3)
        scan(entry.path(), level + 1);
    }
  };
  scan(probe.root, 0);
  if (found.empty()) {
    probe.missing_reason = fmt::format(
        "no RAPL zones under {} (not an Intel/AMD CPU with RAPL, or a VM that hides it)",
        probe.root);
    return probe;
  }
  bool permission_problem = false;
  for (const auto& [id, path] : found) {
    std::smatch m;
    std::regex_match(id, m, zone_re);
    const std::string family = m[1];
    const std::string nums = m[2];
    const int depth = static_cast<int>(std::count(id.begin(), id.end(), ':'));
    const std::string socket = nums.substr(
        1, nums.find(':', 1) == std::string::npos ? std::string::npos : nums.find(':', 1) - 1);
    RaplZone z;
    z.id = id;
    z.path = path;
    auto name = reader(path + "/name");
    z.name = name.text ? trim(*name.text) : "unknown";
    z.max_range_j = read_number(reader, path + "/max_energy_range_uj").value_or(0) / 1e6;
    if (family.find("mmio") != std::string::npos) {
      z.why_not_counted = "MMIO duplicate of a package zone";
    } else if (z.name == "dram") {
      z.component = Component::ram;
      z.device = "dram-" + socket;
    } else if (z.name.rfind("package", 0) == 0 && depth == 1) {
      z.component = Component::cpu;
      z.device = z.name;
    } else if (z.name == "psys") {
      z.why_not_counted = "platform zone, contains the packages";
    } else {
      z.why_not_counted = "nested inside its package";
    }
    int err = 0;
    z.readable = read_number(reader, path + "/energy_uj", &err).has_value();
    if (!z.readable) {
      z.why_not_counted = fmt::format("energy_uj not readable: {}", std::strerror(err));
      if (err == EACCES || err == EPERM) permission_problem = true;
    }
    probe.zones.push_back(std::move(z));
  }
  if (permission_problem)
    probe.permission_hint = fmt::format(
        "RAPL energy_uj is not readable (root-only since Linux 5.10); grant access with "
        "`sudo chmod a+r {}/*/energy_uj` or run as root; using the CPU estimate instead",
        probe.root);
  return probe;
}

std::unique_ptr<Meter> make_rapl_meter(const RaplZone& zone, FileReader reader) {
  return std::make_unique<RaplMeter>(zone, std::move(reader));
}

}  // namespace gt::energy
