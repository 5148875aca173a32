// RAPL powercap meter against fake sysfs trees: two sockets, nested zones (core, uncore, dram),
// psys and MMIO duplicates (not double counted), counter wrap-around, and an unreadable
// energy_uj injected through the reader hook (tests run as root, so chmod proves nothing).
#include "energy/rapl.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <thread>

#include "common/scoped_env.h"
#include "common/temp_dir.h"
#include "energy/session.h"

namespace gt::energy {
namespace {
using testing::ScopedEnv;
using testing::TempDir;
using testing::write_file;

void zone(const std::string& dir, const std::string& name, double uj,
          double max_uj = 262143328850) {
  write_file(dir + "/name", name + "\n");
  write_file(dir + "/energy_uj", std::to_string(static_cast<long long>(uj)) + "\n");
  write_file(dir + "/max_energy_range_uj", std::to_string(static_cast<long long>(max_uj)) + "\n");
}

// Two sockets laid out nested, like /sys/devices/virtual/powercap/intel-rapl.
void two_socket_tree(const TempDir& t) {
  const std::string r = t / "intel-rapl";
  zone(r + "/intel-rapl:0", "package-0", 1000000);
  zone(r + "/intel-rapl:0/intel-rapl:0:0", "core", 500000);
  zone(r + "/intel-rapl:0/intel-rapl:0:1", "uncore", 10000);
  zone(r + "/intel-rapl:0/intel-rapl:0:2", "dram", 200000);
  zone(r + "/intel-rapl:1", "package-1", 3000000);
  zone(r + "/intel-rapl:1/intel-rapl:1:0", "dram", 400000);
  zone(r + "/intel-rapl:2", "psys", 9000000);
  zone(t / "intel-rapl-mmio/intel-rapl-mmio:0", "package-0", 1000000);
}

const RaplZone* find(const RaplProbe& p, const std::string& id) {
  for (const auto& z : p.zones)
    if (z.id == id) return &z;
  return nullptr;
}

TEST(Rapl, NoTreeExplainsWhy) {
  ScopedEnv root("GREENTRAIN_POWERCAP_ROOT", "/nonexistent/powercap");
  RaplProbe p = probe_rapl();
  EXPECT_TRUE(p.zones.empty());
  EXPECT_NE(p.missing_reason.find("does not exist"), std::string::npos) << p.missing_reason;
}

TEST(Rapl, EmptyTreeExplainsWhy) {
  TempDir t;
  ScopedEnv root("GREENTRAIN_POWERCAP_ROOT", t.path());
  RaplProbe p = probe_rapl();
  EXPECT_NE(p.missing_reason.find("no RAPL zones"), std::string::npos) << p.missing_reason;
}

TEST(Rapl, TwoSocketsNestedZonesCountedOnce) {
  TempDir t;
  two_socket_tree(t);
  ScopedEnv root("GREENTRAIN_POWERCAP_ROOT", t.path());
  RaplProbe p = probe_rapl();
  EXPECT_TRUE(p.missing_reason.empty()) << p.missing_reason;
  ASSERT_EQ(p.zones.size(), 8u);
  EXPECT_EQ(find(p, "intel-rapl:0")->component, gt::Component::cpu);
  EXPECT_EQ(find(p, "intel-rapl:0")->device, "package-0");
  EXPECT_EQ(find(p, "intel-rapl:1")->device, "package-1");
  EXPECT_EQ(find(p, "intel-rapl:0:2")->component, gt::Component::ram);
  EXPECT_EQ(find(p, "intel-rapl:0:2")->device, "dram-0");
  EXPECT_EQ(find(p, "intel-rapl:1:0")->device, "dram-1");
  EXPECT_EQ(find(p, "intel-rapl:0:0")->component, std::nullopt);
  EXPECT_NE(find(p, "intel-rapl:0:0")->why_not_counted.find("nested"), std::string::npos);
  EXPECT_EQ(find(p, "intel-rapl:0:1")->component, std::nullopt);
  EXPECT_EQ(find(p, "intel-rapl:2")->component, std::nullopt);
  EXPECT_NE(find(p, "intel-rapl:2")->why_not_counted.find("platform"), std::string::npos);
  EXPECT_EQ(find(p, "intel-rapl-mmio:0")->component, std::nullopt);
  EXPECT_TRUE(p.has(gt::Component::cpu));
  EXPECT_TRUE(p.has(gt::Component::ram));
}

TEST(Rapl, FlatSymlinkLayoutIsDeduplicated) {
  TempDir t;
  two_socket_tree(t);
  TempDir flat;
  for (const char* id : {"intel-rapl:0", "intel-rapl:1", "intel-rapl:2"})
    std::filesystem::create_directory_symlink(t / (std::string("intel-rapl/") + id), flat / id);
  std::filesystem::create_directory_symlink(t / "intel-rapl/intel-rapl:0/intel-rapl:0:2",
                                            flat / "intel-rapl:0:2");
  ScopedEnv root("GREENTRAIN_POWERCAP_ROOT", flat.path());
  RaplProbe p = probe_rapl();
  int cpu = 0, ram = 0;
  for (const auto& z : p.zones) {
    cpu += z.component == gt::Component::cpu;
    ram += z.component == gt::Component::ram;
  }
  EXPECT_EQ(cpu, 2);
  EXPECT_EQ(ram, 2);
}

TEST(Rapl, CounterWrapAroundUsesMaxRange) {
  TempDir t;
  const std::string z = t / "intel-rapl:0";
  zone(z, "package-0", 900000, 1000000);  // 0.9 J of a 1 J range
  ScopedEnv root("GREENTRAIN_POWERCAP_ROOT", t.path());
  RaplProbe p = probe_rapl();
  ASSERT_EQ(p.zones.size(), 1u);
  EXPECT_DOUBLE_EQ(p.zones[0].max_range_j, 1.0);
  auto m = make_rapl_meter(p.zones[0]);
  m->begin();
  EXPECT_DOUBLE_EQ(*m->read().energy_j, 0.0);
  write_file(z + "/energy_uj", "950000\n");
  EXPECT_NEAR(*m->read().energy_j, 0.05, 1e-12);
  write_file(z + "/energy_uj", "100000\n");  // wrapped: 0.05 J to the top, then 0.1 J
  EXPECT_NEAR(*m->read().energy_j, 0.2, 1e-12);
  EXPECT_EQ(m->model(), "rapl package-0");
  EXPECT_EQ(m->source(), gt::Source::measured);
}

TEST(Rapl, UnreadableEnergyFileGivesHintAndNoCounter) {
  TempDir t;
  two_socket_tree(t);
  ScopedEnv root("GREENTRAIN_POWERCAP_ROOT", t.path());
  FileReader deny = [](const std::string& path) -> FileRead {
    if (path.find("energy_uj") != std::string::npos) return {std::nullopt, EACCES};
    return read_text_file(path);
  };
  RaplProbe p = probe_rapl(deny);
  EXPECT_FALSE(p.has(gt::Component::cpu));
  EXPECT_FALSE(p.has(gt::Component::ram));
  EXPECT_NE(p.permission_hint.find("root-only since Linux 5.10"), std::string::npos);
  EXPECT_NE(p.permission_hint.find("chmod a+r"), std::string::npos);
  EXPECT_NE(p.permission_hint.find("CPU estimate"), std::string::npos);
  EXPECT_NE(find(p, "intel-rapl:0")->why_not_counted.find("Permission denied"), std::string::npos);
}

TEST(Rapl, MeterSkipsAFailedReadWithoutLosingEnergy) {
  TempDir t;
  const std::string z = t / "intel-rapl:0";
  zone(z, "package-0", 1000000);
  ScopedEnv root("GREENTRAIN_POWERCAP_ROOT", t.path());
  RaplProbe p = probe_rapl();
  bool fail = false;
  auto m = make_rapl_meter(p.zones[0], [&fail](const std::string& path) -> FileRead {
    if (fail) return {std::nullopt, EIO};
    return read_text_file(path);
  });
  m->begin();
  m->read();
  fail = true;
  EXPECT_FALSE(m->read().energy_j.has_value());
  fail = false;
  write_file(z + "/energy_uj", "3000000\n");
  EXPECT_NEAR(*m->read().energy_j, 2.0, 1e-12);
}

TEST(Rapl, SessionUsesRaplForCpuAndRam) {
  TempDir t;
  const std::string pkg = t / "intel-rapl:0";
  zone(pkg, "package-0", 0);
  zone(pkg + "/intel-rapl:0:0", "dram", 0);
  zone(pkg + "/intel-rapl:0:1", "core", 0);
  ScopedEnv root("GREENTRAIN_POWERCAP_ROOT", t.path());
  ScopedEnv nvml("GREENTRAIN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1");
  MeterOptions o;
  o.interval_ms = 20;
  Session s(o);
  s.start();
  // 30 J on the package, 6 J on DRAM, 20 J on the (nested, uncounted) core zone.
  for (int i = 1; i <= 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
    write_file(pkg + "/energy_uj", std::to_string(i * 3000000) + "\n");
    write_file(pkg + "/intel-rapl:0:0/energy_uj", std::to_string(i * 600000) + "\n");
    write_file(pkg + "/intel-rapl:0:1/energy_uj", std::to_string(i * 2000000) + "\n");
  }
  Summary sum = s.stop();
  EXPECT_NEAR(sum.component_energy_j(gt::Component::cpu), 30.0, 1e-9);
  EXPECT_NEAR(sum.component_energy_j(gt::Component::ram), 6.0, 1e-9);
  EXPECT_NEAR(sum.energy_j, 36.0, 1e-9);
  for (const auto& c : sum.components) EXPECT_EQ(c.source, gt::Source::measured) << c.component;
}

}  // namespace
}  // namespace gt::energy
