// greentrain's entry point: builds the CLI11 application from the verbs in src/cli/, parses the
// command line, runs the chosen verb and turns errors into one line and an exit code
// (2 for usage errors, 1 for other errors, the verb's own code otherwise; a verb stopped by a
// signal exits 128 + the signal: 130 for SIGINT, 143 for SIGTERM).
#include <fmt/core.h>

#include <csignal>
#include <exception>
#include <string>
#include <string_view>

#include "cli/verbs.h"
#include "common/error.h"
#include "common/trace.h"
#include "greentrain_version.h"

namespace {

// A verb that runs a command (its positional `command`) given one without `--` before it:
// CLI11 read the command's own flags as greentrain's. Returns the advice, or "".
std::string command_hint(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--") return "";
  for (CLI::App* sub : app.get_subcommands())
    if (sub->get_option_no_throw("command"))
      return fmt::format("; put `--` before the command: greentrain {} [options] -- COMMAND ...",
                         sub->get_name());
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  gt::trace_point("main");
  // A reader of our output that goes away (`greentrain measure ... | head -1`) must not kill
  // greentrain before it has written its results: writes to it fail with EPIPE instead, and
  // the metered run passes the broken pipe on to the workload (whose SIGPIPE is the default).
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "greentrain: measure and cut the energy and carbon footprint of training "
      "classification models"};
  app.set_version_flag("--version", std::string("greentrain ") + GREENTRAIN_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  gt::cli::Action run;
  gt::cli::add_measure(app, run);
  gt::cli::add_devices(app, run);
  gt::cli::add_carbon(app, run);
  gt::cli::add_train(app, run);
  gt::cli::add_experiment(app, run);
  gt::cli::add_export(app, run);
  gt::cli::add_analyze(app, run);
  gt::cli::add_stats(app, run);
  gt::cli::add_report(app, run);
  gt::cli::add_meter(app, run);
  gt::cli::add_mark(app, run);
  gt::cli::add_data(app, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string hint = command_hint(app, argc, argv);
    if (!hint.empty()) {
      fmt::print(stderr, "greentrain: {}{}\n", e.what(), hint);
      return 2;
    }
    fmt::print(stderr, "greentrain: {} (see greentrain --help)\n", e.what());
    return 2;
  } catch (const gt::UsageError& e) {
    fmt::print(stderr, "greentrain: {}\n", e.what());
    return 2;
  }

  try {
    const int rc = run ? run() : 2;
    gt::trace_point("main returns");
    return rc;
  } catch (const gt::UsageError& e) {
    fmt::print(stderr, "greentrain: {}\n", e.what());
    return 2;
  } catch (const gt::Error& e) {
    fmt::print(stderr, "greentrain: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "greentrain: internal error: {}\n", e.what());
    return 1;
  }
}
