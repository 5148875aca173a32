// CPU and RAM estimates with fake /proc files: /proc/stat utilisation, the TDP table, sockets,
// the 10 W/core fallback, --cpu-tdp, the linear model, and the per-DIMM RAM model (EDAC count or
// the size heuristic).
#include "energy/estimate.h"

#include <gtest/gtest.h>

#include "common/scoped_env.h"
#include "common/temp_dir.h"
#include "energy/session.h"

namespace gt::energy {
namespace {
using testing::ScopedEnv;
using testing::TempDir;
using testing::write_file;

std::string cpuinfo(const std::string& model, int sockets, int cores, bool vm = false) {
  std::string out;
  int n = 0;
  for (int s = 0; s < sockets; ++s)
    for (int c = 0; c < cores; ++c)
      for (int ht = 0; ht < 2; ++ht)
        out += "processor\t: " + std::to_string(n++) + "\nmodel name\t: " + model +
               "\nphysical id\t: " + std::to_string(s) + "\ncore id\t\t: " + std::to_string(c) +
               "\nflags\t\t: fpu sse2" + (vm ? " hypervisor" : "") + " avx2\n\n";
  return out;
}

TEST(Estimate, ParseProcStat) {
  auto t = parse_proc_stat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(t);
  EXPECT_DOUBLE_EQ(t->total, 1000);
  EXPECT_DOUBLE_EQ(t->busy, 150);
  EXPECT_FALSE(parse_proc_stat("intr 1 2 3"));
  EXPECT_FALSE(parse_proc_stat("cpu 1 2"));
}

TEST(Estimate, CpuInfoAndTdpTableWithSockets) {
  TempDir t;
  write_file(t / "cpuinfo", cpuinfo("AMD EPYC 7763 64-Core Processor", 2, 4, true));
  ScopedEnv proc("GREENTRAIN_PROC_ROOT", t.path());
  CpuInfo info = read_cpu_info();
  EXPECT_EQ(info.sockets, 2);
  EXPECT_EQ(info.physical_cores, 8);
  EXPECT_EQ(info.logical_cpus, 16);
  EXPECT_TRUE(info.hypervisor);
  TdpChoice tdp = choose_tdp(info, std::nullopt);
  EXPECT_DOUBLE_EQ(tdp.watts, 2 * 280.0);  // data/cpu_tdp.csv: EPYC 7763 = 280 W per socket
  EXPECT_NE(tdp.how.find("EPYC 7763"), std::string::npos);
  EXPECT_DOUBLE_EQ(choose_tdp(info, 95.0).watts, 95.0);
  EXPECT_EQ(choose_tdp(info, 95.0).how, "--cpu-tdp");
}

TEST(Estimate, UnknownModelFallsBackToTenWattsPerCore) {
  TempDir t;
  write_file(t / "cpuinfo", cpuinfo("Imaginary CPU 9000", 1, 6));
  ScopedEnv proc("GREENTRAIN_PROC_ROOT", t.path());
  CpuInfo info = read_cpu_info();
  EXPECT_FALSE(info.hypervisor);
  TdpChoice tdp = choose_tdp(info, std::nullopt);
  EXPECT_DOUBLE_EQ(tdp.watts, 60.0);
  EXPECT_NE(tdp.how.find("6 cores"), std::string::npos);
}

TEST(Estimate, LinearModelFollowsUtilisation) {
  TempDir t;
  ScopedEnv proc("GREENTRAIN_PROC_ROOT", t.path());
  int call = 0;
  // Between the two snapshots: 300 busy jiffies of 400 → utilisation 0.75.
  FileReader reader = [&call](const std::string&) -> FileRead {
    return {++call == 1 ? "cpu 100 0 100 700 100 0 0 0\n" : "cpu 300 0 200 800 100 0 0 0\n", 0};
  };
  auto m = make_cpu_estimate_meter({100.0, "--cpu-tdp"}, reader);
  m->begin();
  EXPECT_FALSE(m->read().power_w.has_value());
  Reading r = m->read();
  ASSERT_TRUE(r.power_w);
  EXPECT_TRUE(r.power_is_average);
  EXPECT_NEAR(*r.power_w, 100.0 * (0.3 + 0.7 * 0.75), 1e-9);
  EXPECT_NEAR(*r.utilization_pct, 75.0, 1e-9);
  EXPECT_EQ(m->source(), gt::Source::estimated);
  EXPECT_NE(m->model().find("tdp-linear"), std::string::npos);
}

TEST(Estimate, RamFromMeminfo) {
  TempDir t;
  write_file(t / "meminfo", "MemTotal:       16777216 kB\nMemFree:         1000 kB\n");
  ScopedEnv proc("GREENTRAIN_PROC_ROOT", t.path());
  ASSERT_TRUE(installed_ram_gb());
  EXPECT_DOUBLE_EQ(*installed_ram_gb(), 16.0);
  TempDir empty;
  ScopedEnv proc2("GREENTRAIN_PROC_ROOT", empty.path());
  EXPECT_FALSE(installed_ram_gb());
}

TEST(Estimate, SessionWithoutRaplEstimatesCpuAndRam) {
  TempDir t;
  write_file(t / "cpuinfo", cpuinfo("Imaginary CPU 9000", 1, 2));
  write_file(t / "meminfo", "MemTotal:       8388608 kB\n");
  write_file(t / "stat", "cpu 100 0 100 800 0 0 0 0\n");
  ScopedEnv proc("GREENTRAIN_PROC_ROOT", t.path());
  ScopedEnv rapl("GREENTRAIN_POWERCAP_ROOT", t / "none");
  ScopedEnv nvml("GREENTRAIN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1");
  ScopedEnv edac("GREENTRAIN_EDAC_ROOT", t / "no-edac");
  MeterOptions o;
  o.interval_ms = 20;
  Session s(o);
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Summary sum = s.stop();
  // /proc/stat never changes here: utilisation 0 → idle share of 20 W; RAM: 8 GB, no EDAC →
  // the heuristic's 2 DIMMs x 5 W.
  for (const auto& c : sum.components) {
    EXPECT_EQ(c.source, gt::Source::estimated);
    if (c.component == gt::Component::cpu) {
      EXPECT_NEAR(c.avg_power_w, 0.3 * 20, 0.3 * 20 * 0.2);
    }
    if (c.component == gt::Component::ram) {
      EXPECT_NEAR(c.avg_power_w, 10.0, 1e-9);
      EXPECT_NE(c.model.find("heuristic for 8 GB"), std::string::npos) << c.model;
    }
  }
  EXPECT_NEAR(sum.component_energy_j(gt::Component::ram), 10.0 * sum.duration_s, 1e-9);
  MeterOptions o2;
  o2.ram_watts = 5;
  o2.cpu_tdp_w = 50;
  Session s2(o2);
  auto env = s2.environment();
  bool ram_flag = false;
  for (const auto& m : env["meters"]) ram_flag |= m["model"] == "--ram-watts";
  EXPECT_TRUE(ram_flag);
}

}  // namespace
}  // namespace gt::energy

