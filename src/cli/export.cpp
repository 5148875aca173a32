// `greentrain export [--db greentrain.db] [--csv runs.csv] [--experiment NAME]
// [--format runs|codecarbon] [--phases]`: an experiment's runs as CSV. The default format is the
// runs table (one row per run: factors, measured figures, metrics, then what the run ran on and
// under), the file `greentrain analyze --input` reads and any spreadsheet opens;
// `--format codecarbon` is CodeCarbon's emissions.csv (and, with --phases, its per-task file
// with one row per phase occurrence), so a CodeCarbon notebook reads it unchanged
// (experiment/codecarbon_csv.h). Standard output unless --csv names a file.
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/verbs.h"
#include "common/error.h"
#include "common/output_file.h"
#include "experiment/codecarbon_csv.h"
#include "experiment/store.h"

namespace gt::cli {

void add_export(CLI::App& app, Action& run) {
  struct Args {
    std::string db = "greentrain.db", csv, experiment, format = "runs";
    bool phases = false;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("export", "Write an experiment's runs table as CSV");
  sub->add_option("--db", args->db, "Results database")->capture_default_str();
  sub->add_option("--csv", args->csv, "Write to this file instead of standard output (- = stdout)");
  sub->add_option("--experiment", args->experiment,
                  "Experiment name (needed when the database holds several)");
  sub->add_option("--format", args->format,
                  "runs: greentrain's runs table; codecarbon: CodeCarbon's emissions.csv columns "
                  "and units (kg CO2e, kWh, W)")
      ->check(CLI::IsMember({"runs", "codecarbon"}))
      ->capture_default_str();
  sub->add_flag("--phases", args->phases,
                "with --format codecarbon: one row per phase occurrence, in CodeCarbon's task "
                "columns (task_name first)");
  sub->callback([&run, args] {
    run = [args] {
      if (args->phases && args->format != "codecarbon")
        throw gt::UsageError("--phases: only with --format codecarbon");
      if (!std::filesystem::exists(args->db))
        throw gt::Error(fmt::format("{}: no such database", args->db));
      gt::experiment::Store store(args->db, gt::experiment::Store::Mode::read_only);
      auto write = [&](std::ostream& out) {
        if (args->format == "codecarbon")
          gt::experiment::write_codecarbon_csv(store, args->experiment, args->phases, out);
        else
          gt::experiment::write_runs_csv(store, args->experiment, out);
      };
      if (args->csv.empty() || args->csv == "-") {
        write(std::cout);
        return 0;
      }
      std::ostringstream text;
      write(text);
      const std::string s = text.str();
      gt::write_output_file(args->csv, s, {args->db});
      const auto rows = std::count(s.begin(), s.end(), '\n') - 1;
      std::cerr << fmt::format("wrote {} {} to {}\n", rows, args->phases ? "phases" : "runs",
                               args->csv);
      return 0;
    };
  });
}

}  // namespace gt::cli
