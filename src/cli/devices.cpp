// `greentrain devices`: placeholder registration until the verb is implemented.
#include "cli/verbs.h"
#include "common/error.h"

namespace gt::cli {

void add_devices(CLI::App& app, Action& run) {
  auto* sub = app.add_subcommand("devices", "(not implemented yet)");
  sub->allow_extras();
  sub->callback([&run] { run = [] () -> int { throw gt::Error("devices: not implemented yet"); }; });
}

}  // namespace gt::cli