namespace gt::energy {
namespace {
TEST(Estimate, DimmCountFromEdacElseHeuristic) {
  TempDir t;
  // Two memory controllers, three populated DIMMs and one empty slot.
  write_file(t / "mc/mc0/dimm0/size", "16384\n");
  write_file(t / "mc/mc0/dimm1/size", "16384\n");
  write_file(t / "mc/mc0/dimm2/size", "0\n");
  write_file(t / "mc/mc1/rank0/size", "32768\n");
  {
    ScopedEnv edac("GREENTRAIN_EDAC_ROOT", t / "mc");
    const DimmCount d = count_dimms(64);
    EXPECT_EQ(d.dimms, 3);
    EXPECT_EQ(d.how, "EDAC: 3 populated DIMMs");
  }
  ScopedEnv none("GREENTRAIN_EDAC_ROOT", t / "none");
  EXPECT_EQ(count_dimms(126).dimms, 8);
  // The heuristic's buckets.
  EXPECT_EQ(dimms_for_gb(1.5), 1);
  EXPECT_EQ(dimms_for_gb(7.7), 2);
  EXPECT_EQ(dimms_for_gb(31.3), 4);
  EXPECT_EQ(dimms_for_gb(48), 4);
  EXPECT_EQ(dimms_for_gb(126), 8);
  EXPECT_EQ(dimms_for_gb(512), 16);
  EXPECT_EQ(dimms_for_gb(4096), 32);
}
}  // namespace
}  // namespace gt::energy
