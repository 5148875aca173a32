// `greentrain carbon`: placeholder registration until the verb is implemented.
#include "cli/verbs.h"
#include "common/error.h"

namespace gt::cli {

void add_carbon(CLI::App& app, Action& run) {
  auto* sub = app.add_subcommand("carbon", "(not implemented yet)");
  sub->allow_extras();
  sub->callback([&run] { run = [] () -> int { throw gt::Error("carbon: not implemented yet"); }; });
}

}  // namespace gt::cli
