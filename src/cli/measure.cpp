// `greentrain measure`: placeholder registration until the verb is implemented.
#include "cli/verbs.h"
#include "common/error.h"

namespace gt::cli {

void add_measure(CLI::App& app, Action& run) {
  auto* sub = app.add_subcommand("measure", "(not implemented yet)");
  sub->allow_extras();
  sub->callback([&run] { run = [] () -> int { throw gt::Error("measure: not implemented yet"); }; });
}

}  // namespace gt::cli
