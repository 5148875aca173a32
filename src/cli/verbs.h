// The command-line verbs. Each add_* function registers one subcommand (with its own --help)
// on the application; when that subcommand is chosen, its parse callback stores the action
// to run in `run`. apps/greentrain.cpp calls them all, parses, and runs the chosen action.
// Actions return the process exit code and throw gt::Error / gt::UsageError for user errors.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace gt::cli {

using Action = std::function<int()>;

void add_measure(CLI::App& app, Action& run);     // measure [options] -- CMD ARGS...
void add_devices(CLI::App& app, Action& run);     // devices
void add_carbon(CLI::App& app, Action& run);      // carbon --list / energy → CO2e
void add_train(CLI::App& app, Action& run);       // train --data ... --model ...
void add_experiment(CLI::App& app, Action& run);  // experiment init|plan|run|status|merge
void add_export(CLI::App& app, Action& run);      // export --db ... --csv ...
void add_analyze(CLI::App& app, Action& run);     // analyze (--db | --input)
void add_stats(CLI::App& app, Action& run);       // stats sample-size ...
void add_report(CLI::App& app, Action& run);      // report --html ... --md ...
void add_meter(CLI::App& app, Action& run);       // meter --serve (windows over a pipe)
void add_mark(CLI::App& app, Action& run);        // mark NAME begin|end, mark --metric N=V
void add_data(CLI::App& app, Action& run);        // data images|prepare

}  // namespace gt::cli
