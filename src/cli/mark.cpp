// `greentrain mark NAME begin|end` and `greentrain mark --metric NAME=VALUE`: write one line to
// the mark channel of the metered run this process is inside (GREENTRAIN_MARK_FD), so a shell
// script run by `greentrain measure` or an experiment can split itself into phases or report a
// metric. Outside a metered run it exits 2 with one line saying so.
#include <fmt/core.h>

#include <memory>

#include "cli/verbs.h"
#include "common/error.h"
#include "run/marks.h"

namespace gt::cli {
namespace {

struct MarkOptions {
  std::string name, what, metric;
};

int run_mark(const MarkOptions& o) {
  std::string line;
  if (!o.metric.empty()) {
    if (!o.name.empty())
      throw UsageError("mark: give either NAME begin|end or --metric NAME=VALUE, not both");
    line = "metric " + o.metric;
  } else {
    if (o.name.empty() || (o.what != "begin" && o.what != "end"))
      throw UsageError("mark: expected NAME begin|end or --metric NAME=VALUE");
    line = fmt::format("phase {} {}", o.name, o.what);
  }
  std::string error;
  if (!run::parse_mark_line(line, false, error)) throw UsageError("mark: " + error);
  std::string why;
  const auto writer = run::MarkWriter::from_environment(&why);
  if (!writer) throw UsageError("mark: " + why);
  if (!writer->line(line)) throw Error("mark: could not write to the mark channel");
  return 0;
}

}  // namespace

void add_mark(CLI::App& app, Action& run) {
  auto opts = std::make_shared<MarkOptions>();
  auto* sub = app.add_subcommand(
      "mark",
      "inside a metered run: mark a phase (mark NAME begin|end) or report a metric "
      "(mark --metric NAME=VALUE)");
  sub->add_option("name", opts->name, "phase name: a letter, then letters, digits or _");
  sub->add_option("what", opts->what, "begin or end");
  sub->add_option("--metric", opts->metric, "NAME=VALUE: a metric of this run");
  sub->callback([opts, &run] { run = [opts] { return run_mark(*opts); }; });
}

}  // namespace gt::cli
