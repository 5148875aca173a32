// Attribution of CPU and RAM energy to the measured process tree, beside the whole machine's
// figure. A run's process tree is its process group (run/process.h puts every run in one), or
// a process and its descendants (a program metered from its own child); its CPU time is the sum
// of utime+stime+cutime+cstime over the tree's processes in /proc/<pid>/stat (cutime/cstime
// hold the children it has reaped), or, for a finished run, the rusage of the reaped tree.
// Rules, per component (see docs/method.md):
//   cpu, estimated (tdp-linear):  TDP × tree CPU-seconds / logical CPUs, i.e. the model's power
//        at the tree's own utilisation, with no share of the idle floor;
//   cpu, measured (RAPL package): the package energy × tree CPU time / machine busy CPU time;
//   ram (estimate or RAPL dram):  the energy × the tree's mean resident memory / MemTotal;
//   gpu, wall:                    always the machine (the whole device).
// Attribution::automatic means process for estimates and machine for measured counters. A
// process-attributed figure carries attribution "process", keeps the machine's figure in
// machine_energy_j, and is its own net energy (it has no idle part).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "energy/session.h"
#include "energy/sysfs.h"

namespace gt::energy {

enum class Attribution { automatic, process, machine };
Attribution parse_attribution(const std::string& text);  // "" | auto | process | machine

struct TreeUsage {
  double cpu_s = 0;      // CPU time of the group's processes (and what they reaped)
  double rss_bytes = 0;  // resident memory of the group's live processes
  int processes = 0;
};
// Sums /proc/<pid>/stat of every process whose process group is `group`
// (GREENTRAIN_PROC_ROOT overrides /proc).
TreeUsage read_group_usage(int group, const FileReader& reader = read_text_file);
// Sums the same over the process `root` and its descendants (followed through the ppid field of
// /proc/<pid>/stat), leaving out the process `exclude` and every greentrain meter (a process
// named greentrain running `meter --serve`), each with its descendants: the tree of a program
// that meters itself from a child (`meter --serve --attribution process`), without the meters.
// A process that has exited and been reaped counts in its parent's cutime/cstime.
TreeUsage read_tree_usage(int root, int exclude = 0, const FileReader& reader = read_text_file);

// read_tree_usage over time: when a process left out exits, its parent in the tree reaps it and
// takes its CPU time into cutime/cstime, so the tree would gain a meter's whole CPU time at once
// (another Meter of the same program that closes). The reader keeps each left-out process's CPU
// time as last seen and subtracts it from the tree once the process is gone.
class TreeUsageReader {
 public:
  TreeUsageReader(int root, int exclude, FileReader reader = read_text_file);
  TreeUsage read();

 private:
  int root_, exclude_;
  FileReader reader_;
  std::map<int, double> left_out_;  // pid -> CPU seconds, at the last read
  double reaped_left_out_s_ = 0;
};

struct MachineCpu {
  double busy_s = 0, total_s = 0;  // summed over every CPU, from /proc/stat's "cpu" line
};
std::optional<MachineCpu> read_machine_cpu(const FileReader& reader = read_text_file);

// What is known about the tree over one window.
struct TreeShare {
  double cpu_s = 0;                      // tree CPU time in the window
  std::optional<double> machine_busy_s;  // the machine's busy CPU time in the window
  std::optional<double> rss_bytes;       // the tree's mean resident memory
};

struct MachineFacts {
  int logical_cpus = 1;
  std::optional<double> ram_total_bytes;
  std::optional<double> cpu_tdp_w;  // of the CPU estimate meter, when the CPU is estimated
};

// Rewrites the cpu and ram entries of `components` (energies over `duration_s`) to the tree's
// share where the mode asks for it; returns notes on what could not be attributed.
std::vector<std::string> attribute(std::vector<ComponentEnergy>& components, double duration_s,
                                   const TreeShare& share, const MachineFacts& facts,
                                   Attribution mode);

// Recomputes energy_j and net_energy_j (gpu + cpu + ram; wall apart) from the components.
void recompute_totals(const std::vector<ComponentEnergy>& components, double& energy_j,
                      std::optional<double>& net_energy_j, std::optional<double>& wall_energy_j);

}  // namespace gt::energy
