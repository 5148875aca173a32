// `greentrain measure [options] -- CMD [ARGS...]`: runs CMD as a metered run (the service of
// run/metered_run.h) and prints (to stderr, like time(1), so CMD's stdout stays clean)
// a table per component with source, attribution, energy, average/peak power and net of idle,
// each phase the command marked (GREENTRAIN_MARK_FD, `greentrain mark`), the metrics it
// reported, duration, total and CO2e; a live line every few seconds while it runs when stderr is a
// terminal. --json writes the result, --trace every sample. CMD runs in its own process group: when
// greentrain's stdin is a terminal, that group gets the terminal (a Ctrl-C reaches CMD as it would
// without greentrain); SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to greentrain are forwarded to the whole
// group; the summary is still written and marked interrupted. A Ctrl-C during the idle
// baseline stops at once, before CMD starts. greentrain exits with CMD's exit code (128+signal
// if it was killed), 127 with one line and no table if CMD cannot be started, 128+signal (130
// SIGINT, 143 SIGTERM) if interrupted before it started. A reader of greentrain's stdout that
// goes away (`measure ... | head -1`) does not stop greentrain: CMD's stdout breaks as it would
// without greentrain, and the summary and --json are still written. --prometheus-push and
// --prometheus-textfile publish the run's energy at the end of each phase and of the run
// (cli/prometheus_options.h).
#include <fmt/core.h>
#include <unistd.h>

#include <fstream>
#include <memory>

#include "carbon/carbon.h"
#include "cli/carbon_options.h"
#include "cli/meter_options.h"
#include "cli/prometheus_options.h"
#include "cli/run_output.h"
#include "cli/verbs.h"
#include "common/error.h"
#include "common/utf8.h"
#include "energy/session.h"
#include "energy/summary_table.h"
#include "run/metered_run.h"
#include "run/process.h"

namespace gt::cli {
namespace {

struct MeasureOptions {
  run::MeteredRunOptions run;
  std::string json_path, trace_path;
  std::vector<std::string> command;
  prometheus::PublisherOptions prometheus;
};

int run_measure(const MeasureOptions& o) {
  check_writable(o.json_path, "--json");  // before any work
  check_writable(o.trace_path, "--trace");
  run::MeteredRunOptions run_opts = o.run;
  run_opts.meters.keep_samples = !o.trace_path.empty();
  run_opts.live = isatty(2) != 0;
  run_opts.scan_stdout = isatty(1) == 0;  // a terminal keeps its line buffering
  run::MeteredRun metered(run_opts);
  RunPublication publication(o.prometheus);  // checks its flags before the command starts
  const nlohmann::json environment = metered.session().environment();
  for (const auto& note : environment["notes"])
    fmt::print(stderr, "greentrain: {}\n", note.get<std::string>());

  run::InterruptGuard guard;
  if (o.run.meters.idle_s > 0) {
    fmt::print(stderr, "greentrain: measuring the idle baseline for {:g} s...\n",
               o.run.meters.idle_s);
    std::string warning;
    if (!metered.measure_idle(
            o.run.meters.idle_s, [&] { return guard.requested(); }, &warning)) {
      fmt::print(stderr, "greentrain: interrupted during the idle baseline; '{}' was not run\n",
                 o.command[0]);
      return 128 + guard.signal();
    }
    if (!warning.empty()) fmt::print(stderr, "greentrain: {}\n", warning);
  }

  run::ChildSpec spec;
  spec.argv = o.command;
  spec.inherit_stdin = true;
  spec.take_terminal = true;
  spec.kill_after_s = 0;  // a forwarded signal is the command's to handle
  run::MeteredResult r = metered.run(
      spec, [&](int, double) { return guard.signal(); }, publication.observer());
  // The child already said why on stderr, in one line; a program that never ran has no energy.
  if (!r.child.started) return 127;
  publication.finished(r);

  nlohmann::json j = r.to_json(metered.intensity(), metered.pue());
  j["command"] = nlohmann::json::array();
  for (const auto& a : o.command) j["command"].push_back(valid_utf8(a));  // any bytes may be given
  j["environment"] = environment;
  std::string cmd;
  for (const auto& a : o.command) cmd += (cmd.empty() ? "" : " ") + a;
  fmt::print(stderr, "\ngreentrain measure: {} (exit {})\n{}{}", cmd, r.exit_code,
             energy::format_summary_table(r.summary), format_phases(r));
  fmt::print(stderr, "{}", format_metrics(r));
  fmt::print(stderr, "{}", format_co2e(r, metered.intensity(), metered.pue()));
  if (!o.json_path.empty()) write_text_file(o.json_path, j.dump(2) + "\n", "--json");
  if (!o.trace_path.empty()) energy::write_trace_csv(r.summary, o.trace_path);
  publication.finish();  // the last push, at most --prometheus-timeout-s
  return r.exit_code;
}

}  // namespace

void add_measure(CLI::App& app, Action& run) {
  auto opts = std::make_shared<MeasureOptions>();
  auto* sub = app.add_subcommand(
      "measure",
      "run a command and meter its energy (GPU, CPU, RAM, wall), its marked phases and CO2e: "
      "measure [OPTIONS] -- CMD [ARGS...]");
  add_meter_options(*sub, opts->run.meters);
  add_carbon_options(*sub, opts->run.carbon);
  add_attribution_option(*sub, opts->run.attribution);
  add_prometheus_options(*sub, opts->prometheus);
  sub->add_option("--json", opts->json_path, "write the result as JSON to this file");
  sub->add_option("--trace", opts->trace_path,
                  "write every sample as CSV (t_s,component,device,power_w,energy_j,...)");
  sub->add_option("command", opts->command, "the command to run, after --")->required();
  sub->callback([opts, &run] { run = [opts] { return run_measure(*opts); }; });
}

}  // namespace gt::cli
