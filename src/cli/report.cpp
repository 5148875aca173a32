// `greentrain report`: writes the report of one experiment from the results database — a
// self-contained HTML page (--html) and/or a Markdown summary (--md) — comparing its carbon on
// other grids (--country, repeatable or comma-separated). The page itself is built in src/report/.
#include <fmt/core.h>

#include <filesystem>

#include "cli/verbs.h"
#include "common/error.h"
#include "common/output_file.h"
#include "report/charts.h"
#include "report/load.h"
#include "report/writers.h"

namespace gt::cli {
namespace {

struct ReportArgs {
  report::LoadOptions load;
  std::string html, md;
  std::vector<std::string> countries;
};

int run_report(const ReportArgs& a) {
  if (a.html.empty() && a.md.empty())
    throw gt::UsageError("report: give --html FILE and/or --md FILE");
  if (!std::filesystem::exists(a.load.db_path))
    throw gt::Error(fmt::format(
        "report --db {}: no such database (run `greentrain experiment run PLAN --db {}` first)",
        a.load.db_path, a.load.db_path));
  report::LoadOptions load = a.load;
  if (!a.countries.empty()) load.countries = a.countries;
  report::grids_for(load.countries);  // unknown codes are usage errors, before any work
  report::ReportData data = report::load_report(load);
  if (!a.html.empty()) {
    std::string page = report::render_html(data);
    gt::write_output_file(a.html, page, {a.load.db_path});
    fmt::print("greentrain report: wrote {} ({} charts, {} KiB)\n", a.html,
               report::all_charts(data).size(), page.size() / 1024);
  }
  if (!a.md.empty()) {
    gt::write_output_file(a.md, report::render_markdown(data), {a.load.db_path});
    fmt::print("greentrain report: wrote {}\n", a.md);
  }
  return 0;
}

}  // namespace

void add_report(CLI::App& app, Action& run) {
  auto args = std::make_shared<ReportArgs>();
  auto* sub = app.add_subcommand("report",
                                 "Write an experiment's report: a self-contained HTML page "
                                 "(offline, charts with their tables) "
                                 "and a Markdown summary");
  sub->add_option("--db", args->load.db_path, "Results database")->capture_default_str();
  sub->add_option("--experiment", args->load.experiment,
                  "Experiment name (default: the only one in the database)");
  sub->add_option("--html", args->html, "Write the HTML page here");
  sub->add_option("--md", args->md, "Write the Markdown summary here");
  sub->add_option(
         "--country", args->countries,
         "Grids to compare the carbon on: ISO 3166-1 alpha-3 codes or World (repeatable or "
         "comma-separated; default FRA,USA,DEU,IND,World)")
      ->delimiter(',');
  sub->callback([args, &run] { run = [args] { return run_report(*args); }; });
}

}  // namespace gt::cli
