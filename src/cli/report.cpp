// `greentrain report`: placeholder registration until the verb is implemented.
#include "cli/verbs.h"
#include "common/error.h"

namespace gt::cli {

void add_report(CLI::App& app, Action& run) {
  auto* sub = app.add_subcommand("report", "(not implemented yet)");
  sub->allow_extras();
  sub->callback([&run] { run = [] () -> int { throw gt::Error("report: not implemented yet"); }; });
}

}  // namespace gt::cli
