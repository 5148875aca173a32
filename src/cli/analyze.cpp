// `greentrain analyze`: placeholder registration until the verb is implemented.
#include "cli/verbs.h"
#include "common/error.h"

namespace gt::cli {

void add_analyze(CLI::App& app, Action& run) {
  auto* sub = app.add_subcommand("analyze", "(not implemented yet)");
  sub->allow_extras();
  sub->callback([&run] { run = [] () -> int { throw gt::Error("analyze: not implemented yet"); }; });
}

}  // namespace gt::cli
