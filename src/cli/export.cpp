// `greentrain export [--db greentrain.db] [--csv runs.csv] [--experiment NAME]`: the runs table
// of an experiment as CSV (one row per run, factors and metrics, empty = no value), the file
// `greentrain analyze --input` reads and any spreadsheet opens. Standard output unless --csv
// names a file.
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/verbs.h"
#include "common/error.h"
#include "common/output_file.h"
#include "experiment/store.h"

namespace gt::cli {

void add_export(CLI::App& app, Action& run) {
  struct Args {
    std::string db = "greentrain.db", csv, experiment;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("export", "Write an experiment's runs table as CSV");
  sub->add_option("--db", args->db, "Results database")->capture_default_str();
  sub->add_option("--csv", args->csv, "Write to this file instead of standard output (- = stdout)");
  sub->add_option("--experiment", args->experiment,
                  "Experiment name (needed when the database holds several)");
  sub->callback([&run, args] {
    run = [args] {
      if (!std::filesystem::exists(args->db))
        throw gt::Error(fmt::format("{}: no such database", args->db));
      gt::experiment::Store store(args->db, gt::experiment::Store::Mode::read_only);
      if (args->csv.empty() || args->csv == "-") {
        gt::experiment::write_runs_csv(store, args->experiment, std::cout);
        return 0;
      }
      auto text = gt::experiment::runs_csv(store, args->experiment);
      gt::write_output_file(args->csv, text, {args->db});
      const auto rows = std::count(text.begin(), text.end(), '\n') - 1;
      std::cerr << fmt::format("wrote {} runs to {}\n", rows, args->csv);
      return 0;
    };
  });
}

}  // namespace gt::cli
