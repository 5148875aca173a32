// `greentrain measure [options] -- CMD [ARGS...]`: runs CMD as a child process, meters it with
// an energy Session, and prints (to stderr, like time(1), so CMD's stdout stays clean) a table
// per component with source, energy, average/peak power and net of idle, plus duration, total
// and CO2e. --json writes the summary, --trace every sample. SIGINT/SIGTERM/SIGHUP/SIGQUIT sent
// to greentrain are forwarded to the child (a terminal's Ctrl-C already reaches both, so it
// is not sent twice); the summary is still written and marked interrupted. greentrain exits
// with CMD's exit code (128+signal if it was killed), 127 if CMD cannot be started.
#include <fmt/core.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "carbon/carbon.h"
#include "cli/verbs.h"
#include "common/error.h"
#include "cli/meter_options.h"
#include "energy/session.h"
#include "energy/summary_table.h"

extern char** environ;

namespace gt::cli {
namespace {

struct MeasureOptions {
  energy::MeterOptions meters;
  carbon::CarbonOptions carbon;
  std::string json_path, trace_path;
  std::vector<std::string> command;
};

// Signal forwarding. A signal handler can reach nothing but process-wide state, so these two
// atomics are the one exception to "no global mutable state"; they are used only while
// `measure` waits for its child. (Blocking the signals and waiting for them in a thread does
// not work here: libraries such as OpenBLAS start threads at load time that do not block them.)
std::atomic<pid_t> g_child{0};
std::atomic<int> g_signal{0};

void on_signal(int sig, siginfo_t* info, void*) {
  g_signal.store(sig);
  // SI_KERNEL: a terminal's Ctrl-C went to the whole foreground group; the child has it too.
  if (info && info->si_code == SI_KERNEL) return;
  const pid_t child = g_child.load();
  if (child > 0) kill(child, sig);
}

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

class SignalForwarder {
 public:
  SignalForwarder() {
    g_child = 0;
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kForwarded); ++i) sigaction(kForwarded[i], &sa, &old_[i]);
  }
  ~SignalForwarder() {
    for (size_t i = 0; i < std::size(kForwarded); ++i) sigaction(kForwarded[i], &old_[i], nullptr);
    g_child = 0;
  }
  void child_started(pid_t child) {
    g_child = child;
    if (int sig = g_signal.load()) kill(child, sig);  // arrived while the child was starting
  }
  bool interrupted() const { return g_signal.load() != 0; }

 private:
  struct sigaction old_[std::size(kForwarded)]{};
};

nlohmann::json measure_json(const energy::Summary& s, const carbon::Intensity& intensity,
                            double pue) {
  nlohmann::json j = s.to_json();
  j["co2e_g"] = carbon::co2e_g(s.energy_j, intensity, pue);
  j["wall_co2e_g"] =
      s.wall_energy_j ? nlohmann::json(carbon::co2e_g(*s.wall_energy_j, intensity, pue)) : nullptr;
  j["carbon"] = {{"intensity_g_per_kwh", intensity.g_per_kwh},
                 {"label", intensity.label},
                 {"source", intensity.source},
                 {"year", intensity.year},
                 {"pue", pue}};
  return j;
}

void print_measure_table(const std::vector<std::string>& command, int exit_code,
                         const energy::Summary& s, const carbon::Intensity& intensity, double pue) {
  std::string cmd;
  for (const auto& a : command) cmd += (cmd.empty() ? "" : " ") + a;
  fmt::print(stderr, "\ngreentrain measure: {} (exit {})\n{}", cmd, exit_code,
             energy::format_summary_table(s));
  fmt::print(stderr, "CO2e {:.4g} g{} ({}, {:g} gCO2e/kWh, {} {}, PUE {:g})\n",
             carbon::co2e_g(s.energy_j, intensity, pue),
             s.wall_energy_j ? fmt::format(" (wall: {:.4g} g)",
                                           carbon::co2e_g(*s.wall_energy_j, intensity, pue))
                             : "",
             intensity.label, intensity.g_per_kwh, intensity.source, intensity.year, pue);
}

int run_measure(const MeasureOptions& o) {
  const carbon::Intensity intensity = carbon::resolve(o.carbon);  // usage errors first
  energy::MeterOptions meter_opts = o.meters;
  meter_opts.keep_samples = !o.trace_path.empty() || meter_opts.keep_samples;
  energy::Session session(meter_opts);
  for (const auto& note : session.environment()["notes"])
    fmt::print(stderr, "greentrain: {}\n", note.get<std::string>());
  if (o.meters.idle_s > 0) {
    fmt::print(stderr, "greentrain: measuring the idle baseline for {:g} s...\n", o.meters.idle_s);
    session.measure_idle(o.meters.idle_s);
  }

  SignalForwarder signals;
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : kForwarded) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  session.start();
  pid_t child = 0;
  const int rc = posix_spawnp(&child, argv[0], nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    session.stop();
    fmt::print(stderr, "greentrain: cannot start '{}': {}\n", o.command[0], std::strerror(rc));
    return 127;
  }
  signals.child_started(child);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (signals.interrupted()) session.mark_interrupted();
  energy::Summary summary = session.stop();
  const int exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
                        : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                              : 1;
  if (WIFSIGNALED(status))
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGKILL})
      if (WTERMSIG(status) == sig) summary.interrupted = true;

  nlohmann::json j = measure_json(summary, intensity, o.carbon.pue);
  j["command"] = o.command;
  j["exit_code"] = exit_code;
  j["environment"] = session.environment();
  print_measure_table(o.command, exit_code, summary, intensity, o.carbon.pue);
  if (!o.json_path.empty()) {
    std::ofstream out(o.json_path);
    if (!out) throw Error(fmt::format("--json {}: cannot open for writing", o.json_path));
    out << j.dump(2) << "\n";
  }
  if (!o.trace_path.empty()) energy::write_trace_csv(summary, o.trace_path);
  return exit_code;
}

}  // namespace

void add_measure(CLI::App& app, Action& run) {
  auto opts = std::make_shared<MeasureOptions>();
  auto* sub = app.add_subcommand(
      "measure",
      "run a command and meter its energy (GPU, CPU, RAM, wall) and CO2e: measure [OPTIONS] -- "
      "CMD [ARGS...]");
  opts->meters.keep_samples = false;
  add_meter_options(*sub, opts->meters);
  carbon::add_carbon_options(*sub, opts->carbon);
  sub->add_option("--json", opts->json_path, "write the summary as JSON to this file");
  sub->add_option("--trace", opts->trace_path,
                  "write every sample as CSV (t_s,component,device,power_w,energy_j,...)");
  sub->add_option("command", opts->command, "the command to run, after --")->required();
  sub->callback([opts, &run] { run = [opts] { return run_measure(*opts); }; });
}

}  // namespace gt::cli
