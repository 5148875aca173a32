// Process-tree attribution of CPU and RAM energy (see attribution.h).
#include "energy/attribution.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "common/error.h"
#include "energy/estimate.h"

namespace gt::energy {

Attribution parse_attribution(const std::string& text) {
  if (text.empty() || text == "auto") return Attribution::automatic;
  if (text == "process") return Attribution::process;
  if (text == "machine") return Attribution::machine;
  throw UsageError(
      fmt::format("--attribution '{}': expected process, machine or auto", text.substr(0, 40)));
}

namespace {
double ticks_per_s() {
  const long t = sysconf(_SC_CLK_TCK);
  return t > 0 ? static_cast<double>(t) : 100.0;
}
}  // namespace

namespace {

// One process of /proc: its parent, its process group and its usage.
struct ProcEntry {
  int pid = 0, ppid = 0, pgrp = 0;
  double cpu_s = 0, rss_bytes = 0;
  std::string comm;
};

// Every process of /proc whose stat line could be read and parsed.
std::vector<ProcEntry> read_processes(const FileReader& reader) {
  std::vector<ProcEntry> out;
  std::error_code ec;
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096);
  for (const auto& e : std::filesystem::directory_iterator(proc_root(), ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    FileRead f = reader(e.path().string() + "/stat");
    if (!f.text) continue;
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses; fields after
    // the last ')' are fixed: state(3) ppid(4) pgrp(5) ... utime(14) stime(15) cutime(16)
    // cstime(17) ... rss(24).
    const auto open = f.text->find('(');
    const auto close = f.text->rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    std::istringstream in(f.text->substr(close + 1));
    std::vector<std::string> field(23);
    for (auto& x : field)
      if (!(in >> x)) break;
    if (field[22].empty()) continue;
    try {
      ProcEntry p;
      p.pid = std::stoi(pid);
      p.ppid = std::stoi(field[1]);
      p.pgrp = std::stoi(field[2]);
      const double ticks =
          std::stod(field[11]) + std::stod(field[12]) + std::stod(field[13]) + std::stod(field[14]);
      p.cpu_s = ticks / ticks_per_s();
      p.rss_bytes = std::max(0.0, std::stod(field[21])) * page;
      p.comm = f.text->substr(open + 1, close - open - 1);
      out.push_back(p);
    } catch (const std::exception&) {
      continue;  // a malformed line: that process is skipped
    }
  }
  return out;
}

void add_usage(TreeUsage& u, const ProcEntry& p) {
  u.cpu_s += p.cpu_s;
  u.rss_bytes += p.rss_bytes;
  ++u.processes;
}

}  // namespace

TreeUsage read_group_usage(int group, const FileReader& reader) {
  TreeUsage u;
  if (group <= 0) return u;
  for (const auto& p : read_processes(reader))
    if (p.pgrp == group) add_usage(u, p);
  return u;
}

// A greentrain meter serving windows (`greentrain meter --serve`): greentrain's overhead, never
// the work of the program it meters. Its command line is read only for processes named
// greentrain.
bool is_meter(const ProcEntry& p, const FileReader& reader) {
  if (p.comm != "greentrain") return false;
  const FileRead f = reader(proc_root() + "/" + std::to_string(p.pid) + "/cmdline");
  return f.text && f.text->find(std::string("meter\0--serve", 13)) != std::string::npos;
}

namespace {

// The tree of `root` without `exclude` and the meters; the CPU time of each process left out
// whose parent is in the tree goes to `left_out` (by pid), when given.
TreeUsage scan_tree(int root, int exclude, const FileReader& reader,
                    std::map<int, double>* left_out) {
  TreeUsage u;
  if (root <= 0 || root == exclude) return u;
  const std::vector<ProcEntry> procs = read_processes(reader);
  std::map<int, std::vector<const ProcEntry*>> children;
  const ProcEntry* top = nullptr;
  for (const auto& p : procs) {
    children[p.ppid].push_back(&p);
    if (p.pid == root) top = &p;
  }
  if (!top) return u;
  std::vector<const ProcEntry*> todo{top};
  while (!todo.empty()) {
    const ProcEntry* p = todo.back();
    todo.pop_back();
    add_usage(u, *p);
    for (const ProcEntry* c : children[p->pid]) {
      if (c->pid == p->pid) continue;
      if (c->pid != exclude && !is_meter(*c, reader))
        todo.push_back(c);
      else if (left_out)
        (*left_out)[c->pid] = c->cpu_s;
    }
  }
  return u;
}

}  // namespace

TreeUsage read_tree_usage(int root, int exclude, const FileReader& reader) {
  return scan_tree(root, exclude, reader, nullptr);
}

TreeUsageReader::TreeUsageReader(int root, int exclude, FileReader reader)
    : root_(root), exclude_(exclude), reader_(std::move(reader)) {}

TreeUsage TreeUsageReader::read() {
  std::map<int, double> left_out;
  TreeUsage u = scan_tree(root_, exclude_, reader_, &left_out);
  // A process left out that is gone has been reaped by its parent in the tree, whose cutime
  // and cstime now hold its CPU time (as last seen): taken out again.
  for (const auto& [pid, cpu_s] : left_out_)
    if (!left_out.count(pid)) reaped_left_out_s_ += cpu_s;
  left_out_ = std::move(left_out);
  u.cpu_s = std::max(0.0, u.cpu_s - reaped_left_out_s_);
  return u;
}

std::optional<MachineCpu> read_machine_cpu(const FileReader& reader) {
  FileRead f = reader(proc_root() + "/stat");
  if (!f.text) return std::nullopt;
  auto t = parse_proc_stat(*f.text);
  if (!t) return std::nullopt;
  return MachineCpu{t->busy / ticks_per_s(), t->total / ticks_per_s()};
}

std::vector<std::string> attribute(std::vector<ComponentEnergy>& components, double duration_s,
                                   const TreeShare& share, const MachineFacts& facts,
                                   Attribution mode) {
  std::vector<std::string> notes;
  for (auto& c : components) {
    if (c.component != Component::cpu && c.component != Component::ram) continue;
    const bool process = mode == Attribution::process ||
                         (mode == Attribution::automatic && c.source == Source::estimated);
    if (!process) continue;
    std::optional<double> e;
    std::string how;
    if (c.component == Component::cpu && c.source == Source::estimated && facts.cpu_tdp_w) {
      e = *facts.cpu_tdp_w * share.cpu_s / std::max(1, facts.logical_cpus);
      how = fmt::format("tdp x process-tree CPU-seconds / {} logical CPUs", facts.logical_cpus);
    } else if (c.component == Component::cpu) {
      if (share.machine_busy_s && *share.machine_busy_s > 0) {
        const double f = std::clamp(share.cpu_s / *share.machine_busy_s, 0.0, 1.0);
        e = c.energy_j * f;
        how = fmt::format("x process-tree share of busy CPU time ({:.1f} %)", 100 * f);
      }
    } else if (share.rss_bytes && facts.ram_total_bytes && *facts.ram_total_bytes > 0) {
      const double f = std::clamp(*share.rss_bytes / *facts.ram_total_bytes, 0.0, 1.0);
      e = c.energy_j * f;
      how = fmt::format("x process-tree resident memory share ({:.2f} %)", 100 * f);
    }
    if (!e) {
      notes.push_back(
          fmt::format("{} energy could not be attributed to the process tree (no "
                      "usage data); reported for the whole machine",
                      c.component));
      continue;
    }
    c.machine_energy_j = c.energy_j;
    c.energy_j = *e;
    c.attribution = Scope::process;
    c.model += " " + how;
    c.avg_power_w = duration_s > 0 ? *e / duration_s : 0;
    c.peak_power_w = std::max(c.avg_power_w, 0.0);
    c.idle_power_w.reset();
    c.net_energy_j = *e;
  }
  return notes;
}

void recompute_totals(const std::vector<ComponentEnergy>& components, double& energy_j,
                      std::optional<double>& net_energy_j, std::optional<double>& wall_energy_j) {
  energy_j = 0;
  double net = 0;
  bool all_net = true, any = false;
  wall_energy_j.reset();
  for (const auto& c : components) {
    if (c.component == Component::wall) {
      wall_energy_j = wall_energy_j.value_or(0) + c.energy_j;
      continue;
    }
    any = true;
    energy_j += c.energy_j;
    if (c.net_energy_j)
      net += *c.net_energy_j;
    else
      all_net = false;
  }
  if (any && all_net)
    net_energy_j = net;
  else
    net_energy_j.reset();
}

}  // namespace gt::energy
