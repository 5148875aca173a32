// attribute(): the process-tree rules per component and mode (estimated CPU: TDP x tree
// CPU-seconds / logical CPUs; RAPL CPU: share of busy CPU time; RAM: resident-memory share;
// GPU and wall untouched), recompute_totals, parse_attribution, and read_group_usage and
// read_tree_usage over a fake /proc (only the group's processes count, or the root and its
// descendants without the excluded subtree; comm with spaces and parentheses parsed).
#include "energy/attribution.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/error.h"
#include "common/scoped_env.h"
#include "common/temp_dir.h"

namespace gt::energy {
namespace {

ComponentEnergy comp(const std::string& component, const std::string& source, double e) {
  ComponentEnergy c;
  c.component = *parse_component(component);
  c.device = component == "gpu" ? "0" : "x";
  c.source = *parse_source(source);
  c.model = "m";
  c.energy_j = e;
  c.idle_power_w = 1.0;
  c.net_energy_j = e - 10;
  return c;
}

TEST(Attribution, RulesPerComponentAndMode) {
  const MachineFacts facts{16, 100.0e9, 160.0};
  const TreeShare share{2.0, 8.0, 25.0e9};  // 2 CPU-s of 8 busy; 25 % of RAM
  std::vector<ComponentEnergy> v = {comp("gpu", "measured", 300), comp("cpu", "estimated", 90),
                                    comp("ram", "estimated", 40), comp("wall", "measured", 700)};
  attribute(v, 10.0, share, facts, Attribution::automatic);
  EXPECT_EQ(v[0].attribution, gt::Scope::machine);
  EXPECT_DOUBLE_EQ(v[0].energy_j, 300);
  EXPECT_EQ(v[1].attribution, gt::Scope::process);
  EXPECT_DOUBLE_EQ(v[1].energy_j, 160.0 * 2.0 / 16);  // 20 J
  EXPECT_DOUBLE_EQ(*v[1].machine_energy_j, 90);
  EXPECT_DOUBLE_EQ(*v[1].net_energy_j, 20);
  EXPECT_FALSE(v[1].idle_power_w);
  EXPECT_DOUBLE_EQ(v[1].avg_power_w, 2.0);
  EXPECT_DOUBLE_EQ(v[2].energy_j, 10);  // 25 % of 40 J
  EXPECT_EQ(v[3].attribution, gt::Scope::machine);

  // RAPL (measured) stays the machine's under auto, and is split by busy share under process.
  std::vector<ComponentEnergy> rapl = {comp("cpu", "measured", 80), comp("ram", "measured", 20)};
  attribute(rapl, 10.0, share, facts, Attribution::automatic);
  EXPECT_EQ(rapl[0].attribution, gt::Scope::machine);
  attribute(rapl, 10.0, share, facts, Attribution::process);
  EXPECT_DOUBLE_EQ(rapl[0].energy_j, 80 * 2.0 / 8.0);
  EXPECT_DOUBLE_EQ(rapl[1].energy_j, 5);
  // machine mode leaves estimates alone.
  std::vector<ComponentEnergy> m = {comp("cpu", "estimated", 90)};
  attribute(m, 10.0, share, facts, Attribution::machine);
  EXPECT_EQ(m[0].attribution, gt::Scope::machine);
  EXPECT_DOUBLE_EQ(m[0].energy_j, 90);
  // No usage data: a note, and the machine's figure.
  std::vector<ComponentEnergy> none = {comp("ram", "estimated", 40)};
  auto notes = attribute(none, 10.0, TreeShare{}, MachineFacts{}, Attribution::process);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(none[0].attribution, gt::Scope::machine);

  double total = 0;
  std::optional<double> net, wall;
  recompute_totals(v, total, net, wall);
  EXPECT_DOUBLE_EQ(total, 300 + 20 + 10);
  EXPECT_DOUBLE_EQ(*net, 290 + 20 + 10);
  EXPECT_DOUBLE_EQ(*wall, 700);
}

// One /proc/<pid>/stat line. Fields after comm: state ppid pgrp ... utime(14) stime(15)
// cutime(16) cstime(17) ... rss(24).
std::string stat_line(int pid, const std::string& comm, int pgrp, int ut, int st, int cut, int cst,
                      int rss, int ppid = 1) {
  std::string s = std::to_string(pid) + " (" + comm + ") S " + std::to_string(ppid) + " " +
                  std::to_string(pgrp);
  s += " 0 0 0 0 0 0 0 0 " + std::to_string(ut) + " " + std::to_string(st) + " " +
       std::to_string(cut) + " " + std::to_string(cst) + " 20 0 1 0 100 1000 " +
       std::to_string(rss) + " 0\n";
  return s;
}

TEST(Attribution, ParseAndGroupUsage) {
  EXPECT_EQ(parse_attribution(""), Attribution::automatic);
  EXPECT_EQ(parse_attribution("process"), Attribution::process);
  EXPECT_THROW(parse_attribution("all"), UsageError);
  gt::testing::TempDir t;
  auto stat = [](int pid, const std::string& comm, int pgrp, int ut, int st, int cut, int cst,
                 int rss) { return stat_line(pid, comm, pgrp, ut, st, cut, cst, rss); };
  gt::testing::write_file(t.path() / "100" / "stat", stat(100, "sh", 100, 10, 5, 20, 5, 50));
  gt::testing::write_file(t.path() / "101" / "stat", stat(101, "py (x) y", 100, 100, 0, 0, 0, 70));
  gt::testing::write_file(t.path() / "200" / "stat", stat(200, "hog", 200, 9999, 0, 0, 0, 99));
  gt::testing::ScopedEnv root("GREENTRAIN_PROC_ROOT", t.str());
  const TreeUsage u = read_group_usage(100);
  EXPECT_EQ(u.processes, 2);
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  EXPECT_NEAR(u.cpu_s, (10 + 5 + 20 + 5 + 100) / tick, 1e-9);
  EXPECT_NEAR(u.rss_bytes, 120.0 * static_cast<double>(sysconf(_SC_PAGESIZE)), 1e-6);
  EXPECT_EQ(read_group_usage(0).processes, 0);
}

// A Python program (10) with a worker (11) and its child (12), metered by its own child (13, the
// meter, which runs a wall-meter command 14), beside a CPU hog (20) in the same process group:
// the tree follows parent links only, and leaves greentrain meters out.
TEST(Attribution, TreeUsageFollowsParentLinks) {
  gt::testing::TempDir t;
  auto put = [&](int pid, int ppid, int cpu_ticks, int rss) {
    gt::testing::write_file(
        t.path() / std::to_string(pid) / "stat",
        stat_line(pid, "p (" + std::to_string(pid) + ")", 10, cpu_ticks, 0, 0, 0, rss, ppid));
  };
  put(10, 1, 100, 1000);
  put(11, 10, 200, 100);
  put(12, 11, 50, 10);
  put(13, 10, 7000, 5);
  put(14, 13, 9000, 5);
  put(20, 1, 99999, 7);
  // Two more children of the program named greentrain: another meter (not the program's work)
  // and a training run it started (the program's work).
  gt::testing::write_file(t.path() / "15" / "stat",
                          stat_line(15, "greentrain", 10, 5000, 0, 0, 0, 5, 10));
  gt::testing::write_file(t.path() / "15" / "cmdline",
                          std::string("greentrain\0meter\0--serve\0--gpus\0none\0", 37));
  gt::testing::write_file(t.path() / "16" / "stat",
                          stat_line(16, "greentrain", 10, 30, 0, 0, 0, 20, 10));
  gt::testing::write_file(t.path() / "16" / "cmdline", std::string("greentrain\0train\0", 17));
  gt::testing::write_file(t.path() / "30" / "stat", "30 (broken");
  gt::testing::ScopedEnv root("GREENTRAIN_PROC_ROOT", t.str());
  EXPECT_EQ(read_group_usage(10).processes, 8);  // the group holds the hog too
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const TreeUsage u = read_tree_usage(10, 13);
  EXPECT_EQ(u.processes, 4);
  EXPECT_NEAR(u.cpu_s, 380 / tick, 1e-9);
  EXPECT_NEAR(u.rss_bytes, 1130 * page, 1e-6);
  EXPECT_EQ(read_tree_usage(10).processes, 6);  // only the meters by their command line
  EXPECT_EQ(read_tree_usage(11, 13).processes, 2);
  EXPECT_EQ(read_tree_usage(99).processes, 0);  // no such process
  EXPECT_EQ(read_tree_usage(13, 13).processes, 0);
}

// Over time: when the meter (13, with 14 reaped into it) exits, the program reaps it and its
// cutime takes the meter's CPU time in; the reader takes it out again.
TEST(Attribution, TreeUsageReaderKeepsReapedMetersOut) {
  gt::testing::TempDir t;
  auto put = [&](int pid, int ppid, const std::string& comm, int ticks, int cutime) {
    gt::testing::write_file(t.path() / std::to_string(pid) / "stat",
                            stat_line(pid, comm, 10, ticks, 0, cutime, 0, 10, ppid));
  };
  put(10, 1, "python3", 100, 0);
  put(11, 10, "python3", 50, 0);
  put(13, 10, "greentrain", 700, 900);
  gt::testing::write_file(t.path() / "13" / "cmdline",
                          std::string("greentrain\0meter\0--serve\0", 25));
  gt::testing::ScopedEnv root("GREENTRAIN_PROC_ROOT", t.str());
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  TreeUsageReader reader(10, 0);
  EXPECT_NEAR(reader.read().cpu_s, 150 / tick, 1e-9);
  put(10, 1, "python3", 120, 0);  // the program works on
  put(13, 10, "greentrain", 710, 900);
  EXPECT_NEAR(reader.read().cpu_s, 170 / tick, 1e-9);
  std::filesystem::remove_all(t.path() / "13");  // reaped: 1610 ticks into the program's cutime
  put(10, 1, "python3", 130, 1615);
  EXPECT_NEAR(reader.read().cpu_s, (130 + 50 + 5) / tick, 1e-9);
  EXPECT_NEAR(read_tree_usage(10, 0).cpu_s, (130 + 1615 + 50) / tick, 1e-9);  // without memory
}

}  // namespace
}  // namespace gt::energy
